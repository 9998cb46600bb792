"""Stored runs and sweeps, read back: for comparisons (per-sample arrays), reports, and notebooks (`load_runs`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from effbench.errors import StoreError
from effbench.grading.reasoning import ReasoningFormat, reasoning_format
from effbench.store.folder import RunStore
from effbench.store.records import (
    Results,
    RunRecord,
    SweepRecord,
    TaskIdentity,
    TaskMetrics,
    TaskResult,
    read_results,
    read_run_record,
    read_sweep_record,
)
from effbench.types import Scored

SWEEP_FILE = "sweep.json"


@dataclass(frozen=True)
class TaskSamples:
    """One task of a run, per sample: correctness and completion tokens of its n completions."""

    ids: tuple[str, ...]
    correct: np.ndarray  # (samples, n) of bool
    tokens: np.ndarray  # (samples, n) of float: counts, NaN where a completion's tokens were not counted

    @property
    def counted(self) -> bool:
        return not bool(np.isnan(self.tokens).any())

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, Sequence[bool], Sequence[int | None]]]) -> TaskSamples:
        """(id, correct, tokens) per sample, taken in the order of the ids, not of the file (the order samples finished
        in), so that statistics over the same samples are the same to the last bit; a count never made is NaN."""
        ordered = sorted(rows, key=lambda row: row[0])
        return cls(
            tuple(sample_id for sample_id, _, _ in ordered),
            np.asarray([correct for _, correct, _ in ordered], dtype=bool),
            np.asarray([[np.nan if t is None else t for t in tokens] for _, _, tokens in ordered], dtype=float),
        )

    def aligned(self, ids: tuple[str, ...]) -> TaskSamples:
        """The same samples in the order of `ids`."""
        position = {sample_id: index for index, sample_id in enumerate(self.ids)}
        order = [position[sample_id] for sample_id in ids]
        return TaskSamples(ids, self.correct[order], self.tokens[order])


@dataclass(frozen=True)
class Run:
    """A finished run folder: its run.json, its results.json, and its samples on demand."""

    folder: Path
    info: RunRecord
    results: Results

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def tasks(self) -> dict[str, TaskResult]:
        return self.results.tasks

    @property
    def sweep(self) -> str | None:
        """The sweep this run is a budget of, if any."""
        return self.folder.parent.name if (self.folder.parent / SWEEP_FILE).exists() else None

    @property
    def method(self) -> str | None:
        """The inference-time method the run was made with (method=, or force=true: budget_forcing)."""
        identity = self.info.identity
        return identity.method or ("budget_forcing" if identity.force else None)

    def reasoning(self, task: str) -> ReasoningFormat:
        """The reasoning format the task's completions were graded with (runs made before formats: think)."""
        info = self.info.tasks.get(task)
        return reasoning_format(info.reasoning if info else "think")

    def identity(self, task: str) -> TaskIdentity:
        return self.info.identity.tasks.get(task, TaskIdentity())

    def scored(self, task: str) -> Iterator[Scored]:
        """The task's stored samples, one at a time."""
        return RunStore(self.folder).read_samples(task)

    def samples(self, task: str) -> TaskSamples:
        """The task's samples in the order of their ids (`TaskSamples.from_rows`)."""
        rows = list(RunStore(self.folder).read_outcomes(task))
        if len({len(correct) for _, correct, _ in rows}) > 1:
            raise StoreError(f"{self.folder / task}.samples.jsonl: samples have different numbers of completions")
        return TaskSamples.from_rows(rows)


def open_run(path: str | Path) -> Run:
    """A run from its folder or its results.json; a run that never finished is refused."""
    folder = Path(path)
    if folder.name == "results.json":
        folder = folder.parent
    if not folder.is_dir():
        raise StoreError(f"{folder} is not a run folder; give the folder of a finished run or its results.json")
    if not (folder / "results.json").exists():
        raise StoreError(f"{folder} has no results.json: the run did not finish; run its effbench eval command again")
    return Run(folder, read_run_record(folder / "run.json"), read_results(folder / "results.json"))


def find_runs(root: str | Path) -> list[Run]:
    """Every finished run under `root` (a run folder, a sweep folder, or a folder of both), by name."""
    root = Path(root)
    if (root / "results.json").exists():
        return [open_run(root)]
    if not root.is_dir():
        raise StoreError(f"{root} is not a folder of runs")
    runs = []
    for folder in sorted(root.iterdir()):
        if (folder / "results.json").exists():
            runs.append(open_run(folder))
        elif (folder / SWEEP_FILE).exists():
            runs.extend(find_runs(folder))
    return runs


