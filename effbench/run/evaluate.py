"""Run an evaluation: plan every task, generate what is missing, grade as samples finish, store, measure."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from effbench import __version__
from effbench.analysis.cost import Pricing
from effbench.analysis.metrics import Judged, task_metrics
from effbench.backends import Backend, backend_module
from effbench.config import EvalConfig
from effbench.errors import ConfigError, EffbenchError, StoreError
from effbench.grading.judge_prompt import prompt_hash
from effbench.grading.pool import GradingPool
from effbench.grading.scoring import Rules
from effbench.run.environment import environment
from effbench.run.generation import Progress, generate_missing
from effbench.run.judging import Judge, judge_tasks
from effbench.run.parameters import model_parameters
from effbench.run.resume import stored_beyond, stored_ids
from effbench.store.folder import RunStore
from effbench.store.lock import RunLock
from effbench.store.records import Identity, Results, RunRecord, TaskIdentity, TaskInfo, TaskResult, read_run_record, write_record
from effbench.store.skipped import read_skipped
from effbench.tasks.data import Dataset, load_dataset
from effbench.tasks.methods import Method, apply_method, check_method, find_method, forcing
from effbench.tasks.prompts import render
from effbench.tasks.spec import TaskSpec, load_task
from effbench.types import Request, Sample, Sampling, Scored

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What `evaluate` gives back: results.json's content, this invocation's timings (per task, and of the generation
    as a whole with each engine's share), the run folder."""

    results: Results
    timings: dict[str, Any]
    folder: Path
    generation: dict[str, Any] | None = None


@dataclass(frozen=True)
class TaskPlan:
    spec: TaskSpec
    dataset: Dataset
    sampling: Sampling
    todo: tuple[Request, ...]
    samples: dict[str, Sample]
    rules: Rules
    method: dict[str, Any] | None = None  # the method as applied to this task's prompts
    stored_beyond: int = 0  # samples the folder holds of the task that this command did not ask for (a larger limit=)


def resolve_sampling(config: EvalConfig, spec: TaskSpec) -> Sampling:
    g = spec.generation
    sampling = Sampling(
        n=config.n,
        temperature=g.temperature if config.temperature is None else config.temperature,
        top_p=g.top_p if config.top_p is None else config.top_p,
        top_k=g.top_k if config.top_k is None else config.top_k,
        max_tokens=g.max_tokens if config.max_tokens is None else config.max_tokens,
    )
    if sampling.n > 1 and sampling.temperature == 0:
        raise ConfigError(
            f"n={sampling.n} needs sampling, but {spec.name} decodes greedily by default: set temperature (e.g. 0.6)"
        )
    return sampling


