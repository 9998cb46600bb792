"""Where a budget sweep's tokens went: what each budget spent beyond need, on what no budget solves, and what it lost.

A derived sweep cuts every budget from one generation, so completion j of problem i is the same draw at every
budget, shorter or longer. At each budget the tokens it spent split three ways. Measuring a completion's tokens
against the least that solved it is the idea behind outcome efficiency (Chen et al. 2024, "Do NOT Think That Much
for 2+3=?", arXiv 2412.21187) and THOUGHTTERMINATOR's overthinking against the observed minimum spend (arXiv
2504.13367); here the least is the smallest budget that solved the same draw:

- beyond need: on completions solved at this budget, the tokens beyond what they spent at the smallest budget that
  already solved them;
- on the unsolved: all the tokens of completions that no budget solves;
- and, counted in completions rather than tokens, those lost here: wrong at this budget, right at a larger one.

The rest is what solving took. Budgets generated apart (derive=false) are different draws, so their completions are
not the same ones: the split is then only for derived sweeps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from effbench.store.runs import Sweep, TaskSamples


@dataclass(frozen=True)
class TokenSplit:
    budget: int
    tokens: float  # all the tokens spent at this budget
    beyond_need: float
    on_unsolved: float
    lost: int  # completions wrong here and right at a larger budget
    completions: int

    @property
    def needed(self) -> float:
        return self.tokens - self.beyond_need - self.on_unsolved


def token_split(curve: Mapping[int, TaskSamples]) -> list[TokenSplit] | None:
    """The split at each budget of one task's derived sweep (its runs' samples by budget); None where any budget's
    tokens were not counted, or the budgets do not hold the same problems."""
    budgets = sorted(curve)
    if not budgets or any(not samples.counted for samples in curve.values()):
        return None
    ids = curve[budgets[0]].ids
    if any(set(curve[b].ids) != set(ids) or curve[b].correct.shape != curve[budgets[0]].correct.shape for b in budgets):
        return None
    correct = np.stack([curve[b].aligned(ids).correct for b in budgets])  # (budgets, problems, n)
    tokens = np.stack([curve[b].aligned(ids).tokens for b in budgets])
    ever = correct.any(axis=0)
    first = np.where(ever, correct.argmax(axis=0), 0)  # the smallest budget that solved each completion
    need = np.take_along_axis(tokens, first[None], axis=0)[0]
    later = np.flip(np.logical_or.accumulate(np.flip(correct, axis=0), axis=0), axis=0)  # right here or at a larger one
    splits = []
    for index, budget in enumerate(budgets):
        right, spent = correct[index], tokens[index]
        lost = ~right & (later[index + 1] if index + 1 < len(budgets) else np.zeros_like(right))
        splits.append(
            TokenSplit(
                budget=budget,
                tokens=float(spent.sum()),
                beyond_need=float((spent - need)[right].sum()),
                on_unsolved=float(spent[~ever].sum()),
                lost=int(lost.sum()),
                completions=int(right.size),
            )
        )
    return splits


def sweep_token_split(sweep: Sweep, task: str) -> list[TokenSplit] | None:
    """Where each budget's tokens went, for a sweep whose budgets were cut from one generation (derive=true)."""
    if not sweep.info.derive:
        return None
    return token_split({budget: run.samples(task) for budget, run in sweep.runs.items() if task in run.tasks})
