"""The literature's tables as leaderboards: each loads, and its derived numbers are recomputed from its own inputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from effbench.analysis.leaderboard import load_leaderboard
from effbench.analysis.published import half_unit, recompute, value_range
from tests.conftest import run_cli

LEADERBOARDS = Path(__file__).parent.parent / "effbench" / "leaderboards"
PUBLISHED = ("o1_pruner", "cot_valve", "c3ot", "lapo", "s1", "kimi_k15", "ockbench", "matharena_aime25")


@pytest.mark.parametrize("name", PUBLISHED)
def test_every_published_number_is_recomputed_or_its_difference_explained(name):
    board = load_leaderboard(LEADERBOARDS / f"{name}.yaml")
    assert board.citation and board.url and all(e.reported for e in board.entries)
    for check in recompute(board):
        cell = board.entry(check.entry).reported[check.task]
        assert check.agrees or cell.note == check.why, check  # a difference beyond rounding is explained by the cell


def test_what_each_table_recomputes():
    counts = {name: [c.quantity for c in recompute(load_leaderboard(LEADERBOARDS / f"{name}.yaml"))] for name in PUBLISHED}
    assert counts["cot_valve"].count("ACU") == 29  # every ACU the paper prints with its inputs
    assert sum(not c.agrees for c in recompute(load_leaderboard(LEADERBOARDS / "cot_valve.yaml"))) == 2
    assert counts["o1_pruner"].count("AES") == 24 and counts["o1_pruner"].count("average AES") == 10
    assert counts["lapo"].count("compression %") == 3 and counts["lapo"].count("average tokens") == 18
    assert counts["c3ot"] == counts["s1"] == counts["kimi_k15"] == []  # no token counts: nothing to recompute from
    assert counts["ockbench"].count("OckScore") == counts["ockbench"].count("accuracy %") == 56  # every setting
    assert counts["matharena_aime25"] == ["cost USD"] * 14  # every priced model: 2 were not priced
    qwq = [c for c in recompute(load_leaderboard("matharena_aime25")) if not c.agrees]
    assert [c.entry for c in qwq] == ["qwq-32b-preview"]  # its cost is at 1.2 USD per million, not the 0.8 it lists


def test_rounding_of_the_inputs():
    assert half_unit(95.1) == pytest.approx(0.05) and half_unit(741) == 0.5 and half_unit(0.023) == pytest.approx(0.0005)
    low, high = value_range(lambda a, t: a / t, (95.1, 741.1))
    assert low == pytest.approx(95.05 / 741.15) and high == pytest.approx(95.15 / 741.05)
    assert value_range(lambda a: 1 / (a - 0.5), (0.5,)) is not None and value_range(lambda a: None, (1.0,)) is None


def test_a_misprinted_acu_is_found_and_one_within_rounding_is_not(tmp_path):
    board = tmp_path / "board.yaml"
    board.write_text(
        "title: t\ncitation: c\ntasks: [gsm8k]\nentries:\n"
        "  - {name: a, model: m, parameters: 32, reported: {gsm8k: {accuracy: 95.1, mean_tokens: 741.1, acu: 0.40}}}\n"
        "  - {name: b, model: m, parameters: 32, reported: {gsm8k: {accuracy: 95.1, mean_tokens: 741.1, acu: 0.42}}}\n",
        encoding="utf-8",
    )
    result = run_cli("compare", str(board))
    assert result.returncode == 0, result.stderr
    checks = {c.entry: c for c in recompute(load_leaderboard(board))}
    assert checks["a"].agrees and checks["a"].recomputed == pytest.approx(95.1 / (32 * 741.1) * 100)
    assert not checks["b"].agrees and "differs beyond the rounding of its inputs" in checks["b"].why
    assert "1 of 2 agree" in result.stdout
    csv_lines = run_cli("compare", str(board), "format=csv").stdout.splitlines()
    assert csv_lines[0].startswith("entry,task,quantity,published,recomputed") and len(csv_lines) == 3
