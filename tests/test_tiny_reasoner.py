"""effbench's tiny reasoning model through the real vLLM CPU engine: a real trade-off between chain length and accuracy.

The model is shipped in effbench/tiny_reasoner (trained by scripts/train_tiny_reasoner.py); its three chain
styles, selected by the system message, are measured exactly as a real model would be.
"""

from __future__ import annotations

import hashlib
import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from effbench.demo import ARITH_TASK, TINY_REASONER
from effbench.tasks.arith import STYLES, problems, write_test_set
from effbench.tasks.data import load_dataset
from effbench.tasks.spec import parse_task
from tests.conftest import as_generated, read_lines, run_cli

ENGINE = ("enforce_eager=true", "dtype=float32")


def test_the_shipped_model_is_the_recorded_one_and_small():
    sums = dict(reversed(line.split("  ", 1)) for line in (TINY_REASONER / "SHA256SUMS").read_text().splitlines())
    assert {"model.safetensors", "tokenizer.json", "config.json"} <= set(sums)
    for name, digest in sums.items():
        assert hashlib.sha256((TINY_REASONER / name).read_bytes()).hexdigest() == digest, name
    assert sum(p.stat().st_size for p in TINY_REASONER.iterdir()) <= 5 * 1024 * 1024


def test_the_arith_family_is_deterministic_and_its_test_set_pinned(tmp_path):
    assert [p.question for p in problems(50, 3)] == [p.question for p in problems(50, 3)]
    first = problems(400, 0)
    assert {len(p.steps) for p in first} == {1, 2, 3, 4} and {p.digits for p in first} == {1, 2}
    assert all(0 <= v <= 99 for p in first for v in p.values())
    chain = first[3].chain("explicit")
    assert chain.startswith("<think>\n") and chain.endswith(f"</think>\n\n\\boxed{{{first[3].answer}}}")
    assert len(first[3].chain("composed")) < len(chain) and first[3].chain("implicit").count("\n") == 3
    write_test_set(tmp_path)
    dataset = load_dataset(parse_task(ARITH_TASK), root=tmp_path)  # checked against the pinned sha256 and count
    assert len(dataset.samples) == 400 and dataset.samples[0].metadata == {"level": "1", "digits": "1"}


