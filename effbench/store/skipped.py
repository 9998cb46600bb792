"""A task's samples that could not be generated, and why: `<task>.skipped.jsonl`, one whole line each.

A prompt longer than the model's context is one: it is recorded once, counted as excluded in the results with its
reason, and not tried again when the run resumes (delete the file to try again, with a longer context).
"""

from __future__ import annotations

from pathlib import Path

from effbench.errors import StoreError
from effbench.store.folder import SampleAppender, whole_lines
from effbench.structured import load_json


def skipped_file(folder: Path, task: str) -> Path:
    return folder / f"{task}.skipped.jsonl"


def read_skipped(folder: Path, task: str) -> dict[str, str]:
    """Each skipped sample's id and reason; an unterminated last line (a write cut short) is left out."""
    path = skipped_file(folder, task)
    found = {}
    for number, line in whole_lines(path):
        try:
            record = load_json(line)
            found[str(record["id"])] = str(record["reason"])
        except (ValueError, KeyError, TypeError):
            raise StoreError(f"{path} line {number} is not a skipped sample of effbench's; delete the line") from None
    return found


def skipped_appender(folder: Path, task: str) -> SampleAppender:
    return SampleAppender(skipped_file(folder, task))
