"""TensorBoard: scalars at the step, and the sample table as text, in `<out>/tensorboard/<series>` (runs sharing a
series write to one folder, so their steps make one curve)."""

from __future__ import annotations

from effbench.trackers import Logged


def log(entry: Logged) -> None:
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(log_dir=str(entry.folder / "tensorboard" / entry.series)) as writer:
        for tag, value in entry.metrics.items():
            writer.add_scalar(tag, value, global_step=entry.step)
        rows = ["| task | id | verdict | tokens | question |", "| --- | --- | --- | --- | --- |"]
        rows += [
            f"| {s['task']} | {s['id']} | {s['verdict']} | {s['tokens']} | {str(s['question'])[:200]} |" for s in entry.samples
        ]
        writer.add_text("samples", "\n".join(rows), global_step=entry.step)