def results(folder: Path) -> dict:
    return json.loads((folder / "results.json").read_text())["tasks"]["arith"]["metrics"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory, installed_wheel) -> Path:
    """`effbench demo` itself, from the installed wheel in an empty folder: the three styles, one engine, the comparison
    and the report; nothing printed before its table but its own line, the engine's start-up output in engine.log."""
    cwd = tmp_path_factory.mktemp("demo")
    result = run_cli("demo", *ENGINE, cwd=cwd, env={"EFFBENCH_CACHE": str(cwd), "PYTHONPATH": str(installed_wheel)}, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "implicit" in result.stdout and "level 4" in result.stdout and "Δacc pts" in result.stdout
    assert "ρ(difficulty, tok)" in result.stdout
    assert result.stderr.splitlines() == [
        "effbench demo: a tiny model trained here answers 400 arithmetic chains in three styles, through the real vLLM engine."
    ]
    assert result.stdout.splitlines()[0].strip() == "against arith-explicit"  # the table first: no third-party line
    assert "Loading safetensors checkpoint shards" in (cwd / "runs" / "arith-explicit" / "engine.log").read_text()
    return cwd


@pytest.mark.vllm
def test_shorter_chains_cost_accuracy_on_harder_problems(demo):
    explicit, composed, implicit = (results(demo / "runs" / f"arith-{s}") for s in STYLES)
    assert explicit["accuracy"] >= 0.9
    assert explicit["accuracy"] > composed["accuracy"] > implicit["accuracy"]
    hardest = {name: m["breakdown"]["level"]["4"] for name, m in zip(STYLES, (explicit, composed, implicit), strict=True)}
    assert hardest["implicit"]["accuracy"] <= 0.6 < hardest["explicit"]["accuracy"]
    assert explicit["tokens"]["mean"] >= 3 * implicit["tokens"]["mean"]
    assert explicit["tokens"]["mean"] > composed["tokens"]["mean"] > implicit["tokens"]["mean"]
    assert (demo / "reports" / "arith" / "index.html").exists()


@pytest.mark.vllm
def test_thinking_figures_through_the_real_engine(demo):
    """Answers located in the engine's own token ids; longer chains on harder problems; ACU from the counted weights."""
    from transformers import AutoTokenizer

    folder = demo / "runs" / "arith-explicit"
    whole = json.loads((folder / "results.json").read_text())
    explicit, thinking = results(folder), results(folder)["thinking"]
    assert whole["parameters"] == pytest.approx(894_080 / 1e9)  # the tensors of model.safetensors, from its header
    assert thinking["positions"] == "tokens" and 0 < thinking["first_correct_tokens"]["mean"] <= explicit["tokens"]["max"]
    assert 0 < explicit["outcome_efficiency"] <= 1
    levels = thinking["tokens_by_difficulty"]
    assert list(levels) == ["1", "2", "3", "4"] and sorted(levels.values()) == list(levels.values())
    assert thinking["difficulty_spearman"] > 0.8  # one line per operation: more thinking on harder problems
    expected_acu = 100 * explicit["accuracy"] / (whole["parameters"] * explicit["tokens"]["mean"]) * 100
    assert thinking["acu"] == pytest.approx(expected_acu)
    tokenizer = AutoTokenizer.from_pretrained(str(TINY_REASONER))
    line = json.loads((folder / "arith.samples.jsonl").read_text().splitlines()[0])
    completion, grade = line["completions"][0], line["completions"][0]["grade"]
    prefix = tokenizer.decode(completion["token_ids"][: grade["first_correct_tokens"]], skip_special_tokens=True)
    shorter = tokenizer.decode(completion["token_ids"][: grade["first_correct_tokens"] - 1], skip_special_tokens=True)
    assert len(shorter) < grade["first_correct_at"] <= len(prefix) and prefix.rstrip().endswith("}")


@pytest.mark.vllm
def test_a_gate_of_implicit_against_explicit_fails_on_accuracy(demo):
    runs = demo / "runs"
    result = run_cli("gate", str(runs / "arith-explicit"), str(runs / "arith-implicit"), "max_accuracy_drop=5")
    assert result.returncode == 1
    assert (
        "FAIL arith max_accuracy_drop: accuracy drop (points)" in result.stderr and "judged on the 95% interval" in result.stderr
    )
    assert run_cli("gate", str(runs / "arith-explicit"), str(runs / "arith-explicit"), "max_accuracy_drop=0").returncode == 0


def readme_command(marker: str, demo: Path) -> list[str]:
    """The words of the README's `effbench` command that holds `marker`, as run from a clone after the demo."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    command = next(c for c in readme.replace("\\\n", " ").splitlines() if marker in c and "effbench eval" in c)
    words = shlex.split(command.split("effbench", 1)[1])
    places = {"effbench/tiny_reasoner": str(TINY_REASONER), "effbench/arith_task.yaml": str(ARITH_TASK),
              "$HOME/.cache/effbench": str(demo)}  # fmt: skip
    for old, new in places.items():
        words = [word.replace(old, new) for word in words]
    return words


@pytest.mark.vllm
def test_rescore_reproduces_the_verdicts_and_a_rerun_on_two_replicas_the_results(demo):
    rescored = run_cli("rescore", str(demo / "runs" / "arith-composed"))
    assert rescored.returncode == 0, rescored.stderr
    assert "rescored 400 completions" in rescored.stdout and "0 verdicts changed" in rescored.stdout
    again = run_cli(*readme_command("name=arith-composed-dp2", demo), cwd=demo, timeout=600)  # two Ray replicas, greedy
    assert again.returncode == 0, again.stderr[-2000:]
    assert "replica 0" in again.stdout and "replica 1" in again.stdout
    first, second = ({line["id"]: as_generated(line) for line in read_lines(demo / "runs" / name / "arith.samples.jsonl")}
                     for name in ("arith-composed", "arith-composed-dp2"))  # fmt: skip
    assert first == second  # the same seed: the same tokens, verdicts and counts (stored in the order samples finish)
    same = [{k: v for k, v in results(demo / "runs" / name).items() if k != "latency"}
            for name in ("arith-composed", "arith-composed-dp2")]  # fmt: skip
    assert same[0] == same[1]


@pytest.mark.vllm
def test_the_explicit_sweep_rises_with_the_budget_and_forcing_answers_more(demo):
    common = (f"model={TINY_REASONER}", f"tasks={ARITH_TASK}", f"data_dir={demo / 'data'}", "system=explicit", "limit=200",
              *ENGINE)  # fmt: skip
    truncated = run_cli("sweep", *common, "budgets=16,24,32,48,64", "name=trunc", cwd=demo, timeout=600)
    assert truncated.returncode == 0, truncated.stderr[-2000:]
    curve = [results(demo / "runs" / "trunc" / f"trunc-b{b}")["accuracy"] for b in (16, 24, 32, 48, 64)]
    assert curve == sorted(curve) and curve[0] < 0.5 < curve[-1]
    forced = run_cli("sweep", *common, "budgets=16,24", "mode=force", "force_cue=\\boxed{", "name=forced", cwd=demo,
                     timeout=600)  # fmt: skip
    assert forced.returncode == 0, forced.stderr[-2000:]
    for budget in (16, 24):
        cut, answered = (
            results(demo / "runs" / "trunc" / f"trunc-b{budget}"),
            results(demo / "runs" / "forced" / f"forced-b{budget}"),
        )
        assert answered["verdicts"].get("no_answer", 0) + answered["verdicts"].get("unfinished", 0) < (
            cut["verdicts"].get("no_answer", 0) + cut["verdicts"].get("unfinished", 0)
        )
        assert answered["accuracy"] >= cut["accuracy"]


@pytest.mark.vllm
def test_the_readme_s_python_example_runs_on_the_demo_s_runs(demo, tmp_path):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    example = readme.split("## effbench from Python", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    script = tmp_path / "example.py"
    script.write_text(example, encoding="utf-8")
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=demo, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[0] == "True correct 18"
    assert "arith-implicit" in result.stdout and "average" in result.stdout and "arith-explicit" in result.stdout


@pytest.mark.vllm
def test_a_sweep_over_methods_runs_them_on_one_engine_and_nothinking_skips_the_chain(demo):
    result = run_cli("sweep", f"model={TINY_REASONER}", f"tasks={ARITH_TASK}", f"data_dir={demo / 'data'}", "system=explicit",
                     "limit=100", "over=method", "values=nothinking,chain_of_draft,concise", "name=methods", *ENGINE,
                     cwd=demo, timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "a sweep over method" in result.stdout
    runs = json.loads((demo / "runs" / "methods" / "sweep.json").read_text())["runs"]
    assert list(runs) == ["nothinking", "chain_of_draft", "concise"]
    skipped = demo / "runs" / "methods" / runs["nothinking"]
    prefill = json.loads((skipped / "run.json").read_text())["tasks"]["arith"]["method"]["prefill"]
    assert prefill == "<think>\nOkay, I think I have finished thinking.\n</think>\n\n"
    completions = [c for line in read_lines(skipped / "arith.samples.jsonl") for c in line["completions"]]
    rethought = [c for c in completions if "</think>" in c["text"]]  # a model may think again after the prefill: counted
    assert all(c["reasoning_tokens"] == 0 for c in completions if c not in rethought) and len(rethought) < 10
    assert all(c["reasoning_tokens"] > 0 for c in rethought)
    explicit = results(demo / "runs" / "arith-explicit")
    assert results(skipped)["tokens"]["mean"] < explicit["tokens"]["mean"] / 3  # the chain skipped: the answer alone
    board = demo / "methods.yaml"
    board.write_text(
        f"title: methods\ntasks: [arith]\nentries:\n  - {{name: methods, model: tiny, sweep: {demo / 'runs' / 'methods'}}}\n"
    )
    assert run_cli("report", str(board), f"out={demo / 'methods-site'}", cwd=demo).returncode == 0
    index = (demo / "methods-site" / "index.html").read_text()
    assert "method <a" in index and all(f">{value}</a>" in index for value in runs)  # one series, a point per method
