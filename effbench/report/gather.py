"""`effbench report LEADERBOARD`: the numbers of a leaderboard, per task and overall, with the Pareto frontier.

This module gathers the numbers; `plots.py` draws them and `site.py` writes the static pages.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from effbench.analysis.compare import compression, efficiency
from effbench.analysis.cost import Pricing
from effbench.analysis.leaderboard import Entry, Leaderboard, Reported
from effbench.analysis.series import Checkpoint, checkpoint_series
from effbench.analysis.stats import mean_or_none
from effbench.analysis.thinking import BudgetControl, acu, sweep_budget_control
from effbench.analysis.token_split import TokenSplit, sweep_token_split
from effbench.errors import ConfigError
from effbench.store.records import GroupStats
from effbench.store.runs import KeySweep, Run, Sweep, open_run, open_sweep

MEASURED, REPORTED = "measured", "reported"


@dataclass
class Point:
    """One entry on one task."""

    entry: str
    model: str
    method: str | None
    source: str  # measured here, or reported by a paper
    baseline: str | None
    accuracy: float  # 0..1
    mean_tokens: float | None  # None for a paper that gives no token counts: in the tables, not on the plot
    accuracy_ci: tuple[float, float] | None = None
    truncation_rate: float | None = None
    accuracy_finished: float | None = None  # over the completions not cut off by max_tokens (measured entries)
    truncated_no_answer_rate: float | None = None  # the share cut off with no answer
    n: int | None = None
    samples: int | None = None
    aes_published: float | None = None
    compression: float | None = None
    aes: float | None = None
    aes_as_published: float | None = None
    pareto: bool = False
    run: str | None = None  # the run page's name, for measured entries
    budget: int | None = None  # a sweep's point: the token budget it was run at
    label: str | None = None  # a sweep's point: its budget, or its value of the key swept over
    curve: list[Point] | None = None  # a sweep entry: one point per budget (or value); the entry's point is the last
    over: str | None = None  # a sweep entry over a key's values: the key
    auc: float | None = None  # a sweep entry: area under accuracy against budget, over the budget range
    budget_control: BudgetControl | None = None  # a sweep entry: s1's Control, Scaling and Performance
    token_split: list[TokenSplit] | None = None  # a derived sweep entry: where each budget's tokens went
    compare: str | None = None  # the page of the entry against its baseline, where both were measured here
    levels: dict[str, GroupStats] | None = None  # accuracy and mean tokens by difficulty level, where the task has levels
    cut_curve: dict[str, float] | None = None  # accuracy had generation stopped at each budget, from the stored lengths
    folder: Path | None = None  # the measured run, for figures drawn from its samples
    acu: float | None = None  # CoT-Valve's accuracy per computation unit: measured, or recomputed from the paper's numbers
    acu_published: float | None = None
    compression_published: float | None = None  # a fraction, as the paper gives it (percent / 100)
    runs: int | None = None  # completions per problem the published pass@1 averages over
    details: dict[str, str] | None = None  # the paper's other columns for the row
    cost_per_problem: float | None = None  # USD: a measured run's where it was priced, a table's from its cost column
    cost_per_solved: float | None = None

    @property
    def x(self) -> float:
        """Where a plot places it: its mean tokens (only points with a token count are placed, `plotted`)."""
        if self.mean_tokens is None:
            raise ValueError(f"{self.entry} has no token count to place it by")
        return self.mean_tokens


@dataclass(frozen=True)
class Pair:
    """An entry measured here against its baseline, also measured here: the paired view of its own page."""

    entry: str
    baseline: str
    run: Run
    baseline_run: Run
    page: str  # compare-<the entry's run page>


@dataclass
class ReportData:
    board: Leaderboard
    tasks: dict[str, list[Point]]
    overall: list[Point]
    runs: dict[str, Run]  # by page name: every run that gets a page, sweeps' budgets included
    pairs: list[Pair] = field(default_factory=list)
    series: dict[str, dict[str, list[Checkpoint]]] = field(default_factory=dict)  # by entry, then task


def gather(board: Leaderboard) -> ReportData:
    entry_runs = {e.name: open_run(e.run) for e in board.entries if e.run is not None}
    sweeps = {e.name: open_sweep(e.sweep) for e in board.entries if e.sweep is not None}
    series_runs = {e.name: [open_run(p.run) for p in e.series] for e in board.entries if e.series}
    pages = page_names([*entry_runs.values(), *(run for sweep in sweeps.values() for run in sweep.runs.values()),
                        *(run for runs in series_runs.values() for run in runs)])  # fmt: skip
    weights = board.aes_weights
    tasks = {}
    for task in board.tasks:
        found = {
            e.name: _sweep_point(e, task, sweeps[e.name], pages)
            if e.name in sweeps
            else _point(e, task, entry_runs.get(e.name), pages)
            for e in board.entries
        }
        points = {name: point for name, point in found.items() if point is not None}
        for point in points.values():
            base = points.get(point.baseline) if point.baseline else None
            if base is not None and base.mean_tokens is not None and point.mean_tokens is not None:
                scores = efficiency(base.accuracy, point.accuracy, base.mean_tokens, point.mean_tokens, weights)
                point.compression, point.aes, point.aes_as_published = scores.compression, scores.aes, scores.aes_as_published
            elif point.compression_published is not None:
                point.compression = point.compression_published  # no token counts to compute it from
        mark_pareto(list(points.values()))
        tasks[task] = list(points.values())
    if not any(tasks.values()) and not series_runs:
        raise ConfigError(f"leaderboard {board.title!r} has no entry with numbers for its tasks {', '.join(board.tasks)}")
    pairs = [
        Pair(
            e.name,
            e.baseline,
            entry_runs[e.name],
            entry_runs[e.baseline],
            f"compare-{pages[entry_runs[e.name].folder.resolve()][1]}",
        )
        for e in board.entries
        if e.baseline in entry_runs and e.name in entry_runs
    ]
    compare_pages = {pair.entry: pair.page for pair in pairs}
    for point in (p for points in tasks.values() for p in points):
        point.compare = compare_pages.get(point.entry)
    series = {
        e.name: {task: checkpoint_series(series_runs[e.name], task, steps=[p.step for p in e.series]) for task in board.tasks}
        for e in board.entries
        if e.series
    }
    return ReportData(board, tasks, _overall(board, tasks), {page: run for run, page in pages.values()}, pairs, series)


def page_names(runs: list[Run]) -> dict[Path, tuple[Run, str]]:
    """Each run folder's page name: its folder name as a plain file name, with its parent's name where two runs
    share a folder name (`runs/a` and `other/a`), and a number where that is not enough."""
    folders = {run.folder.resolve(): run for run in runs}
    plain = {folder: re.sub(r"[^A-Za-z0-9._-]+", "-", run.name) for folder, run in folders.items()}
    clash = Counter(plain.values())
    pages: dict[Path, tuple[Run, str]] = {}
    taken: set[str] = set()
    for folder, run in folders.items():
        name = (
            plain[folder] if clash[plain[folder]] == 1 else re.sub(r"[^A-Za-z0-9._-]+", "-", f"{folder.parent.name}-{run.name}")
        )
        unique, number = name, 2
        while unique in taken:
            unique, number = f"{name}-{number}", number + 1
        taken.add(unique)
        pages[folder] = (run, unique)
    return pages


def _point(entry: Entry, task: str, run: Run | None, pages: dict[Path, tuple[Run, str]]) -> Point | None:
    if run is not None:
        result = run.tasks.get(task)
        metrics = result.metrics if result else None
        if result is None or metrics is None or metrics.accuracy is None:
            return None  # no completions for this task: nothing to place
        if metrics.tokens is None:
            raise ConfigError(
                f"entry {entry.name!r}: {run.folder} has no token counts for {task} (imported without tokens= or "
                f"tokenizer=), and a leaderboard places entries by their tokens; import it again with tokenizer=NAME_OR_PATH"
            )
        return Point(
            entry.name,
            entry.model,
            entry.method or run.method,  # a run's own method= where the board names none
            source=MEASURED,
            baseline=entry.baseline,
            accuracy=metrics.accuracy,
            mean_tokens=metrics.tokens.mean,
            accuracy_ci=metrics.accuracy_ci95,
            truncation_rate=metrics.truncation_rate,
            accuracy_finished=metrics.accuracy_finished,
            truncated_no_answer_rate=metrics.truncated_no_answer_rate,
            n=result.sampling.n,
            samples=metrics.samples,
            run=pages[run.folder.resolve()][1],
            levels=metrics.breakdown.get("level") or None,
            cut_curve=metrics.truncation_curve or None,
            folder=run.folder,
            acu=metrics.thinking.acu if metrics.thinking else None,
            cost_per_problem=metrics.cost.per_problem_usd if metrics.cost else None,
            cost_per_solved=metrics.cost.per_solved_usd if metrics.cost else None,
        )
    reported = (entry.reported or {}).get(task)
    if reported is None:
        return None
    return Point(
        entry.name,
        entry.model,
        entry.method,
        source=REPORTED,
        baseline=entry.baseline,
        accuracy=reported.accuracy / 100,
        mean_tokens=reported.mean_tokens,
        aes_published=reported.aes,
        acu=acu(reported.accuracy, reported.mean_tokens, entry.parameters) if entry.parameters and reported.mean_tokens else None,
        acu_published=reported.acu,
        compression_published=reported.compression / 100 if reported.compression is not None else None,
        cost_per_problem=_reported_cost(reported)[0],
        cost_per_solved=_reported_cost(reported)[1],
        runs=reported.runs,
        details=entry.details or None,
    )


def _sweep_point(entry: Entry, task: str, sweep: Sweep | KeySweep, pages: dict[Path, tuple[Run, str]]) -> Point | None:
    """A budget sweep's largest budget, carrying the whole curve, its AUC and s1's figures; a sweep over a key's
    values, its last value, carrying one point per value."""
    curve = [
        replace(point, entry=f"{entry.name} @{step}", budget=step if isinstance(step, int) else None, label=str(step))
        for step, run in sweep.runs.items()
        if (point := _point(entry, task, run, pages)) is not None
    ]
    if not curve:
        return None
    if isinstance(sweep, KeySweep):
        return replace(curve[-1], entry=entry.name, curve=curve, over=sweep.over)
    control, split = sweep_budget_control(sweep.curve(task)), sweep_token_split(sweep, task)
    return replace(curve[-1], entry=entry.name, curve=curve, auc=sweep.auc(task), budget_control=control, token_split=split)


def _reported_cost(cell: Reported) -> tuple[float | None, float | None]:
    """A table's cost of its whole cell, per problem and per solved problem (every run of a problem counted)."""
    if cell.cost_usd is None or not cell.problems:
        return None, None
    solved = cell.accuracy / 100 * cell.problems
    return cell.cost_usd / cell.problems, cell.cost_usd / solved if solved else None


