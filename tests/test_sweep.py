"""Token-budget sweeps with the scripted backend: derived budgets equal separate runs, budget forcing, the CLI."""

from __future__ import annotations

import json
import re

import pytest

from effbench.backends.scripted import Options as ScriptedOptions
from effbench.config import EvalConfig
from effbench.errors import ConfigError, StoreError
from effbench.run.sweep import parse_budgets, sweep
from effbench.store.runs import budget_auc, load_runs, open_sweep
from effbench.tasks.data import load_dataset
from effbench.tasks.spec import load_task
from tests.conftest import as_generated, assert_one_line_error, read_lines, run_cli, without_latency, write_script

LIMIT = 12
BUDGETS = (5, 12, 30, 200)
CUE = "Final answer: \\boxed{"


@pytest.fixture(scope="module")
def script(tmp_path_factory, data_dir):
    """Completions of many lengths: thinking that closes, thinking that never does, no thinking; right and wrong;
    the forced answers are each sample's gold."""
    samples = load_dataset(load_task("gsm8k"), root=data_dir, limit=LIMIT).samples
    entries, after_cue = {}, {}
    for index, sample in enumerate(samples):
        steps = " ".join(f"s{index}.{k}" for k in range(3 * index + 1))
        answer = sample.gold if index % 3 else "-7"
        kind = index % 4
        if kind == 0:
            entries[f"gsm8k/{sample.id}"] = f"{steps} so the answer is \\boxed{{{answer}}}."  # no thinking
        elif kind == 3:
            entries[f"gsm8k/{sample.id}"] = f"<think> {steps} and more and more"  # thinks to the end
        else:
            entries[f"gsm8k/{sample.id}"] = f"<think> {steps} </think> The answer is \\boxed{{{answer}}}."
        after_cue[f"gsm8k/{sample.id}"] = f"{sample.gold}}} done"
    entries["after_cue"] = after_cue
    return write_script(tmp_path_factory.mktemp("script") / "script.json", entries), entries


def config(tmp_path, name: str, **keys) -> EvalConfig:
    return EvalConfig(model="scripted-model", tasks="gsm8k", backend="scripted", limit=LIMIT, out=tmp_path, name=name, **keys)


def stored(folder) -> dict:
    """The completions by sample, without what only measured their serving (a cut completion was never timed)."""
    return {line["id"]: as_generated(line)["completions"] for line in read_lines(folder / "gsm8k.samples.jsonl")}


@pytest.mark.parametrize("mode", ["truncate", "force"])
def test_derived_budgets_equal_separate_runs_token_for_token(tmp_path, script, mode):
    options = ScriptedOptions(script=script[0])
    derived = sweep(config(tmp_path, "derived"), options, BUDGETS, mode=mode, derive=True)
    separate = sweep(config(tmp_path, "separate"), options, BUDGETS, mode=mode, derive=False)
    assert sorted(derived.runs) == sorted(separate.runs) == list(BUDGETS)
    for budget in BUDGETS:
        mine, theirs = stored(derived.runs[budget].folder), stored(separate.runs[budget].folder)
        assert mine == theirs, budget  # text, token ids, counts, finish reasons, forced endings and grades
        made = (without_latency(json.loads((o.runs[budget].folder / "results.json").read_text())) for o in (derived, separate))
        assert next(made)["tasks"] == next(made)["tasks"]
        lengths = [c["tokens"] for completions in mine.values() for c in completions]
        if mode == "truncate":
            assert max(lengths) <= budget
    if mode == "truncate":  # derived budgets were cut from the largest one's stored completions, not generated
        info = json.loads((derived.runs[5].folder / "run.json").read_text())
        assert info["backend"]["engine"] == "replay" and info["backend"]["replay_from"].endswith("derived-b200")
        timing = info["invocations"][-1]["tasks"]["gsm8k"]
        assert "generated_tokens" not in timing and timing["replayed_tokens"] > 0  # cut from storage, not generated
        assert stored(derived.runs[5].folder) != stored(derived.runs[30].folder)


def test_force_appends_the_cue_once_and_counts_every_generated_token(tmp_path, script):
    path, entries = script
    outcome = sweep(config(tmp_path, "forced"), ScriptedOptions(script=path), (5, 30), mode="force")
    forced_seen = closed_seen = 0
    for budget in (5, 30):
        for sample_id, (completion,) in stored(outcome.runs[budget].folder).items():
            written = entries[f"gsm8k/{sample_id}"].split()
            if len(written) <= budget:
                assert completion["forced"] is None and CUE not in completion["text"]
                assert completion["tokens"] == len(written)
                continue
            forced_seen += 1
            prefix = " ".join(written[:budget])
            thinking = written[0] == "<think>" and "</think>" not in written[:budget]
            ending = ("\n</think>\n\n" if thinking else "\n\n") + CUE
            answer = entries["after_cue"][f"gsm8k/{sample_id}"]
            assert completion["text"] == prefix + ending + answer
            assert completion["text"].count(CUE) == 1
            assert completion["tokens"] == budget + len(answer.split())  # the budget's tokens and the answer's
            assert completion["forced"] == {
                "at_token": budget,
                "at_char": len(prefix),
                "text": ending,
                "tokens": len(ending.split()),
                "answer_tokens": len(answer.split()),
            }
            assert len(completion["token_ids"]) == completion["tokens"] + completion["forced"]["tokens"]
            if thinking:
                closed_seen += 1
                assert completion["reasoning_tokens"] == budget
            assert completion["grade"]["verdict"] == "correct"  # the forced answer is what gets graded
    assert forced_seen >= 10 and closed_seen >= 4
    metrics = outcome.runs[5].results.tasks["gsm8k"].metrics
    assert metrics.forced_rate == 1.0
    assert metrics.accuracy == 1.0  # every sample was forced at 5 tokens, and each forced answer is right


