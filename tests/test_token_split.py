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
