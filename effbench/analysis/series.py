"""A checkpoint series: the runs of one training run's checkpoints on one task, in order of training step.

Per checkpoint: its accuracy with its interval and its mean tokens; and, against the checkpoint before it,
paired over the same samples, the token ratio and the accuracy difference with their paired bootstrap
intervals. A checkpoint is `compressed_and_held` when its tokens fell beyond noise (the token ratio's
interval lies wholly below 1) while its accuracy held (the accuracy difference's interval lies wholly
above −max_drop; max_drop is a fraction, 0.02 = 2 points).

A run's step is the caller's, else the `step` its run.json records (`effbench eval step=200`), else the
one its name holds (`...-step200`, `..._step_200`, `ckpt-200`, `checkpoint-200`, `global_step200`, or a
trailing `-200`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from effbench.analysis.compare import AESWeights, TaskComparison, check_comparable, compare_task, summary
from effbench.errors import ConfigError
from effbench.store.runs import Run, TaskSamples

STEP_IN_NAME = re.compile(r"(?<![a-z])(?:global[-_]?step|step|checkpoint|ckpt)[-_]?(\d+)(?!\d)", re.IGNORECASE)
TRAILING_NUMBER = re.compile(r"(?:^|[-_.])(\d+)$")


@dataclass(frozen=True)
class Checkpoint:
    """One checkpoint of a series on one task; the `_vs_previous` values are None for the first checkpoint."""

    step: int
    run: str
    accuracy: float
    accuracy_ci95: tuple[float, float] | None
    mean_tokens: float | None
    token_ratio: float | None
    token_ratio_ci95: tuple[float, float] | None
    accuracy_delta: float | None
    accuracy_delta_ci95: tuple[float, float] | None
    compressed_and_held: bool
    why: str


def step_from_name(name: str) -> int | None:
    """The training step a run's name holds (the last one it names), or None."""
    found = STEP_IN_NAME.findall(name)
    if found:
        return int(found[-1])
    trailing = TRAILING_NUMBER.search(name)
    return int(trailing.group(1)) if trailing else None


def run_step(run: Run, step: int | None = None) -> int:
    """The run's training step: `step` when given, else run.json's `step`, else its name's; a ConfigError when none."""
    if step is not None:
        return step
    recorded = run.info.config.get("step")
    if recorded is not None:
        if isinstance(recorded, bool) or not isinstance(recorded, int) or recorded < 0:
            raise ConfigError(f"{run.folder}: run.json records step {recorded!r}, not a training step; give step: for it")
        return recorded
    named = step_from_name(run.name)
    if named is None:
        raise ConfigError(
            f"{run.folder}: no training step in its run.json or its name (like ckpt-200 or step200); give step: for it"
        )
    return named


def checkpoint_series(
    runs: Sequence[Run],
    task: str,
    *,
    steps: Sequence[int | None] | None = None,
    max_drop: float = 0.02,
    confidence: float = 0.95,
) -> list[Checkpoint]:
    """The series on `task`, sorted by step; `steps` (one per run, None to find it) are the caller's steps."""
    if not runs:
        raise ConfigError("a checkpoint series needs at least one run")
    if steps is not None and len(steps) != len(runs):
        raise ValueError(f"{len(steps)} steps for {len(runs)} runs")
    if max_drop < 0:
        raise ValueError("max_drop is a fraction of accuracy the series may lose, at least 0")
    ordered = _ordered(runs, steps or [None] * len(runs), task)
    checkpoints, previous = [], None
    for step, run in ordered:
        samples = run.samples(task)
        if previous is None:
            checkpoints.append(_first(step, run, samples, confidence))
        else:
            before_run, before = previous
            comparison = _against(before_run, before, run, samples, task, confidence)
            checkpoints.append(_judged(step, run, comparison, max_drop, before_run.name))
        previous = (run, samples)
    return checkpoints


def _ordered(runs: Sequence[Run], steps: Sequence[int | None], task: str) -> list[tuple[int, Run]]:
    """(step, run) by step; two runs at one step, or a run without the task, is a ConfigError."""
    seen: dict[int, Run] = {}
    for run, given in zip(runs, steps, strict=True):
        if task not in run.tasks:
            raise ConfigError(f"{run.folder} has no task {task}; a series compares its checkpoints on one task")
        step = run_step(run, given)
        if step in seen:
            raise ConfigError(
                f"{seen[step].folder} and {run.folder} are both at step {step}; each checkpoint needs a step of its own"
            )
        seen[step] = run
    return sorted(seen.items(), key=lambda item: item[0])


def _first(step: int, run: Run, samples: TaskSamples, confidence: float) -> Checkpoint:
    side = summary(samples, confidence)
    why = "first checkpoint: no earlier one to compare with"
    return Checkpoint(step, run.name, side.accuracy, side.accuracy_ci95, side.mean_tokens, None, None, None, None, False, why)


def _against(
    before_run: Run, before: TaskSamples, run: Run, samples: TaskSamples, task: str, confidence: float
) -> TaskComparison:
    """The checkpoint against the one before it, paired over the same samples (refused over different ones)."""
    notes = check_comparable(before_run, run, task)
    if set(samples.ids) != set(before.ids):
        raise ConfigError(
            f"{task}: {run.name} has {len(samples.ids)} samples and {before_run.name} {len(before.ids)}, not the same "
            "ones; a series compares checkpoints over the same samples"
        )
    return compare_task(before, samples.aligned(before.ids), AESWeights(), confidence, tuple(notes))


def _judged(step: int, run: Run, c: TaskComparison, max_drop: float, before: str) -> Checkpoint:
    fell = c.token_ratio_ci95 is not None and c.token_ratio_ci95[1] < 1
    held = c.accuracy_delta_ci95 is not None and c.accuracy_delta_ci95[0] > -max_drop
    return Checkpoint(
        step=step,
        run=run.name,
        accuracy=c.run.accuracy,
        accuracy_ci95=c.run.accuracy_ci95,
        mean_tokens=c.run.mean_tokens,
        token_ratio=c.token_ratio,
        token_ratio_ci95=c.token_ratio_ci95,
        accuracy_delta=c.accuracy_delta,
        accuracy_delta_ci95=c.accuracy_delta_ci95,
        compressed_and_held=fell and held,
        why=_why(c, fell, held, max_drop, before),
    )


def _why(c: TaskComparison, fell: bool, held: bool, max_drop: float, before: str) -> str:
    if c.token_ratio is None or c.token_ratio_ci95 is None:
        return f"against {before}: token counts absent, so no token ratio"
    low, high = c.token_ratio_ci95
    tokens = f"tokens x{c.token_ratio:.3f} [{low:.3f}, {high:.3f}]"
    if c.accuracy_delta_ci95 is None:
        return f"against {before}: {tokens}; too few samples for an accuracy interval"
    low, high = c.accuracy_delta_ci95
    accuracy = f"accuracy {100 * c.accuracy_delta:+.1f} points [{100 * low:+.1f}, {100 * high:+.1f}]"
    if not fell:
        return f"against {before}: {tokens} did not fall beyond noise; {accuracy}"
    if not held:
        return f"against {before}: {tokens} fell, but {accuracy} may have lost more than {100 * max_drop:g} points"
    return f"against {before}: {tokens} fell while {accuracy} held within {100 * max_drop:g} points"
