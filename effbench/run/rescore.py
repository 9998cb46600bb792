"""`effbench rescore RUN`: grade a stored run again with the current grader and metrics, without the model.

The stored completions are replayed into a new run (`<run>-rescored` beside it, by default), which
`compare` and `gate` take like any other; every completion whose verdict changed is reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from effbench.backends import backend_module
from effbench.config import EvalConfig
from effbench.errors import ConfigError
from effbench.run.evaluate import Outcome, evaluate
from effbench.store.runs import Run, open_run


@dataclass(frozen=True)
class Change:
    task: str
    sample_id: str
    completion: int
    old_verdict: str
    new_verdict: str
    old_answer: str | None
    new_answer: str | None


def rescore(folder: Path, *, name: str | None = None, workers: int | None = None, timeout: float | None = None,
            progress=None) -> tuple[Outcome, list[Change], int]:
    """(the new run, the changed verdicts, how many completions were compared)."""
    run = open_run(folder)
    stored = run.info.get("config") or {}
    target = name or f"{run.name}-rescored"
    if (run.folder.parent / target).exists():
        raise ConfigError(f"{run.folder.parent / target} exists already; choose another name= or remove it")
    values: dict[str, Any] = {k: v for k, v in stored.items() if k in EvalConfig.model_fields}
    values.update(backend="replay", name=target, out=str(run.folder.parent),
                  tasks=tuple(run.info.get("identity", {}).get("tasks") or run.tasks))
    if workers is not None:
        values["workers"] = workers
    if timeout is not None:
        values["grade_timeout"] = timeout
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