@dataclass(frozen=True)
class Sweep:
    """A finished `effbench sweep`: its sweep.json and one run per budget."""

    folder: Path
    info: SweepRecord
    runs: dict[int, Run]  # by budget, ascending

    @property
    def name(self) -> str:
        return self.folder.name

    def curve(self, task: str) -> list[tuple[int, TaskMetrics]]:
        """(budget, the task's metrics) for every budget whose run has the task."""
        return [(budget, run.tasks[task].metrics) for budget, run in self.runs.items() if task in run.tasks]

    def auc(self, task: str) -> float | None:
        """`budget_auc` of the task's curve; None when a budget has no completions to measure."""
        curve = self.curve(task)
        accuracies = [metrics.accuracy for _, metrics in curve]
        if any(accuracy is None for accuracy in accuracies):
            return None
        return budget_auc([budget for budget, _ in curve], [a for a in accuracies if a is not None])


@dataclass(frozen=True)
class KeySweep:
    """A finished `effbench sweep over=KEY`: its sweep.json and one run per value, in the order the values were given."""

    folder: Path
    info: SweepRecord
    runs: dict[str, Run]  # by value

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def over(self) -> str:
        return str(self.info.over)

    def curve(self, task: str) -> list[tuple[str, TaskMetrics]]:
        """(value, the task's metrics) for every value whose run has the task."""
        return [(value, run.tasks[task].metrics) for value, run in self.runs.items() if task in run.tasks]


def open_sweep(path: str | Path) -> Sweep | KeySweep:
    folder = Path(path)
    if folder.name == SWEEP_FILE:
        folder = folder.parent
    if not (folder / SWEEP_FILE).exists():
        raise StoreError(f"{folder} is not a sweep folder (no {SWEEP_FILE}); make one with effbench sweep")
    info = read_sweep_record(folder / SWEEP_FILE)
    if info.over is not None:
        finished = {value: open_run(folder / info.runs[value]) for value in info.values if value in info.runs}
        if not finished:
            raise StoreError(f"sweep {folder} has no finished value; run its effbench sweep command again")
        return KeySweep(folder, info, finished)
    runs = {int(budget): open_run(folder / name) for budget, name in sorted(info.runs.items(), key=lambda kv: int(kv[0]))}
    if not runs:
        raise StoreError(f"sweep {folder} has no finished budget; run its effbench sweep command again")
    return Sweep(folder, info, runs)


def budget_auc(budgets: list[int], accuracies: list[float]) -> float | None:
    """The area under accuracy against budget (trapezoids), divided by the budget range: the mean accuracy
    over the range, on the budget's linear scale; None for fewer than two budgets."""
    if len(budgets) < 2:
        return None
    steps = zip(budgets, budgets[1:], accuracies, accuracies[1:], strict=False)
    area = sum((b1 - b0) * (a0 + a1) / 2 for b0, b1, a0, a1 in steps)
    return area / (budgets[-1] - budgets[0])


def load_runs(root: str | Path = "runs") -> Any:
    """A pandas DataFrame with one row per (run, task): the headline metrics and the settings behind them."""
    import pandas as pd

    rows = []
    for run in find_runs(root):
        for task, entry in run.tasks.items():
            metrics, sampling = entry.metrics, entry.sampling
            low, high = metrics.accuracy_ci95 or (None, None)
            tokens = metrics.tokens
            rows.append(
                {
                    "run": run.name,
                    "sweep": run.sweep,
                    "model": run.results.model,
                    "method": run.method,
                    "task": task,
                    "samples": metrics.samples,
                    "n": sampling.n,
                    "accuracy": metrics.accuracy,
                    "accuracy_low": low,
                    "accuracy_high": high,
                    "mean_tokens": tokens.mean if tokens else None,
                    "median_tokens": tokens.median if tokens else None,
                    "p90_tokens": tokens.p90 if tokens else None,
                    "forced_rate": metrics.forced_rate,
                    **{f"pass@{k}": v for k, v in metrics.pass_at_k.items()},
                    **{f"maj@{k}": v for k, v in metrics.maj_at_k.items()},
                    **metrics.thinking_columns(),
                    "max_tokens": sampling.max_tokens,
                    "temperature": sampling.temperature,
                    "folder": str(run.folder),
                }
            )
    return pd.DataFrame(rows)
