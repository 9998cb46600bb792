"""`effbench grade FILE`: grade any model outputs, from anywhere, with the same rules as an evaluation.

Input: JSON Lines with `gold` and `completion`, and optionally `task` (any effbench task, or the
families gsm8k, math, aime, gaokao; default: the general math rules) and `reasoning` (a reasoning
format). The gold may be given as the task's dataset gives it: GSM8K's worked solution ending in
`#### 72`, a MATH solution with its last `\\boxed{}`; it is read as the task reads its answer field.
Output: each line with `pred`, `correct` and `status` added.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from effbench.config import JudgeKeys, at_most_the_cores, known_reasoning_format
from effbench.errors import DataError, TaskError
from effbench.grading.judge_prompt import prompt_hash
from effbench.grading.pool import GradingPool
from effbench.grading.reasoning import ReasoningFormat, reasoning_format
from effbench.grading.scoring import Rules, score
from effbench.run.judging import Judge, judge_tasks
from effbench.structured import load_json
from effbench.tasks.data import narrow
from effbench.tasks.spec import TaskSpec, load_task, task_names
from effbench.types import Completion, Sample, Scored


class GradeOptions(JudgeKeys):
    """`effbench grade`'s keys."""

    task: str | None = Field(None, description="task whose rules grade every line without its own task (any effbench task)")
    reasoning: str | None = Field(None, description="reasoning format of the completions (default: the task's, think)")
    out: Path | None = Field(None, description="file to write the graded lines to (default: standard output)")
    workers: int = Field(2, ge=1, description="grading worker processes (at most the cores this process may use)")

    _workers = field_validator("workers")(at_most_the_cores)
    timeout: float = Field(10.0, gt=0, description="seconds before a stuck grading worker is killed")

    _known_format = field_validator("reasoning")(known_reasoning_format)


ALIASES = {"aime": "aime24", "gaokao": "gaokao2023en"}
STATUS = {"correct": "graded", "wrong": "graded"}
OPTIONAL_TEXT = ("task", "reasoning")


def read_outputs(path: Path) -> list[dict[str, Any]]:
    """Every line, checked before anything is graded: a bad line stops the run with its line number.

    Lines end at `\\n` only: a completion may hold U+2028 or U+0085, which JSON allows unescaped."""
    try:
        raw_lines = path.read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path} cannot be read ({type(exc).__name__}); give a UTF-8 JSON Lines file") from None
    rows = []
    for number, line in enumerate(raw_lines, 1):
        if not line.strip():
            continue
        try:
            row = load_json(line)
        except json.JSONDecodeError:
            raise DataError(f"{path} line {number} is not valid JSON") from None
        if not isinstance(row, dict) or not all(isinstance(row.get(k), str) for k in ("gold", "completion")):
            raise DataError(f"{path} line {number} needs string fields gold and completion")
        wrong = [k for k in OPTIONAL_TEXT if k in row and not isinstance(row[k], str)]
        if wrong:
            raise DataError(f'{path} line {number}: {wrong[0]} must be a string, such as "gsm8k"')
        rows.append(row)
    return rows


@cache  # one YAML parse per task, not one per input line
def task_for(task: str | None) -> TaskSpec | None:
    if task is None:
        return None
    try:
        return load_task(ALIASES.get(task, task))
    except TaskError:
        raise DataError(
            f"unknown task {task!r} in the input; use one of {', '.join(task_names())}, or gsm8k, math, aime, gaokao"
        ) from None


@cache
def rules_for(task: str | None, reasoning: str | None) -> Rules:
    spec = task_for(task)
    rules = spec.rules() if spec else Rules()
    if reasoning is None:
        return rules
    try:
        return replace(rules, reasoning=reasoning_format(reasoning))
    except ValueError as exc:
        raise DataError(str(exc)) from None


def gold_as_task_reads_it(spec: TaskSpec | None, gold: str) -> str:
    """The gold narrowed as the task narrows its answer field (`#### 72` -> `72`); as given when that finds nothing."""
    if spec is None:
        return gold
    return narrow(spec.fields.answer, gold.strip()) or gold


