"""A run's judge verdicts: `<task>.judge.jsonl` beside the task's samples, appended one whole line per verdict.

The samples file is never rewritten: a verdict is stored beside the rule verdict it adds to. A judge pass that is
killed keeps every verdict it finished (a cut last line is dropped on the next append), and the next pass asks only
about the completions whose verdict is missing.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from effbench.errors import StoreError
from effbench.store.folder import SampleAppender, whole_lines
from effbench.structured import load_json
from effbench.types import Judgement

REPLY_CHARS = 2000


def judgements_file(folder: Path, task: str) -> Path:
    return folder / f"{task}.judge.jsonl"


def read_judgements(folder: Path, task: str) -> dict[str, Judgement]:
    """The verdicts stored for a task, by key; an unterminated last line (a write cut short) is skipped."""
    path = judgements_file(folder, task)
    found = {}
    for number, line in whole_lines(path):
        try:
            judgement = Judgement(**load_json(line))
        except (ValueError, TypeError):
            raise StoreError(f"{path} line {number} is not a judge verdict of effbench's; delete the line") from None
        found[judgement.key] = judgement
    return found


def judgement_appender(folder: Path, task: str) -> SampleAppender:
    return SampleAppender(judgements_file(folder, task))


def as_line(judgement: Judgement) -> dict:
    return asdict(judgement) | {"reply": judgement.reply[:REPLY_CHARS]}
