"""What a run folder holds already, checked line by line before a command resumes it; and what it holds beyond a
command's tasks and samples.

Every stored line must be a sample of the task: a line with an id the task does not have, or with another
question under a known id (a line of another task or run appended by hand), stops the command with its line
number, rather than being left out of the results in silence.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from effbench.errors import StoreError
from effbench.store.folder import RunStore, whole_lines
from effbench.structured import load_json
from effbench.types import Sample

if TYPE_CHECKING:
    from effbench.run.evaluate import TaskPlan


def stored_ids(store: RunStore, task: str, known: Mapping[str, Sample]) -> set[str]:
    """The ids of the task's stored samples; refused with its line number where a line is not one of `known`."""
    path = store.samples_file(task)  # a folder in its place is opened, and refused as one
    found = set()
    for number, line in whole_lines(path):
        try:
            record = load_json(line)
            sample_id, question = str(record["id"]), record["question"]
        except (ValueError, KeyError, TypeError):
            raise StoreError(f"{path} line {number} is corrupt (not a sample of effbench's); delete the line") from None
        sample = known.get(sample_id)
        if sample is None or sample.question != question:
            what = "an id" if sample is None else "a question"
            raise StoreError(
                f"{path} line {number} holds {what} that {task} does not have (sample {sample_id!r}): a line of another "
                "task or run; delete the line, or choose another name="
            )
        found.add(sample_id)
    return found


def stored_beyond(store: RunStore, plans: list[TaskPlan]) -> str | None:
    """What the folder holds beyond the plans' tasks and samples, in words; None where they cover it all."""
    planned = {plan.spec.name for plan in plans}
    for path in sorted(store.folder.glob("*.samples.jsonl")):
        if (task := path.name.removesuffix(".samples.jsonl")) not in planned:
            return f"samples of {task}"
    extra = next((plan for plan in plans if plan.stored_beyond), None)
    return f"{extra.stored_beyond} more samples of {extra.spec.name}" if extra else None
