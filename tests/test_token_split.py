"""Where a derived budget sweep's tokens went, on hand-made runs."""

from __future__ import annotations

import numpy as np

from effbench.analysis.token_split import token_split
from effbench.store.runs import TaskSamples


def samples(correct, tokens, ids=("a", "b", "c")) -> TaskSamples:
    return TaskSamples(ids, np.asarray(correct, dtype=bool), np.asarray(tokens, dtype=float))


def test_the_tokens_of_each_budget_split_three_ways():
    # problem a: solved from 16 on; b: solved at 32 only; c: never solved (one completion each)
    curve = {
        16: samples([[True], [False], [False]], [[10], [16], [16]]),
        32: samples([[True], [True], [False]], [[10], [30], [32]]),
        64: samples([[True], [False], [False]], [[10], [64], [64]]),
    }
    at = {split.budget: split for split in token_split(curve)}
    assert (at[16].tokens, at[16].beyond_need, at[16].on_unsolved, at[16].lost) == (42, 0, 16, 1)  # b: lost, 32 solves it
    assert (at[32].tokens, at[32].beyond_need, at[32].on_unsolved, at[32].lost) == (72, 0, 32, 0)
    assert (at[64].tokens, at[64].beyond_need, at[64].on_unsolved, at[64].lost) == (138, 0, 64, 0)  # b wrong again: not lost
    assert at[32].needed == 72 - 32 and at[16].completions == 3


def test_tokens_beyond_the_smallest_budget_that_solved_the_same_draw():
    curve = {  # two completions of one problem: the first solved at 8 in 8 tokens, the second only at 24
        8: samples([[True, False]], [[8, 8]], ids=("a",)),
        24: samples([[True, True]], [[20, 24]], ids=("a",)),
    }
    small, large = token_split(curve)
    assert (small.beyond_need, small.lost) == (0, 1)
    assert (large.beyond_need, large.on_unsolved, large.needed) == (12, 0, 32)  # 20 − 8 beyond need; 8 + 24 needed


def test_budgets_that_are_not_one_generation_s_cuts_are_not_split():
    uncounted = samples([[True]], [[np.nan]], ids=("a",))
    assert token_split({8: uncounted, 16: samples([[True]], [[3]], ids=("a",))}) is None
    assert token_split({8: samples([[True]], [[3]], ids=("a",)), 16: samples([[True]], [[3]], ids=("b",))}) is None


def test_a_derived_sweep_s_table_shows_where_its_tokens_went(tmp_path):
    from effbench.analysis.token_split import sweep_token_split
    from effbench.store.runs import open_sweep
    from tests.conftest import run_cli, write_script
    from tests.helpers import chain

    script = write_script(
        tmp_path / "s.json", {"0": chain(4, "18"), "1": chain(20, "3"), "2": chain(40, "1"), "*": chain(8, "9")}
    )
    words = ("sweep", "model=m", "tasks=gsm8k", "backend=scripted", f"script={script}", f"out={tmp_path}", "limit=6")
    result = run_cli(*words, "budgets=10,30,60", "name=cut")
    assert result.returncode == 0, result.stderr
    assert "beyond need %" in result.stdout and "unsolved %" in result.stdout
    split = {s.budget: s for s in sweep_token_split(open_sweep(tmp_path / "cut"), "gsm8k")}
    # problem 0 (gold 18) is solved at every budget in its 10 words; problem 1 (gold 3, 26 words) from 30 on; the rest never
    assert split[10].lost == 1 and split[30].lost == split[60].lost == 0 and split[10].beyond_need == 0
    assert split[60].needed == 10 + 26 and split[60].on_unsolved == split[60].tokens - 10 - 26
    separate = run_cli(*words, "budgets=10,30", "derive=false", "name=apart")
    assert separate.returncode == 0 and sweep_token_split(open_sweep(tmp_path / "apart"), "gsm8k") is None
    board = tmp_path / "board.yaml"
    board.write_text(f"title: t\ntasks: [gsm8k]\nentries:\n  - {{name: cut, model: m, sweep: {tmp_path / 'cut'}}}\n")
    assert run_cli("report", str(board), f"out={tmp_path / 'site'}").returncode == 0
    index = (tmp_path / "site" / "index.html").read_text()
    assert "where the tokens went: 10: 0% beyond need" in index and "1 lost" in index
