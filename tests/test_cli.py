"""The real `effbench` command, with the scripted backend where no model is needed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import as_generated, assert_one_line_error, read_lines, run_cli, without_latency, write_script

GOOD = "Let me think.</think>The answer is \\boxed{18}."


@pytest.fixture
def script(tmp_path):
    # sample 0's gold is 18; everything else gets a wrong answer, and sample 1 never stops thinking
    return write_script(tmp_path / "script.json", {"gsm8k/0": GOOD, "gsm8k/1": "<think> still going", "*": "I guess \\boxed{7}"})


def eval_words(tmp_path, script, *extra, limit=6):
    """The eval command's words; an `extra` word replaces the base word of the same key."""
    words = {
        "model": "scripted-model",
        "tasks": "gsm8k",
        "backend": "scripted",
        "script": str(script),
        "out": str(tmp_path / "runs"),
        "limit": str(limit),
    }
    words.update(word.split("=", 1) for word in extra)
    return ("eval", *(f"{k}={v}" for k, v in words.items()))


def test_eval_writes_the_run_folder(tmp_path, script):
    result = run_cli(*eval_words(tmp_path, script))
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "runs" / "scripted-model"
    assert {p.name for p in folder.iterdir()} == {"run.json", "results.json", "gsm8k.samples.jsonl"}
    lines = read_lines(folder / "gsm8k.samples.jsonl")
    assert sorted(line["id"] for line in lines) == [str(i) for i in range(6)]
    by_id = {line["id"]: line for line in lines}
    assert by_id["0"]["completions"][0]["grade"] == {
        "verdict": "correct",
        "answer": "18",
        "rule": "boxed",
        "detail": None,
        "first_correct": round((len(GOOD) - 1) / len(GOOD), 6),
        "first_correct_at": len(GOOD) - 1,
        "first_correct_tokens": len(GOOD.split()),  # the scripted backend counts words
        "answer_first_at": len(GOOD) - 1,  # stated once, at the end: where it first appears is where it settled
        "answer_settled_at": len(GOOD) - 1,
        "answer_first_tokens": len(GOOD.split()),
        "answer_settled_tokens": len(GOOD.split()),
        "searched": True,
        "unsettled": False,
    }
    assert by_id["1"]["completions"][0]["grade"]["verdict"] == "unfinished"
    results = json.loads((folder / "results.json").read_text())
    metrics = results["tasks"]["gsm8k"]["metrics"]
    assert results["schema_version"] == 1
    assert metrics["accuracy"] == pytest.approx(1 / 6)
    assert metrics["verdicts"] == {"correct": 1, "unfinished": 1, "wrong": 4}
    assert metrics["reasoning_tokens"]["max"] == 3  # "Let me think.</think>" is three words
    run = json.loads((folder / "run.json").read_text())
    assert run["status"] == "complete"
    assert run["tasks"]["gsm8k"]["dataset"]["sha256"] == "3730d312f6e3440559ace48831e51066acaca737f6eabec99bccb9e4b3c39d14"
    assert run["environment"]["packages"]["effbench"]
    assert "16.7" in result.stdout  # the accuracy table


def test_rerun_resumes_and_generates_nothing_twice(tmp_path, script):
    assert run_cli(*eval_words(tmp_path, script)).returncode == 0
    assert run_cli(*eval_words(tmp_path, script, limit=8)).returncode == 0
    folder = tmp_path / "runs" / "scripted-model"
    run = json.loads((folder / "run.json").read_text())
    assert [inv["tasks"]["gsm8k"]["generated_samples"] for inv in run["invocations"]] == [6, 2]
    assert len(read_lines(folder / "gsm8k.samples.jsonl")) == 8
    assert json.loads((folder / "results.json").read_text())["tasks"]["gsm8k"]["metrics"]["samples"] == 8