def grade_outputs(
    rows: list[dict[str, Any]],
    *,
    task: str | None,
    workers: int,
    timeout: float,
    reasoning: str | None = None,
    judge: Judge | None = None,
    judge_file: Path | None = None,
) -> Iterator[dict[str, Any]]:
    """Each row with `pred`, `correct`, `status` and `rule`, in input order. With a judge, the rows the rules could
    not settle are put to it, and each row gets `judge` (its verdict, model and prompt hash, where it was asked) and
    `correct_with_judge`; the verdicts are kept in `judge_file` (`<name>.judge.jsonl`), so none is asked twice."""
    scored: list[tuple[Scored, ReasoningFormat]] = []
    with GradingPool(workers, timeout) as pool:
        futures = []
        for row in rows:
            name = row.get("task") or task
            rules = rules_for(name, row.get("reasoning") or reasoning)
            gold = gold_as_task_reads_it(task_for(name), row["gold"])
            completion = Completion(text=row["completion"], tokens=None, finish_reason="unknown", token_count_source="none")
            futures.append(score(pool, completion, gold, rules, row.get("metadata"), row.get("question") or ""))
            sample = Sample(str(len(scored)), row.get("question") or "", gold)
            scored.append((Scored(sample, "", (completion,), ()), rules.reasoning))
        graded = [replace(item, grades=(future.result(),)) for (item, _), future in zip(scored, futures, strict=True)]
    verdicts = _judged(judge, judge_file, graded, [r for _, r in scored]) if judge and judge_file else None
    for row, item in zip(rows, graded, strict=True):
        grade = item.grades[0]
        judged = {}
        if verdicts is not None and judge is not None:
            verdict = verdicts.get(item.sample.id)
            judged = {
                "judge": verdict and {"verdict": verdict, "model": judge.model, "prompt": prompt_hash()},
                "correct_with_judge": grade.correct or verdict == "correct",
            }
        status = STATUS.get(grade.verdict, grade.verdict)
        yield {**row, "pred": grade.answer, "correct": grade.correct, "status": status, "rule": grade.rule, **judged}


def _judged(judge: Judge, file: Path, graded: list[Scored], formats: list[ReasoningFormat]) -> dict[str, str]:
    """The judge's verdict on each unsettled line, by line id: stored ones read back, the others asked."""
    name = file.name.removesuffix(".judge.jsonl")
    verdicts: dict[str, str] = {}
    for reasoning in set(formats):
        mine = [item for item, fmt in zip(graded, formats, strict=True) if fmt == reasoning]
        found = judge_tasks(judge, file.parent, {name: (mine, reasoning)})[name]
        verdicts.update({sample_id: verdict for (sample_id, _), verdict in found.items()})
    return verdicts


def summary(graded: list[dict[str, Any]]) -> str:
    """Counts by status, by the rule that found each answer (the fallback's apart), and by rules + judge where judged."""
    counts = Counter(row["status"] for row in graded)
    correct = sum(row["correct"] for row in graded)
    share = f"{100 * correct / len(graded):.1f}%" if graded else "-"
    parts = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    rules = Counter(row["rule"] for row in graded if row["status"] == "graded")
    said = f"graded {len(graded)} lines: {correct} correct ({share}); {parts}"
    said += f"\nanswers by rule: {', '.join(f'{k} {v}' for k, v in sorted(rules.items())) or 'none'}"
    said += f"; found only by the last-number fallback: {rules['last_number']}"
    if graded and "correct_with_judge" in graded[0]:
        judged = Counter(row["judge"]["verdict"] for row in graded if row["judge"])
        with_judge = sum(row["correct_with_judge"] for row in graded)
        said += (
            f"\njudge: asked about {sum(judged.values())} lines ({', '.join(f'{k} {v}' for k, v in sorted(judged.items()))});"
            f" correct by rules {correct}, by rules + judge {with_judge} ({100 * with_judge / len(graded):.1f}%)"
        )
    return said