def sample_seed(seed: int, task: str, sample_id: str) -> int:
    digest = hashlib.sha256(f"{seed}\0{task}\0{sample_id}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def plan_tasks(config: EvalConfig, store: RunStore) -> list[TaskPlan]:
    specs = [load_task(name) for name in config.tasks]
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ConfigError(f"a task is named twice in tasks={','.join(config.tasks)}")
    plans = []
    for spec in specs:
        every = load_dataset(spec, root=config.data_dir)
        dataset = replace(every, samples=every.samples[: config.limit]) if config.limit else every
        chosen = set((config.sample_ids or {}).get(spec.name, ())) or None
        samples = [s for s in dataset.samples if chosen is None or s.id in chosen]
        sampling = resolve_sampling(config, spec)
        rules = spec.rules(config.reasoning)
        stored = stored_ids(store, spec.name, {s.id: s for s in every.samples})
        done = stored | read_skipped(store.folder, spec.name).keys()
        method = find_method(config.method, config.prompt_budget)
        if method is not None:
            check_method(method, prompt=config.prompt, reasoning=rules.reasoning, budget=config.prompt_budget)
        todo = tuple(_request(config, spec, s, sampling, rules, method) for s in samples if s.id not in done)
        applied = method.describe(rules.reasoning, config.prompt_budget) if method else None
        chosen_samples = {s.id: s for s in samples}
        beyond = len(stored - chosen_samples.keys())
        plans.append(TaskPlan(spec, dataset, sampling, todo, chosen_samples, rules, applied, beyond))
    return plans


def _request(
    config: EvalConfig, spec: TaskSpec, sample: Sample, sampling: Sampling, rules: Rules, method: Method | None
) -> Request:
    prompt = render(spec, sample, mode=config.prompt, system=config.system)
    return Request(
        spec.name,
        sample.id,
        apply_method(method, prompt, config.prompt_budget) if method else prompt,
        sampling,
        sample_seed(config.seed, spec.name, sample.id),
        reasoning=rules.reasoning,
        prefill=(method.prefill_text(rules.reasoning) if method else None) or "",
    )


def identity(config: EvalConfig, options: BaseModel, plans: list[TaskPlan]) -> Identity:
    """What must match for a stored run to be resumed: anything that changes what is generated or graded."""
    backend_keys = {k: v for k, v in options.model_dump(mode="json").items() if k in {"revision", "dtype", "extra_body"}}
    return Identity(
        model=config.model,
        **backend_keys,
        prompt=config.prompt,
        system=config.system,
        enable_thinking=config.enable_thinking,
        reasoning_effort=config.reasoning_effort,
        method=config.method,
        prompt_budget=config.prompt_budget,
        reasoning=config.reasoning,
        seed=config.seed,
        force={"cue": config.force_cue, "tokens": config.force_tokens} if forcing(config) else None,
        tasks={
            p.spec.name: TaskIdentity(
                version=p.spec.version,
                template_sha256=p.spec.template_hash(),
                samples_sha256=p.dataset.fingerprint["samples_sha256"],
                sampling=vars(p.sampling),
            )
            for p in plans
        },
    )


def _check_resumable(store: RunStore, wanted: Identity, backend: str, source: Path | None) -> RunRecord | None:
    """The stored run.json when the run may be resumed with `wanted` by `backend`; None for a new run. Samples without
    the run.json that says what made them are never resumed: their identity would be a guess. A run keeps the backend
    that made it, and is never replayed onto itself (`source`: the folder a replay reads)."""
    if source is not None and source.resolve() == store.folder.resolve():
        raise StoreError(f"{store.folder} cannot be replayed onto itself; give the new run another name=")
    if not store.run_file.exists():
        if store.has_samples():
            raise StoreError(
                f"{store.folder} holds samples but no run.json, the record of what made them, so it cannot "
                "be resumed; choose another name= or delete that folder"
            )
        return None
    stored = read_run_record(store.run_file)
    if store.has_samples() and (made_by := stored.config.get("backend")) not in (None, backend):
        raise StoreError(
            f"{store.folder} was made by backend={made_by}; a run keeps the backend that made it: choose another name="
        )
    old = stored.identity
    for key in Identity.model_fields:
        if key == "tasks":
            for task, info in wanted.tasks.items():
                if task in old.tasks and old.tasks[task] != info:
                    differs = next(k for k in TaskIdentity.model_fields if getattr(old.tasks[task], k) != getattr(info, k))
                    raise StoreError(
                        f"{store.folder} holds {task} made with another {differs}; choose another name= or delete that folder"
                    )
        elif getattr(old, key) != getattr(wanted, key):
            raise StoreError(
                f"{store.folder} was made with {key}={getattr(old, key)!r}, this command has "
                f"{getattr(wanted, key)!r}; choose another name= or delete that folder"
            )
    return stored


def open_backend(config: EvalConfig, options: BaseModel) -> Backend:
    """The configured backend, wrapped in budget forcing when `force=true`."""
    from effbench.backends.forcing import ForcingBackend, require_continuation

    if forcing(config):
        require_continuation(config.backend)
    backend = backend_module(config.backend).create(config, options)
    if forcing(config):
        return ForcingBackend(backend, backend, cue=config.force_cue, answer_tokens=config.force_tokens)
    return backend


def evaluate(
    config: EvalConfig, options: BaseModel, *, progress: Progress | None = None, backend: Backend | None = None
) -> Outcome:
    """Evaluate, resuming whatever the run folder already holds.

    The backend is opened here when samples are missing, unless the caller gives one (and closes it). The run
    folder has one writer: another effbench on it is refused (`RunLock`)."""
    store = RunStore.open(config.out, config.run_name)
    with RunLock(store.folder):
        return _evaluate(store, config, options, progress, backend)


def _evaluate(
    store: RunStore, config: EvalConfig, options: BaseModel, progress: Progress | None, backend: Backend | None
) -> Outcome:
    plans = plan_tasks(config, store)
    wanted = identity(config, options, plans)
    stored = _check_resumable(store, wanted, config.backend, replayed_from(config, options))
    record = _run_record(config, options, plans, wanted, stored)
    started, generation = time.time(), None
    timings: dict[str, Any] = {}
    owned, backend_start_s, todo = backend is None, None, any(p.todo for p in plans)
    with GradingPool(config.workers, config.grade_timeout) as pool:
        if todo:
            pool.start()  # the grading workers load beside the engine, not during generation
        if todo and backend is None:
            opening = time.time()
            backend = open_backend(config, options)  # before anything is written: a model that will not load leaves no run
            backend_start_s = round(time.time() - opening, 3)
        try:
            if todo and backend is not None:
                record = record.model_copy(update={"backend": (described := backend.describe())})
                write_record(store.run_file, record)
                replayed = described.get("engine") == "replay" and "budget_forcing" not in described  # rescore, a derived budget
                try:
                    timings, generation = generate_missing(plans, backend, pool, store, config, progress, replayed=replayed)
                    record = record.model_copy(update={"backend": backend.describe()})  # and what it learned generating
                finally:
                    if owned:
                        backend.close()
            results, narrower = _finish(store, config, options, plans, record, timings, generation)
            if narrower and stored is not None:  # the run's record stays what the commands that made it said
                record = record.model_copy(update={"config": stored.config, "status": stored.status})
            else:
                record = record.model_copy(update={"status": "complete"})
            return Outcome(results, timings, store.folder, generation)
        except BaseException as exc:
            record = record.model_copy(update={"status": "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"})
            raise
        finally:
            invocation = {
                "started": iso(started),
                "finished": now(),
                "wall_s": round(time.time() - started, 3),
                "backend_start_s": backend_start_s,
                "tasks": timings,
                **({"generation": generation} if generation else {}),
            }
            write_record(store.run_file, record.model_copy(update={"invocations": [*record.invocations, invocation]}))


def _finish(
    store: RunStore,
    config: EvalConfig,
    options: BaseModel,
    plans: list[TaskPlan],
    record: RunRecord,
    timings: dict[str, Any],
    generation: dict[str, Any] | None,
) -> tuple[Results, bool]:
    """The judge on what the rules could not settle (where one is named), then the results of this command's tasks and
    samples: (results, narrower). results.json is written only where they are every sample the folder holds; a
    narrower command (fewer tasks, a smaller limit=) leaves it describing them all, and says so."""
    judge, judged = Judge.of(config), None
    if judge is not None:
        readings = {plan.spec.name: (stored_samples(store, plan), plan.rules.reasoning) for plan in plans}
        verdicts = judge_tasks(judge, store.folder, readings, replayed_from(config, options))
        judged = {task: Judged(judge.model, prompt_hash(), found) for task, found in verdicts.items()}
    parameters = model_parameters(config.model, config.parameters, record.identity.revision)
    results = collect_results(config.model, config.backend, store, plans, parameters, judged)
    now_made = {"tasks": timings, **({"generation": generation} if generation else {})}
    pricing = Pricing.of(config.prices, config.price_model, config.gpu_hour_usd)
    results = priced(results, pricing, store, plans, [*record.invocations, now_made])
    beyond = stored_beyond(store, plans)
    if beyond is None:
        write_record(store.results_file, results)
    else:
        kept = "still describes them all" if store.results_file.exists() else "is written by a command that covers them"
        log.info(f"{store.folder} holds {beyond} beyond what this command asked for: results.json {kept}; the figures "
                 "printed are of this command's tasks and samples")  # fmt: skip
    return results, beyond is not None


def replayed_from(config: EvalConfig, options: BaseModel) -> Path | None:
    """The run folder a replay reads (a rescore, a derived budget); None for any other backend."""
    source = getattr(options, "replay_from", None) if config.backend == "replay" else None
    return Path(source) if source else None


def _run_record(
    config: EvalConfig, options: BaseModel, plans: list[TaskPlan], wanted: Identity, stored: RunRecord | None
) -> RunRecord:
    """run.json for this invocation, keeping what earlier invocations of the run recorded (and the tasks they added)."""
    identity_tasks = {**(stored.identity.tasks if stored else {}), **wanted.tasks}
    resolved = config.model_dump(mode="json")
    if resolved["step"] is None and stored is not None:
        resolved["step"] = stored.config.get("step")  # the checkpoint's step is no part of the identity: a resume keeps it
    return RunRecord(
        effbench_version=__version__,
        created=stored.created if stored else now(),
        config={**resolved, "backend_options": options.model_dump(mode="json")},
        identity=wanted.model_copy(update={"tasks": identity_tasks}),
        tasks={**(stored.tasks if stored else {}), **{p.spec.name: task_info(p) for p in plans}},
        environment=environment(),
        backend=stored.backend if stored else None,
        invocations=stored.invocations if stored else [],
    )


def task_info(plan: TaskPlan) -> TaskInfo:
    return TaskInfo(
        version=plan.spec.version,
        template_sha256=plan.spec.template_hash(),
        extractor=plan.rules.extractor,
        grader=plan.rules.grader,
        reasoning=plan.rules.reasoning.name,
        dataset=plan.dataset.fingerprint,
        excluded=list(plan.dataset.excluded),
        sampling=vars(plan.sampling),
        method=plan.method,
    )


def collect_results(
    model: str,
    backend: str,
    store: RunStore,
    plans: list[TaskPlan],
    parameters: float | None = None,
    judged: dict[str, Judged] | None = None,
) -> Results:
    """Pure function of the stored samples (timings live in run.json), so equal runs give equal results.
    `parameters` (billions) gives ACU; `judged`, each task's judge verdicts where a judge is named, accuracy by the rules
    and the judge together."""
    tasks = {}
    for plan in plans:
        skipped = {i: why for i, why in read_skipped(store.folder, plan.spec.name).items() if i in plan.samples}
        metrics = task_metrics(
            stored_samples(store, plan),
            plan.spec.breakdown,
            difficulty=plan.spec.difficulty_field,
            parameters=parameters,
            judged=(judged or {}).get(plan.spec.name),
        )
        if metrics.samples != len(plan.samples) - len(skipped):
            raise EffbenchError(
                f"{plan.spec.name}: {metrics.samples} of {len(plan.samples)} samples are stored; run the command again"
            )
        tasks[plan.spec.name] = TaskResult(
            version=plan.spec.version,
            excluded=len(plan.dataset.excluded) + len(skipped),
            skipped=skipped,
            sampling=plan.sampling,
            metrics=metrics,
        )
    return Results(run=store.folder.name, model=model, backend=backend, parameters=parameters, tasks=tasks)


def stored_samples(store: RunStore, plan: TaskPlan) -> Iterator[Scored]:
    """The task's stored samples that this command asked for, read as they are used."""
    return (s for s in store.read_samples(plan.spec.name) if s.sample.id in plan.samples)


def priced(
    results: Results, pricing: Pricing | None, store: RunStore, plans: list[TaskPlan], invocations: list[dict[str, Any]]
) -> Results:
    """The results with each task's cost, where the run is priced (an input, as the samples are)."""
    if pricing is None:
        return results
    tasks = {}
    for plan in plans:
        scored = (s for s in store.read_samples(plan.spec.name) if s.sample.id in plan.samples)
        cost = pricing.task_cost(scored, results.model, plan.spec.name, invocations)
        entry = results.tasks[plan.spec.name]
        tasks[plan.spec.name] = entry.model_copy(update={"metrics": entry.metrics.model_copy(update={"cost": cost})})
    return results.model_copy(update={"tasks": tasks})


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")
