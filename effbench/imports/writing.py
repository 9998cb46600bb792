"""An imported run's folder: each task's generations graded and stored in the task's order, then its records."""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from effbench import __version__
from effbench.backends.codec import Codec, with_token_position
from effbench.errors import StoreError
from effbench.grading.pool import GradingPool
from effbench.grading.scoring import Rules, score
from effbench.run.environment import environment
from effbench.run.evaluate import TaskPlan, collect_results, iso, now, task_info
from effbench.store.folder import RunStore
from effbench.store.lock import RunLock
from effbench.store.records import Identity, Results, RunRecord, TaskIdentity, read_run_record, write_record
from effbench.tasks.data import Dataset
from effbench.tasks.spec import TaskSpec
from effbench.types import Completion, Grade, Prompt, Sample, Sampling, Scored


@dataclass(frozen=True)
class Imported:
    """One sample's imported completions, with the prompt they answered."""

    sample: Sample
    prompt: Prompt
    completions: tuple[Completion, ...]


@dataclass
class ImportedTask:
    spec: TaskSpec
    dataset: Dataset
    items: list[Imported]
    sampling: Sampling
    template_sha256: str  # effbench's own where the prompt was effbench's, else one naming where it came from
    rules: Rules | None = None  # the task's, unless another reasoning format was given
    codec: Codec | None = None  # the tokenizer that counted the completions, to locate answers in their tokens


def counted(text: str, codec: Codec, rules: Rules, source: str = "retokenized") -> Completion:
    """A completion counted by the tokenizer (without special tokens added); its finish reason is unknown."""
    ids = codec.encode(text)
    return Completion(
        text=text,
        tokens=len(ids),
        finish_reason="unknown",
        token_ids=ids,
        reasoning_tokens=codec.reasoning_tokens(ids, text, rules.reasoning),
        token_count_source=source,
    )


def new_store(out: Path, name: str) -> RunStore:
    store = RunStore.open(out, name)
    if store.folder.exists():
        raise StoreError(f"{store.folder} exists already; choose another name= or remove it")
    return store


def write_run(
    store: RunStore, model: str, tasks: Sequence[ImportedTask], pool: GradingPool, record: dict[str, Any]
) -> tuple[Results, dict[str, dict[str, tuple[Grade, ...]]]]:
    """Grade and store every task, then results.json and run.json (`record` holds the run's config, backend and import);
    the results, and each task's grades by sample id."""
    started = time.time()
    plans, grades = [], {}
    with RunLock(store.folder):
        for task in tasks:
            plan, grades[task.spec.name] = _write_task(store, task, pool)
            plans.append(plan)
        results = collect_results(model, record["config"]["backend"], store, plans)
        write_record(store.results_file, results)
        identity = Identity(
            model=model,
            tasks={
                t.spec.name: TaskIdentity(
                    version=t.spec.version,
                    samples_sha256=t.dataset.fingerprint["samples_sha256"],
                    template_sha256=t.template_sha256,
                    sampling=vars(t.sampling),
                )
                for t in tasks
            },
        )
        sampling = [vars(t.sampling) for t in tasks]
        shared = {k: v for k, v in sampling[0].items() if all(s[k] == v for s in sampling)}  # so that rescore replays the same
        run = RunRecord.model_validate(
            {
                "effbench_version": __version__,
                "created": now(),
                "identity": identity,
                "tasks": {p.spec.name: task_info(p) for p in plans},
                "environment": environment(),
                "invocations": [{"started": iso(started), "finished": now(), "wall_s": round(time.time() - started, 3)}],
                "status": "complete",
                **record,
                "config": {**shared, **record["config"]},
            }
        )
        write_record(store.run_file, run)
    return results, grades


def add_to_import(store: RunStore, facts: dict[str, Any]) -> None:
    """Facts learnt after grading, added to run.json's `import`."""
    with RunLock(store.folder):
        run = read_run_record(store.run_file)
        write_record(store.run_file, run.model_copy(update={"imported": {**(run.imported or {}), **facts}}))


def _score(pool: GradingPool, completion: Completion, sample: Sample, rules: Rules) -> Future:
    return score(pool, completion, sample.gold, rules, sample.metadata, sample.question)


def _write_task(store: RunStore, task: ImportedTask, pool: GradingPool) -> tuple[TaskPlan, dict[str, tuple[Grade, ...]]]:
    order = {s.id: i for i, s in enumerate(task.dataset.samples)}
    items = sorted(task.items, key=lambda item: order[item.sample.id])
    rules = task.rules or task.spec.rules()
    pending = [(item, [_score(pool, c, item.sample, rules) for c in item.completions]) for item in items]
    grades = {}
    with store.appender(task.spec.name) as out:
        for item, futures in pending:
            graded = grades[item.sample.id] = tuple(
                with_token_position(f.result(), c, task.codec) for f, c in zip(futures, item.completions, strict=True)
            )
            out.append(Scored(item.sample, item.prompt, item.completions, graded).to_json())
    plan = TaskPlan(task.spec, task.dataset, task.sampling, (), {item.sample.id: item.sample for item in items}, rules)
    return plan, grades