def test_killed_run_loses_only_samples_in_flight(tmp_path, script):
    words = eval_words(tmp_path, script, "delay=0.2", limit=30)
    samples = tmp_path / "runs" / "scripted-model" / "gsm8k.samples.jsonl"
    child = subprocess.Popen(
        [sys.executable, "-m", "effbench", *words], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.time() + 60
    while time.time() < deadline and (not samples.exists() or samples.read_text().count("\n") < 5):
        time.sleep(0.05)
    os.killpg(child.pid, signal.SIGKILL)
    child.wait()
    stored_before = samples.read_text().count("\n")
    assert 5 <= stored_before < 30
    result = run_cli(*words)
    assert result.returncode == 0, result.stderr
    ids = [line["id"] for line in read_lines(samples)]
    assert sorted(ids, key=int) == [str(i) for i in range(30)]
    run = json.loads((samples.parent / "run.json").read_text())
    assert run["invocations"][-1]["tasks"]["gsm8k"]["generated_samples"] == 30 - stored_before


def test_same_command_twice_gives_identical_results(tmp_path, script):
    for name in ("a", "b"):
        assert run_cli(*eval_words(tmp_path, script, f"name={name}")).returncode == 0
    runs = tmp_path / "runs"
    first, second = ([as_generated(line) for line in read_lines(runs / n / "gsm8k.samples.jsonl")] for n in ("a", "b"))
    assert first == second and all(c["timing"]["wall_s"] >= 0 for line in read_lines(runs / "a" / "gsm8k.samples.jsonl")
                                   for c in line["completions"])  # fmt: skip
    a, b = (without_latency(json.loads((runs / n / "results.json").read_text())) for n in ("a", "b"))
    assert a.pop("run") == "a" and b.pop("run") == "b"
    assert a == b


def test_resume_with_other_settings_is_refused(tmp_path, script):
    assert run_cli(*eval_words(tmp_path, script)).returncode == 0
    result = run_cli(*eval_words(tmp_path, script, "max_tokens=5"))
    assert result.returncode == 2
    assert "holds gsm8k made with another sampling; choose another name= or delete that folder" in result.stderr


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (("tasks=nosuchtask",), "unknown task 'nosuchtask'"),
        (("temprature=0.5",), "unknown key 'temprature' for eval; did you mean temperature?"),
        (("base_url=http://x",), "key 'base_url' belongs to backend=openai, not backend=scripted"),
        (("name=../../x",), "is not a plain folder name"),
        (("data_dir=/nonexistent",), "data file /nonexistent/gsm8k/test.jsonl not found"),
        (("backend=nosuch",), "unknown backend 'nosuch'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, script, words, message):
    assert_one_line_error(run_cli(*eval_words(tmp_path, script, *words)), message)


def test_corrupt_samples_line_is_reported(tmp_path, script):
    assert run_cli(*eval_words(tmp_path, script)).returncode == 0
    samples = tmp_path / "runs" / "scripted-model" / "gsm8k.samples.jsonl"
    lines = samples.read_text().splitlines()
    samples.write_text("\n".join([lines[0], lines[1][:40] + "garbage", *lines[2:]]) + "\n")
    result = run_cli(*eval_words(tmp_path, script))
    assert result.returncode == 2
    assert "gsm8k.samples.jsonl line 2 is corrupt" in result.stderr and "Traceback" not in result.stderr


def test_missing_model_folder_and_silent_server(tmp_path):
    common = ("eval", "tasks=gsm8k", "limit=2", f"out={tmp_path / 'runs'}")
    result = run_cli(*common, f"model={tmp_path / 'no-model'}")
    assert result.returncode == 2 and f"model folder {tmp_path / 'no-model'} does not exist" in result.stderr
    result = run_cli(*common, "model=m", "backend=openai", "base_url=http://127.0.0.1:9/v1")
    assert result.returncode == 2
    assert "the server at http://127.0.0.1:9/v1/models does not answer" in result.stderr
    assert "Traceback" not in result.stderr


def test_help_lists_every_key_with_its_default():
    result = run_cli("eval", "--help")
    assert result.returncode == 0
    for key in (
        "model",
        "tasks",
        "n ",
        "max_tokens",
        "seed",
        "limit",
        "out",
        "name",
        "tensor_parallel_size",
        "kv_cache_gb",
        "base_url",
        "concurrency",
        "replay_from",
        "script",
    ):
        assert f"  {key}" in result.stdout, key
    assert "[default 1]" in result.stdout


def test_tasks_lists_counts_and_availability():
    result = run_cli("tasks")
    assert result.returncode == 0
    assert "gsm8k" in result.stdout and "1319" in result.stdout and "yes" in result.stdout


def test_replay_grades_a_stored_run_again_without_a_model(tmp_path, script):
    assert run_cli(*eval_words(tmp_path, script)).returncode == 0
    original = tmp_path / "runs" / "scripted-model"
    replay = (
        "eval",
        "model=scripted-model",
        "tasks=gsm8k",
        f"out={tmp_path / 'runs'}",
        "backend=replay",
        f"replay_from={original}",
    )
    result = run_cli(*replay, "limit=6", "name=replayed")
    assert result.returncode == 0, result.stderr

    def grades(folder):
        return {line["id"]: [c["grade"] for c in line["completions"]] for line in read_lines(folder / "gsm8k.samples.jsonl")}

    assert grades(tmp_path / "runs" / "replayed") == grades(original)
    missing = run_cli(*replay, "limit=8", "name=more")
    assert missing.returncode == 2 and "has no stored completions for gsm8k sample '6'" in missing.stderr


def test_grade_command_grades_any_outputs(tmp_path):
    lines = [
        {"gold": "18", "completion": "so \\boxed{18}", "task": "gsm8k"},
        {"gold": "\\frac{1}{2006!}", "completion": "<think>hmm</think> The answer is $\\frac{1}{2004!}$."},
        {"gold": "025", "completion": "\\boxed{25}", "task": "aime"},
        {"gold": "3", "completion": "<think>never ends"},
        {"gold": "3", "completion": "no idea"},
    ]
    source = tmp_path / "outputs.jsonl"
    source.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = run_cli("grade", str(source), f"out={tmp_path / 'graded.jsonl'}")
    assert result.returncode == 0, result.stderr
    graded = read_lines(tmp_path / "graded.jsonl")
    assert [(g["pred"], g["correct"], g["status"]) for g in graded] == [
        ("18", True, "graded"),
        ("\\frac{1}{2004!}", False, "graded"),
        ("25", True, "graded"),
        (None, False, "unfinished"),
        (None, False, "no_answer"),
    ]
    assert graded[0]["task"] == "gsm8k"  # input fields are kept
    assert "graded 5 lines: 2 correct (40.0%)" in result.stderr
    source.write_text(json.dumps(lines[0]) + "\n" + '{"gold": "1"}\n')
    bad = run_cli("grade", str(source))
    assert bad.returncode == 2 and "line 2 needs string fields gold and completion" in bad.stderr


def test_the_parameter_count_for_acu_is_given_or_counted_from_the_weights(tmp_path, script):
    """parameters= wins; else the tensors of a local folder's or the Hugging Face cache's safetensors are counted
    (their headers only); else ACU is absent."""
    import shutil

    from effbench.demo import TINY_REASONER

    hub = tmp_path / "hub"
    snapshot = hub / "models--someone--tiny" / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    (hub / "models--someone--tiny" / "refs").mkdir()
    (hub / "models--someone--tiny" / "refs" / "main").write_text("0" * 40)
    shutil.copy(TINY_REASONER / "model.safetensors", snapshot / "model.safetensors")
    cases = {
        "folder": (f"model={TINY_REASONER}",),
        "cached": ("model=someone/tiny",),
        "given": ("model=someone/tiny", "parameters=7"),
        "unknown": ("model=nobody/nothing",),
    }
    found = {}
    for name, words in cases.items():
        result = run_cli(*eval_words(tmp_path, script, *words, f"name={name}", limit=2), env={"HF_HUB_CACHE": str(hub)})
        assert result.returncode == 0, result.stderr
        data = json.loads((tmp_path / "runs" / name / "results.json").read_text())
        found[name] = (data["parameters"], data["tasks"]["gsm8k"]["metrics"]["thinking"]["acu"])
    assert found["folder"][0] == found["cached"][0] == pytest.approx(894_080 / 1e9) and found["given"][0] == 7
    assert found["unknown"] == (None, None) and found["given"][1] > 0
