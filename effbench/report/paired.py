"""The page of an entry against its baseline, sample by sample: which problems flipped, which got shorter.

Over the samples both runs share, per task: the paired statistics of `effbench compare`, the four
outcomes of each completion pair (both right, both wrong, right → wrong, wrong → right), the share
of problems answered in fewer tokens, a scatter of baseline tokens against the entry's tokens
(one point per problem, its outcome as its colour), and the list of flipped problems.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from effbench.analysis.compare import AESWeights, Side, TaskComparison, compare_task, summary
from effbench.report.gather import Pair
from effbench.report.pages import render
from effbench.report.svg import BLUE, GREEN, GREY, ORANGE, scatter
from effbench.store.runs import TaskSamples, open_run

OUTCOMES = ("both right", "both wrong", "right → wrong", "wrong → right")
OUTCOME_COLOURS = dict(zip(OUTCOMES, (GREEN, GREY, ORANGE, BLUE), strict=True))
LISTED = 50  # flipped problems listed per task (all are in the runs' samples files)


@dataclass(frozen=True)
class Flip:
    id: str
    outcome: str
    baseline_tokens: float | None
    tokens: float | None


@dataclass(frozen=True)
class PairedTask:
    task: str
    comparison: TaskComparison
    counts: dict[str, int]  # by outcome, over completion pairs
    shorter: float | None  # share of problems whose mean tokens fell
    baseline_tokens: list[float]  # per problem, in the order of `outcomes`
    tokens: list[float]
    outcomes: list[str]  # per problem: of its first completion pair
    flips: list[Flip]  # the flipped problems, at most LISTED
    flipped: int


def paired_tasks(pair: Pair, weights: AESWeights, own: dict[str, TaskSamples] | None = None) -> list[PairedTask]:
    """Every task both runs hold over the same samples (a task with other samples is left out); `own` are the
    entry's samples where the caller has read them already."""
    found = []
    for task in (t for t in pair.baseline_run.tasks if t in pair.run.tasks):
        base = samples_of(pair.baseline_run.folder, task)
        model = own[task] if own and task in own else samples_of(pair.run.folder, task)
        if set(base.ids) != set(model.ids):
            continue
        found.append(paired_task(task, base, model.aligned(base.ids), weights, baseline_side(pair.baseline_run.folder, task)))
    return found


@lru_cache(maxsize=32)
def baseline_side(folder: Path, task: str) -> Side:
    """The baseline's accuracy with its interval and its tokens, computed once per process for all its entries."""
    return summary(samples_of(folder, task))


@lru_cache(maxsize=32)
def samples_of(folder: Path, task: str) -> TaskSamples:
    """A run's samples of a task, read once per process: a board's baseline serves many of its entries' pages."""
    return open_run(folder).samples(task)


def paired_task(
    task: str, base: TaskSamples, model: TaskSamples, weights: AESWeights, base_side: Side | None = None
) -> PairedTask:
    pairs = min(base.correct.shape[1], model.correct.shape[1])
    b, m = base.correct[:, :pairs], model.correct[:, :pairs]
    counts = {
        OUTCOMES[0]: int((b & m).sum()),
        OUTCOMES[1]: int((~b & ~m).sum()),
        OUTCOMES[2]: int((b & ~m).sum()),
        OUTCOMES[3]: int((~b & m).sum()),
    }
    outcomes = [_outcome(bool(x), bool(y)) for x, y in zip(b[:, 0], m[:, 0], strict=True)]
    counted = base.counted and model.counted
    base_tokens = base.tokens.mean(axis=1) if counted else np.full(len(base.ids), np.nan)
    tokens = model.tokens.mean(axis=1) if counted else np.full(len(base.ids), np.nan)
    flips = [
        Flip(sample, outcome, float(bt) if counted else None, float(t) if counted else None)
        for sample, outcome, bt, t in zip(base.ids, outcomes, base_tokens, tokens, strict=True)
        if outcome in OUTCOMES[2:]
    ]
    return PairedTask(
        task=task,
        comparison=compare_task(base, model, weights, 0.95, (), base_side=base_side),
        counts=counts,
        shorter=float(np.mean(tokens < base_tokens)) if counted and len(tokens) else None,
        baseline_tokens=[float(v) for v in base_tokens] if counted else [],
        tokens=[float(v) for v in tokens] if counted else [],
        outcomes=outcomes,
        flips=flips[:LISTED],
        flipped=len(flips),
    )


def _outcome(base_right: bool, model_right: bool) -> str:
    if base_right == model_right:
        return OUTCOMES[0] if base_right else OUTCOMES[1]
    return OUTCOMES[2] if base_right else OUTCOMES[3]


def write_pair_page(
    pair: Pair, weights: AESWeights, out: Path, title: str, run_pages: dict[str, str], own: dict[str, TaskSamples] | None = None
) -> None:
    tasks = paired_tasks(pair, weights, own)
    title_of = {t.task: f"{t.task}: mean tokens per problem" for t in tasks}
    charts = {
        t.task: scatter(t.baseline_tokens, t.tokens, t.outcomes, OUTCOME_COLOURS, title_of[t.task], pair.baseline, pair.entry)
        for t in tasks
        if t.tokens
    }
    page = render("compare.html.j2", pair=pair, tasks=tasks, title=title, outcomes=OUTCOMES, run_pages=run_pages, charts=charts)
    (out / f"{pair.page}.html").write_text(page, encoding="utf-8")