def test_sweep_resumes_without_generating_and_refuses_another_mode(tmp_path, script):
    options = ScriptedOptions(script=script[0])
    first = sweep(config(tmp_path, "s"), options, (5, 30))
    again = sweep(config(tmp_path, "s"), options, (5, 12, 30))  # a budget added below the largest one
    assert [stored(first.runs[b].folder) == stored(again.runs[b].folder) for b in (5, 30)] == [True, True]
    invocations = json.loads((again.runs[30].folder / "run.json").read_text())["invocations"]
    assert invocations[-1]["tasks"] == {}  # nothing generated the second time
    assert open_sweep(tmp_path / "s").info.budgets == [5, 12, 30]
    with pytest.raises(StoreError, match="made with mode=truncate"):
        sweep(config(tmp_path, "s"), options, (5, 30), mode="force")
    with pytest.raises(StoreError, match="one generation at 30 tokens"):
        sweep(config(tmp_path, "s"), options, (5, 60))
    with pytest.raises(ConfigError, match="drop max_tokens"):
        sweep(config(tmp_path, "t", max_tokens=9), options, (5, 30))
    frame = load_runs(tmp_path)
    assert set(frame["run"]) == {"s-b5", "s-b12", "s-b30"}
    assert set(frame["sweep"]) == {"s"}
    assert sorted(frame["max_tokens"]) == [5, 12, 30]


@pytest.mark.parametrize(
    "budgets, accuracies, expected",
    [
        ([0, 10], [0.0, 1.0], 0.5),
        ([256, 512, 1024], [0.4, 0.4, 0.4], 0.4),
        ([100, 200, 400], [0.0, 0.6, 0.9], ((100 * 0.3) + (200 * 0.75)) / 300),
        ([512], [0.7], None),
    ],
)
def test_budget_auc(budgets, accuracies, expected):
    result = budget_auc(budgets, accuracies)
    assert result == pytest.approx(expected) if expected is not None else result is None


@pytest.mark.parametrize(
    "text, ok",
    [
        ("1024,256,512", (256, 512, 1024)),
        ("8, 16", (8, 16)),
        ("8", None),
        ("8,8", None),
        ("0,8", None),
        ("8,a", None),
        ("", None),
    ],
)
def test_parse_budgets(text, ok):
    if ok is None:
        with pytest.raises(ConfigError, match="budgets="):
            parse_budgets(text)
    else:
        assert parse_budgets(text) == ok


def test_sweep_command_prints_each_budget_and_the_auc(tmp_path, script):
    result = run_cli(
        "sweep",
        "model=m",
        "tasks=gsm8k",
        "backend=scripted",
        f"script={script[0]}",
        f"out={tmp_path}",
        f"limit={LIMIT}",
        "budgets=30,5,12",
        "mode=force",
        "name=cli",
    )
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if "gsm8k" in line]
    assert [line.split("│")[2].strip() for line in lines] == ["5", "12", "30", "AUC", "s1"]
    assert "over 5–30 tokens" in result.stdout
    assert re.search(r"performance; control \d+%, scaling [-+]\d", result.stdout)
    assert {p.name for p in (tmp_path / "cli").iterdir()} == {"sweep.json", "cli-generated", "cli-b5", "cli-b12", "cli-b30"}


@pytest.mark.parametrize(
    "words, message",
    [
        (("budgets=8",), "at least two different positive token counts"),
        (("budgets=8,x",), "comma-separated token counts"),
        ((), "a sweep goes over budgets=256,512,1024 or over=KEY values=A,B,C: give one"),
        (("budgets=8,16", "mode=sideways"), "mode=sideways is not one of truncate, force"),
        (("budgets=8,16", "max_tokens=4"), "drop max_tokens= and force="),
        (("budgets=8,16", "derive=maybe"), "derive=maybe must be true or false"),
        (("budgets=8,16", "budget=3"), "unknown key 'budget'"),
    ],
)
def test_sweep_bad_input_is_one_line(tmp_path, script, words, message):
    result = run_cli(
        "sweep", "model=m", "tasks=gsm8k", "backend=scripted", f"script={script[0]}", f"out={tmp_path}", "limit=2", *words
    )
    assert_one_line_error(result, message)
    assert not any(tmp_path.iterdir())  # nothing stored


def test_force_needs_a_backend_that_continues_token_ids(tmp_path):
    result = run_cli(
        "sweep",
        "model=m",
        "tasks=gsm8k",
        "backend=openai",
        "base_url=http://127.0.0.1:9/v1",
        f"out={tmp_path}",
        "limit=2",
        "budgets=8,16",
        "mode=force",
    )
    assert_one_line_error(result, "which backend=openai cannot: use backend=vllm")
