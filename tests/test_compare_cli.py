"""`effbench compare` and `load_runs` on real run folders, made by the scripted backend."""

from __future__ import annotations

import csv
import io
import json

import pytest

from effbench.store.runs import load_runs
from effbench.tasks.data import load_dataset
from effbench.tasks.spec import load_task
from tests.conftest import assert_one_line_error, run_cli, write_script

LIMIT = 40


@pytest.fixture(scope="module")
def runs(tmp_path_factory, data_dir):
    """A baseline (max_tokens 400) and the same model cut at max_tokens 60: long chains end unfinished."""
    tmp = tmp_path_factory.mktemp("compare")
    samples = load_dataset(load_task("gsm8k"), root=data_dir, limit=LIMIT).samples
    script = {}
    for index, sample in enumerate(samples):
        answer = sample.gold if index % 4 else "-1"  # a quarter wrong
        script[f"gsm8k/{sample.id}"] = "<think>" + " step" * (5 + 3 * index) + f" </think> The answer is \\boxed{{{answer}}}."
    path = write_script(tmp / "script.json", script)
    common = ("model=m", "tasks=gsm8k", "backend=scripted", f"script={path}", f"out={tmp}", f"limit={LIMIT}")
    for name, max_tokens, limit in (("base", 400, LIMIT), ("short", 60, LIMIT), ("fewer", 400, 20)):
        words = [w for w in common if not w.startswith("limit=")] + [f"limit={limit}", f"name={name}", f"max_tokens={max_tokens}"]
        result = run_cli("eval", *words)
        assert result.returncode == 0, result.stderr
    return tmp


def results(folder):
    return json.loads((folder / "results.json").read_text())["tasks"]["gsm8k"]["metrics"]


def test_compare_prints_the_table_with_intervals_and_p_values(runs):
    result = run_cli("compare", str(runs / "base"), str(runs / "short"))
    assert result.returncode == 0, result.stderr
    assert "gsm8k" in result.stdout and "average" in result.stdout and "McNemar" in result.stdout
    assert "max_tokens 400 -> 60" in result.stdout


def test_compare_json_matches_the_stored_results(runs):
    result = run_cli("compare", str(runs / "base"), str(runs / "short" / "results.json"), "format=json")
    assert result.returncode == 0, result.stderr
    task = json.loads(result.stdout)["runs"]["short"]["tasks"]["gsm8k"]
    base, short = results(runs / "base"), results(runs / "short")
    assert task["accuracy_delta"] == pytest.approx(short["accuracy"] - base["accuracy"])
    assert task["compression"] == pytest.approx(1 - short["tokens"]["mean"] / base["tokens"]["mean"])
    assert task["accuracy_delta"] < 0 and task["accuracy_delta_ci95"][1] < 0  # the cut loses answers, clearly
    assert task["mcnemar_p"] < 0.001 and task["only_run_correct"] == 0
    assert task["aes"] < task["aes_as_published"]


def test_compare_csv_has_one_row_per_task_and_average(runs):
    result = run_cli("compare", str(runs / "base"), str(runs / "short"), "format=csv", "alpha=1", "beta=5", "gamma=10")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["task"] for r in rows] == ["gsm8k", "average"]
    assert float(rows[0]["compression"]) > 0.2


def test_compare_against_itself_changes_nothing(runs):
    task = json.loads(run_cli("compare", str(runs / "base"), str(runs / "base"), "format=json").stdout)["runs"]["base"]["tasks"][
        "gsm8k"
    ]
    assert task["accuracy_delta"] == 0 and task["mcnemar_p"] == 1.0 and task["aes"] == 0 and task["compression"] == 0


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (("{runs}/base", "{runs}/fewer"), "different samples"),
        (("{runs}/base",), "needs a baseline run and at least one run"),
        (("{runs}/base", "{runs}/nothing"), "is not a run folder"),
        (("{runs}/base", "{runs}/short", "format=xml"), "format=xml is not one of"),
        (("{runs}/base", "{runs}/short", "beta=lots"), "beta=lots must be a number"),
        (("{runs}/base", "{runs}/short", "colour=red"), "unknown key 'colour'"),
    ],
)
def test_compare_refuses_bad_input_in_one_line(runs, words, message):
    assert_one_line_error(run_cli("compare", *(w.format(runs=runs) for w in words)), message)


def test_unfinished_run_is_refused(runs, tmp_path):
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "run.json").write_text("{}")
    result = run_cli("compare", str(runs / "base"), str(tmp_path / "half"))
    assert result.returncode == 2 and "did not finish" in result.stderr


def test_compare_prints_the_thinking_figures_of_every_run(runs):
    result = run_cli("compare", str(runs / "base"), str(runs / "short"))
    assert result.returncode == 0, result.stderr
    assert "thinking efficiency" in result.stdout and "ξ_UT %" in result.stdout
    data = json.loads(run_cli("compare", str(runs / "base"), str(runs / "short"), "format=json").stdout)
    assert [(r["run"], r["task"]) for r in data["thinking"]] == [("base", "gsm8k"), ("short", "gsm8k")]
    short = results(runs / "short")
    assert data["thinking"][1]["underthinking"] == short["thinking"]["underthinking"]
    csv_header = run_cli("compare", str(runs / "base"), str(runs / "short"), "format=csv").stdout.splitlines()[0]
    assert "underthinking" in csv_header.split(",") and "auc_oaa" in csv_header.split(",")


def test_published_leaderboard_and_a_broken_one(tmp_path):
    result = run_cli("compare", "o1_pruner", "format=json")
    assert result.returncode == 0 and len(json.loads(result.stdout)["rows"]) == 32
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: x\ntasks: [gsm8k]\nentries:\n  - {name: a, model: m, baseline: nobody, reported: {}}\n")
    result = run_cli("compare", str(bad))
    assert result.returncode == 2 and "baseline 'nobody' is not an entry" in result.stderr


def test_load_runs_gives_a_dataframe(runs):
    frame = load_runs(runs)
    assert sorted(frame["run"]) == ["base", "fewer", "short"]
    row = frame.set_index("run").loc["short"]
    assert row["task"] == "gsm8k" and row["max_tokens"] == 60 and row["samples"] == LIMIT
    assert row["accuracy"] == pytest.approx(results(runs / "short")["accuracy"])
    assert {"pass@1", "maj@1", "accuracy_low", "mean_tokens", "truncation_rate"} <= set(frame.columns)
    assert {"outcome_efficiency", "underthinking", "harmful_overthinking", "reflection_markers", "auc_oaa", "acu"} <= set(
        frame.columns
    )
    assert row["positions"] == "tokens" and 0 <= row["underthinking"] <= 1  # the scripted backend counts words as tokens


def test_compare_does_not_depend_on_the_order_samples_finished_in(runs, tmp_path):
    """A run's samples file lists samples as they finished: the same samples in another order compare the same."""
    import random
    import shutil

    shuffled = tmp_path / "base"
    shutil.copytree(runs / "base", shuffled)
    lines = (shuffled / "gsm8k.samples.jsonl").read_text(encoding="utf-8").split("\n")[:-1]
    random.Random(1).shuffle(lines)
    (shuffled / "gsm8k.samples.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    first, second = (run_cli("compare", str(base), str(runs / "short"), "format=json") for base in (runs / "base", shuffled))
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert json.loads(first.stdout)["runs"] == json.loads(second.stdout)["runs"]
