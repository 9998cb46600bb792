"""`effbench grade FILE`: grade any model outputs, from anywhere, with the same rules as an evaluation.

Input: JSON Lines with `gold` and `completion` (and optionally `task`: a task name, or gsm8k,
math, aime, gaokao; default: the general math grader). Output: each line with `pred`, `correct`
and `status` added.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from effbench.errors import DataError, TaskError
from effbench.grading.pool import GradingPool
from effbench.grading.scoring import score
from effbench.tasks.spec import load_task
from effbench.types import Completion

ALIASES = {"aime": "aime24", "gaokao": "gaokao2023en"}
DEFAULT_RULES = ("math", "math")  # (extractor, grader)
STATUS = {"correct": "graded", "wrong": "graded"}


def read_outputs(path: Path) -> list[dict[str, Any]]:
    """Every line, checked before anything is graded: a bad line stops the run with its line number."""
    try:
        raw_lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path} cannot be read ({type(exc).__name__})") from None
    rows = []
    for number, line in enumerate(raw_lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise DataError(f"{path} line {number} is not valid JSON") from None
        if not isinstance(row, dict) or not all(isinstance(row.get(k), str) for k in ("gold", "completion")):
            raise DataError(f"{path} line {number} needs string fields gold and completion")
        rows.append(row)
    return rows


@lru_cache(maxsize=None)  # one YAML parse per task, not one per input line
def rules_for(task: str | None) -> tuple[str, str]:
    if task is None:
        return DEFAULT_RULES
    try:
        spec = load_task(ALIASES.get(task, task))
    except TaskError:
        raise DataError(f"unknown task {task!r} in the input; use a task name, or gsm8k, math, aime, gaokao") from None
    return spec.extractor, spec.grader


def grade_outputs(rows: list[dict[str, Any]], *, task: str | None, workers: int, timeout: float) -> Iterator[dict[str, Any]]:
    """Each row with `pred`, `correct` and `status`, in input order."""
    with GradingPool(workers, timeout) as pool:
        futures = []
        for row in rows:
            extractor, grader = rules_for(row.get("task") or task)
            completion = Completion(text=row["completion"], tokens=0, finish_reason="unknown", token_count_source="none")
            futures.append(score(pool, completion, row["gold"], extractor=extractor, grader=grader))
        for row, future in zip(rows, futures, strict=True):
            grade = future.result()
            yield {**row, "pred": grade.answer, "correct": grade.correct, "status": STATUS.get(grade.verdict, grade.verdict),
                   "rule": grade.rule}


def summary(graded: list[dict[str, Any]]) -> str:
    counts = Counter(row["status"] for row in graded)
    correct = sum(row["correct"] for row in graded)
    share = f"{100 * correct / len(graded):.1f}%" if graded else "-"
    parts = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    return f"graded {len(graded)} lines: {correct} correct ({share}); {parts}"
