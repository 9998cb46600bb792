"""Weights & Biases: a run per series (its id from the series' name, resumed), metrics at the step, a sample table.
Project and mode from the environment (WANDB_PROJECT, default effbench; WANDB_MODE=offline writes locally)."""

from __future__ import annotations

import hashlib
import os

from effbench.trackers import Logged


def log(entry: Logged) -> None:
    import wandb

    run = wandb.init(
        project=os.environ.get("WANDB_PROJECT", "effbench"),
        id=hashlib.sha256(entry.series.encode()).hexdigest()[:16],
        name=entry.series,
        resume="allow",
        config=entry.params,
        dir=str(entry.folder),
    )
    try:
        columns = ["task", "id", "question", "completion", "verdict", "tokens"]
        table = wandb.Table(columns=list[str | int](columns), data=[[s[c] for c in columns] for s in entry.samples])
        run.log({**entry.metrics, "samples": table}, step=entry.step)
    finally:
        run.finish()
