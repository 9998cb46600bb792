"""Checkpoint series on real runs made by the scripted backend (tokens counted by words), and `series:` entries."""

from __future__ import annotations

import json

import pytest

from effbench.analysis.leaderboard import SeriesPoint, load_leaderboard
from effbench.analysis.series import checkpoint_series, run_step, step_from_name
from effbench.errors import ConfigError
from effbench.store.runs import open_run
from effbench.tasks.data import load_dataset
from effbench.tasks.spec import load_task
from tests.conftest import assert_one_line_error, run_cli, write_script
from tests.helpers import chain

LIMIT = 80


@pytest.fixture(scope="module")
def runs(tmp_path_factory, data_dir):
    """Checkpoints of one training run on gsm8k: shorter and as right, then less right, then no shorter."""
    tmp = tmp_path_factory.mktemp("series")
    samples = load_dataset(load_task("gsm8k"), root=data_dir, limit=LIMIT).samples

    def right(i: int) -> bool:
        return i % 4 != 0

    def worse(i: int) -> bool:
        return i % 4 != 0 and i % 3 != 0  # a third of the right answers lost

    checkpoints = {  # name: (right, words, extra words)
        "ckpt-100": (right, lambda i: 40 + i % 7, ()),
        "ckpt-200": (right, lambda i: 30 + i % 7, ()),  # a quarter shorter, the same answers
        "ckpt-300": (worse, lambda i: 20 + i % 7, ()),  # shorter again, but wrong more often
        "ckpt-400": (worse, lambda i: 20 + i % 7, ()),  # the same as the one before
        "final": (right, lambda i: 30 + i % 7, ("step=500",)),
        "nameless": (right, lambda i: 30 + i % 7, ()),
    }
    for name, (correct, words, extra) in checkpoints.items():
        entries = {f"gsm8k/{s.id}": chain(words(i), s.gold if correct(i) else "-1") for i, s in enumerate(samples)}
        script = write_script(tmp / f"{name}.json", entries)
        result = run_cli(
            "eval", "model=m", "tasks=gsm8k", "backend=scripted", f"script={script}", f"out={tmp}", f"limit={LIMIT}",
            f"name={name}", *extra,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
    return tmp


def series(runs, *names, **keys):
    return checkpoint_series([open_run(runs / name) for name in names], "gsm8k", **keys)


@pytest.mark.parametrize(
    ("name", "step"),
    [
        ("qwen-1.5b-step200", 200),
        ("qwen_1.5b_step_200", 200),
        ("ckpt-200", 200),
        ("checkpoint-1200", 1200),
        ("global_step200", 200),
        ("run-a-step100-eval-step300", 300),
        ("pruner-run-750", 750),
        ("Checkpoint_40", 40),
        ("final", None),
        ("qwen-7b", None),
        ("laststep", None),
    ],
)
def test_step_from_the_name(name, step):
    assert step_from_name(name) == step


def test_step_explicit_then_config_then_name(runs):
    final, named = open_run(runs / "final"), open_run(runs / "ckpt-200")
    assert json.loads((runs / "final" / "run.json").read_text())["config"]["step"] == 500
    assert run_step(final) == 500 and run_step(named) == 200
    assert run_step(final, 7) == 7 and run_step(named, 0) == 0


def test_a_run_without_a_step_is_one_clear_error(runs):
    with pytest.raises(ConfigError, match="give step: for it") as caught:
        series(runs, "ckpt-100", "nameless")
    assert "nameless" in str(caught.value) and "\n" not in str(caught.value)
    assert [c.step for c in series(runs, "ckpt-100", "nameless", steps=[None, 150])] == [100, 150]


def test_two_runs_at_one_step_are_refused(runs):
    with pytest.raises(ConfigError, match="both at step 200"):
        series(runs, "ckpt-100", "ckpt-200", "nameless", steps=[None, None, 200])


def test_the_series_is_sorted_by_step_and_the_first_has_no_comparison(runs):
    points = series(runs, "ckpt-300", "final", "ckpt-100", "ckpt-200")
    assert [(p.step, p.run) for p in points] == [(100, "ckpt-100"), (200, "ckpt-200"), (300, "ckpt-300"), (500, "final")]
    first = points[0]
    assert first.token_ratio is None and first.token_ratio_ci95 is None
    assert first.accuracy_delta is None and first.accuracy_delta_ci95 is None
    assert not first.compressed_and_held and "first checkpoint" in first.why
    assert first.accuracy == pytest.approx(0.75) and first.mean_tokens is not None
    low, high = first.accuracy_ci95
    assert low < 0.75 < high


def test_tokens_fell_while_accuracy_held_is_flagged(runs):
    _, shorter = series(runs, "ckpt-100", "ckpt-200")
    assert shorter.compressed_and_held, shorter.why
    assert shorter.token_ratio < 0.9 and shorter.token_ratio_ci95[1] < 1
    assert shorter.accuracy_delta == 0 and shorter.accuracy_delta_ci95[0] > -0.02
    assert shorter.mean_tokens < series(runs, "ckpt-100")[0].mean_tokens
    assert "fell while accuracy" in shorter.why


def test_tokens_fell_but_accuracy_dropped_is_not_flagged(runs):
    _, dropped = series(runs, "ckpt-200", "ckpt-300")
    assert dropped.token_ratio_ci95[1] < 1 and dropped.accuracy_delta_ci95[0] < -0.02
    assert not dropped.compressed_and_held and "may have lost more than 2 points" in dropped.why
    _, allowed = series(runs, "ckpt-200", "ckpt-300", max_drop=0.5)  # a generous allowance holds
    assert allowed.compressed_and_held, allowed.why


def test_tokens_that_do_not_change_are_not_flagged(runs):
    _, same = series(runs, "ckpt-300", "ckpt-400")
    assert same.token_ratio == pytest.approx(1.0) and same.token_ratio_ci95[1] >= 1
    assert not same.compressed_and_held and "did not fall beyond noise" in same.why


def test_a_resume_keeps_the_recorded_step(runs, tmp_path):
    script = runs / "final.json"
    common = ("eval", "model=m", "tasks=gsm8k", "backend=scripted", f"script={script}", f"out={tmp_path}", "limit=4")
    assert run_cli(*common, "name=ck", "step=30").returncode == 0
    again = run_cli(*common, "name=ck")  # a step is no part of what a resume must match
    assert again.returncode == 0, again.stderr
    assert run_step(open_run(tmp_path / "ck")) == 30
    assert_one_line_error(run_cli(*common, "name=ck2", "step=-1"), "step")


BOARD = """title: Checkpoints
tasks: [gsm8k]
entries:
  - name: base
    model: m
    reported: {gsm8k: {accuracy: 80, mean_tokens: 300}}
  - name: pruning
    model: m
    baseline: base
"""


def test_a_leaderboard_series_entry_parses(tmp_path):
    path = tmp_path / "board.yaml"
    path.write_text(BOARD + "    series:\n      - {run: runs/ckpt-100}\n      - {run: runs/final, step: 500}\n")
    entry = load_leaderboard(path).entry("pruning")
    assert entry.series == [SeriesPoint(run="runs/ckpt-100"), SeriesPoint(run="runs/final", step=500)]
    assert entry.run is None and entry.sweep is None and entry.reported is None


@pytest.mark.parametrize(
    ("series_yaml", "message"),
    [
        ("    series: [{run: runs/a, stp: 1}]\n", "series.0.stp: unknown key"),
        ("    series: [{run: runs/a, step: -1}]\n", "series.0.step"),
        ("    series: []\n", "series"),
        ("    series: [{run: runs/a, step: 1}, {run: runs/b, step: 1}]\n", "series has step 1 twice"),
        ("    run: runs/a\n    series: [{run: runs/b}]\n", "give one of run:"),
    ],
)
def test_a_bad_series_entry_is_one_clear_error(tmp_path, series_yaml, message):
    path = tmp_path / "board.yaml"
    path.write_text(BOARD + series_yaml)
    with pytest.raises(ConfigError, match=message):
        load_leaderboard(path)
    assert_one_line_error(run_cli("compare", str(path)), message)
