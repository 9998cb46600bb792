"""`effbench rescore RUN`: grade a stored run again with the current grader and metrics, without the model.

The stored completions are replayed into a new run (`<run>-rescored` beside it, by default), which
`compare` and `gate` take like any other; every completion whose verdict changed is reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from effbench.backends import backend_module
from effbench.config import EvalConfig, JudgeKeys, build, known_reasoning_format, plain_run_name
from effbench.errors import ConfigError
from effbench.run.evaluate import Outcome, evaluate
from effbench.store.folder import RunStore
from effbench.store.records import read_run_record
from effbench.store.runs import Run, open_run
from effbench.tasks.spec import load_task


class RescoreOptions(JudgeKeys):
    """`effbench rescore`'s keys; those left unset keep the stored run's settings."""

    name: str | None = Field(None, description="the new run's folder name (default: RUN-rescored, beside RUN)")
    workers: int | None = Field(None, ge=1, description="grading worker processes (default: the run's)")
    grade_timeout: float | None = Field(
        None, gt=0, description="seconds before a stuck grading worker is killed (default: the run's)"
    )
    reasoning: str | None = Field(None, description="grade with another reasoning format (default: the run's)")
    tokenizer: str | None = Field(
        None, description="the run's tokenizer (path or hub name), where the model it names cannot be loaded here"
    )

    _known_format = field_validator("reasoning")(known_reasoning_format)
    _plain_name = field_validator("name")(plain_run_name)


@dataclass(frozen=True)
class Change:
    task: str
    sample_id: str
    completion: int
    old_verdict: str
    new_verdict: str
    old_answer: str | None
    new_answer: str | None


def rescore(folder: Path, options: RescoreOptions | None = None, *, progress=None) -> tuple[Outcome, list[Change], int]:
    """(the new run, the changed verdicts, how many completions were compared)."""
    options = options or RescoreOptions()
    run = open_run(folder)
    target = options.name or f"{run.name}-rescored"
    _check_target(run, run.folder.parent / target)
    values: dict[str, Any] = {k: v for k, v in run.info.config.items() if k in EvalConfig.model_fields}
    values.update(backend="replay", name=target, out=str(run.folder.parent), tasks=stored_tasks(run))
    if run.info.imported is not None:  # an import holds the problems its file held, not the task's first N
        values["sample_ids"] = {task: tuple(s.sample.id for s in run.scored(task)) for task in run.tasks}
    if options.judge or options.judge_base_url or options.judge_model:  # a judge named here replaces the run's
        for key in ("judge", "judge_base_url", "judge_model"):
            values.pop(key, None)
    values.update(options.model_dump(exclude_none=True, exclude={"name", "tokenizer"}))
    config = build(EvalConfig, values, what=f"the stored config of {run.folder}")
    replay = backend_module("replay").Options(replay_from=run.folder, tokenizer=options.tokenizer)
    outcome = evaluate(config, replay, progress=progress)
    changes, compared = verdict_changes(run, open_run(outcome.folder), list(outcome.results.tasks))
    return outcome, changes, compared


def stored_tasks(run: Run) -> tuple[str, ...]:
    """The run's tasks as its commands named them (a registry name, or a task file of the user's), then any other
    task it holds by name."""
    named = [task for task in run.info.config.get("tasks") or [] if isinstance(task, str)]
    covered = {load_task(task).name for task in named}
    return (*named, *(task for task in (run.info.identity.tasks or run.tasks) if task not in covered))


def _check_target(run: Run, folder: Path) -> None:
    """A folder of the same name is resumed when it is an unfinished rescore of this run (one that was interrupted);
    a finished run is never overwritten."""
    if not (folder / "run.json").exists() and not RunStore(folder).has_samples():
        return  # new, or killed before it wrote anything
    if (folder / "results.json").exists():
        raise ConfigError(f"{folder} is a finished run already; choose another name= or remove it")
    source = read_run_record(folder / "run.json").backend_options if (folder / "run.json").exists() else {}
    if Path(str(source.get("replay_from"))).resolve() != run.folder.resolve():
        raise ConfigError(f"{folder} exists already and is not a rescore of {run.folder}; choose another name= or remove it")


def verdict_changes(old: Run, new: Run, tasks: list[str]) -> tuple[list[Change], int]:
    changes, compared = [], 0
    for task in tasks:
        before = {s.sample.id: s.grades for s in old.scored(task)}
        for scored in new.scored(task):
            for index, (was, now) in enumerate(zip(before.get(scored.sample.id, ()), scored.grades, strict=False)):
                compared += 1
                if was.verdict != now.verdict:
                    changes.append(Change(task, scored.sample.id, index, was.verdict, now.verdict, was.answer, now.answer))
    return changes, compared