def repriced(data: ReportData, pricing: Pricing) -> ReportData:
    """The measured entries priced by `pricing` (`effbench report prices=`), from their stored samples."""
    for task, points in data.tasks.items():
        for point in points:
            if point.folder is not None and not point.curve:
                run = open_run(point.folder)
                cost = pricing.task_cost(run.scored(task), run.results.model, task, run.info.invocations)
                point.cost_per_problem, point.cost_per_solved = cost.per_problem_usd, cost.per_solved_usd
    return data


def cost_points(points: list[Point]) -> list[Point]:
    """The task's priced entries placed by their cost per problem, with their own frontier."""
    priced = [
        replace(p, mean_tokens=p.cost_per_problem, curve=None, pareto=False) for p in points if p.cost_per_problem is not None
    ]
    mark_pareto(priced)
    return priced


def plotted(points: list[Point]) -> list[Point]:
    """What a task's plot places: each single point with a token count, and every budget of each sweep."""
    return [q for p in points for q in (p.curve or [p]) if q.mean_tokens is not None]


def mark_pareto(points: list[Point]) -> None:
    """An entry is on the frontier when no other is at least as accurate and at least as short, and better in one.
    A sweep is on it when one of its budgets is."""
    candidates = plotted(points)
    for point in candidates:
        point.pareto = not any(
            o is not point and o.accuracy >= point.accuracy and o.x <= point.x and (o.accuracy > point.accuracy or o.x < point.x)
            for o in candidates
        )
    for point in points:
        if point.curve:
            point.pareto = any(q.pareto for q in point.curve)


