"""`effbench rescore RUN`: grade a stored run again with the current grader and metrics, without the model.

The stored completions are replayed into a new run (`<run>-rescored` beside it, by default), which
`compare` and `gate` take like any other; every completion whose verdict changed is reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from effbench.backends import backend_module
from effbench.config import EvalConfig, known_reasoning_format
from effbench.errors import ConfigError
from effbench.run.evaluate import Outcome, evaluate
from effbench.store.runs import Run, open_run


class RescoreOptions(BaseModel):
    """`effbench rescore`'s keys; those left unset keep the stored run's settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = Field(None, description="the new run's folder name (default: RUN-rescored, beside RUN)")
    workers: int | None = Field(None, ge=1, description="grading worker processes (default: the run's)")
    grade_timeout: float | None = Field(None, gt=0, description="seconds before a stuck grading worker is killed (default: the run's)")
    reasoning: str | None = Field(None, description="grade with another reasoning format (default: the run's)")

    _known_format = field_validator("reasoning")(known_reasoning_format)


@dataclass(frozen=True)
class Change:
    task: str
    sample_id: str
    completion: int
    old_verdict: str
    new_verdict: str
    old_answer: str | None
    new_answer: str | None


def rescore(folder: Path, options: RescoreOptions = RescoreOptions(), *, progress=None) -> tuple[Outcome, list[Change], int]:
    """(the new run, the changed verdicts, how many completions were compared)."""
    run = open_run(folder)
    stored = run.info.get("config") or {}
    target = options.name or f"{run.name}-rescored"
    if (run.folder.parent / target).exists():
        raise ConfigError(f"{run.folder.parent / target} exists already; choose another name= or remove it")
    values: dict[str, Any] = {k: v for k, v in stored.items() if k in EvalConfig.model_fields}
    values.update(backend="replay", name=target, out=str(run.folder.parent),
                  tasks=tuple(run.info.get("identity", {}).get("tasks") or run.tasks))
    values.update(options.model_dump(exclude_none=True, exclude={"name"}))
    config = EvalConfig.model_validate(values)
    options = backend_module("replay").Options(replay_from=run.folder)
    outcome = evaluate(config, options, progress=progress)
    changes, compared = verdict_changes(run, open_run(outcome.folder), list(outcome.results["tasks"]))
    return outcome, changes, compared


def verdict_changes(old: Run, new: Run, tasks: list[str]) -> tuple[list[Change], int]:
    changes, compared = [], 0
    for task in tasks:
        before = {s.sample.id: s.grades for s in old.scored(task)}
        for scored in new.scored(task):
            for index, (was, now) in enumerate(zip(before.get(scored.sample.id, ()), scored.grades)):
                compared += 1
                if was.verdict != now.verdict:
                    changes.append(Change(task, scored.sample.id, index, was.verdict, now.verdict, was.answer, now.answer))
    return changes, compared
