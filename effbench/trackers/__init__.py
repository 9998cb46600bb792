"""A run's results logged to the trackers people log their training to (`log_to=wandb,mlflow,tensorboard`).

Per task: the accuracy with its 95% interval, mean and p90 tokens and the truncation rate (and, against a
`log_baseline=` run, AES and compression), at the run's step (the checkpoint's `step=`, or a sweep's budget); the run's
config as the tracker's parameters; and a sample table
(question, completion, verdict, tokens) where the tracker keeps tables. Runs that share a `log_name=` are one series
in the tracker, a point per step. Each tracker is an optional extra (`effbench[wandb]`, …), imported only when asked.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from effbench.errors import ConfigError
from effbench.store.runs import Run

TRACKERS = ("wandb", "mlflow", "tensorboard")
SAMPLES_LOGGED = 50  # rows of the sample table, per task


@dataclass(frozen=True)
class Logged:
    """What one run gives a tracker."""

    series: str  # the tracker's run: runs sharing it are one series
    step: int
    params: dict[str, Any]
    metrics: dict[str, float]  # "gsm8k/accuracy": 0.62
    samples: list[dict[str, Any]]  # task, id, question, completion, verdict, tokens
    folder: Path  # where a tracker that writes files beside the runs writes them


def logged(run: Run, series: str, step: int, out: Path, baseline: Run | None = None) -> Logged:
    """The run's figures, config and first samples of each task, at `step` of `series`; with a baseline, each task's
    AES and compression against it too."""
    metrics = _against(baseline, run) if baseline is not None else {}
    samples: list[dict[str, Any]] = []
    for task, entry in run.results.tasks.items():
        m = entry.metrics
        figures = {
            "accuracy": m.accuracy,
            "accuracy_ci_low": m.accuracy_ci95[0] if m.accuracy_ci95 else None,
            "accuracy_ci_high": m.accuracy_ci95[1] if m.accuracy_ci95 else None,
            "mean_tokens": m.tokens.mean if m.tokens else None,
            "p90_tokens": m.tokens.p90 if m.tokens else None,
            "truncation_rate": m.truncation_rate,
        }
        metrics |= {f"{task}/{key}": float(value) for key, value in figures.items() if value is not None}
        for scored in islice(run.scored(task), SAMPLES_LOGGED):
            completion, grade = scored.completions[0], scored.grades[0]
            samples.append({"task": task, "id": scored.sample.id, "question": scored.sample.question,
                            "completion": completion.text, "verdict": grade.verdict, "tokens": completion.tokens})  # fmt: skip
    params = {key: value for key, value in (run.info.config or {}).items() if value not in (None, [], {}, ())}
    return Logged(series, step, params, metrics, samples, out)


def _against(baseline: Run, run: Run) -> dict[str, float]:
    from effbench.analysis.compare import compare_runs

    tasks = compare_runs(baseline, [run]).runs[run.name].tasks
    figures = {f"{task}/{key}": getattr(t, key) for task, t in tasks.items() for key in ("aes", "compression")}
    return {key: float(value) for key, value in figures.items() if value is not None}


def log(trackers: Sequence[str], entry: Logged) -> None:
    """Log to each tracker named; one line saying how to install a tracker that is not installed."""
    for name in trackers:
        if name not in TRACKERS:
            raise ConfigError(f"log_to={name} is not one of {', '.join(TRACKERS)}")
        module = importlib.import_module(f"effbench.trackers.{name}_log")
        try:
            module.log(entry)
        except ImportError as exc:
            raise ConfigError(
                f"log_to={name} needs {exc.name or name}: pip install 'effbench[{name}]'; the run itself is stored"
            ) from None
        except Exception as exc:  # the tracker's own refusal (its store, its credentials): one line, the run kept
            said = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            raise ConfigError(f"log_to={name} failed: {said}; the run itself is stored") from None