def _overall(board: Leaderboard, tasks: dict[str, list[Point]]) -> list[Point]:
    """Entries that have every task: mean accuracy and length, compression of the means, the mean of the tasks' AES."""
    rows = []
    for entry in board.entries:
        found = [next((p for p in points if p.entry == entry.name), None) for points in tasks.values()]
        mine = [p for p in found if p is not None]
        if len(mine) != len(found):
            continue
        first = mine[0]
        rows.append(
            Point(
                entry=entry.name,
                model=entry.model,
                method=entry.method,
                source=first.source,
                baseline=entry.baseline,
                accuracy=float(np.mean([p.accuracy for p in mine])),
                mean_tokens=mean_or_none([p.mean_tokens for p in mine]),
                truncation_rate=mean_or_none([p.truncation_rate for p in mine]),
                accuracy_finished=mean_or_none([p.accuracy_finished for p in mine]),
                truncated_no_answer_rate=mean_or_none([p.truncated_no_answer_rate for p in mine]),
                n=first.n,
                run=first.run,
                aes=mean_or_none([p.aes for p in mine]),
                aes_as_published=mean_or_none([p.aes_as_published for p in mine]),
                aes_published=mean_or_none([p.aes_published for p in mine]),
                auc=mean_or_none([p.auc for p in mine]),
            )
        )
    by_name = {p.entry: p for p in rows}
    for point in rows:
        base = by_name.get(point.baseline) if point.baseline else None
        if base is not None and base.mean_tokens is not None and point.mean_tokens is not None:
            point.compression = compression(base.mean_tokens, point.mean_tokens)
    mark_pareto(rows)
    return rows
