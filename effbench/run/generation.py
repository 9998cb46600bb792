"""Generate a run's missing samples in one batch, grade them as they arrive, and store each by the run's one writer."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import ExitStack
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from effbench.backends import Backend
from effbench.backends.codec import with_token_position
from effbench.backends.usage import use_between
from effbench.config import EvalConfig
from effbench.grading.pool import GradingPool
from effbench.grading.scoring import score
from effbench.store.folder import RunStore, SampleAppender
from effbench.store.skipped import skipped_appender
from effbench.types import Completion, EngineUse, Request, Scored, Skipped

if TYPE_CHECKING:
    from effbench.run.evaluate import TaskPlan

Progress = Callable[[str, int, int, int], None]  # (run name, problems stored, problems in all, tokens generated so far)


class Storing:
    """Completions graded in the worker pool as they arrive, and each sample appended to its task's samples file once
    its grades are in, by this one writer."""

    def __init__(self, plans: list[TaskPlan], backend: Backend, pool: GradingPool, store: RunStore, config: EvalConfig):
        self.by_task = {p.spec.name: p for p in plans}
        self.backend, self.pool, self.store, self.config = backend, pool, store, config
        self.pending: list[tuple[Request, list[Completion], list[Future]]] = []
        self.files = ExitStack()
        self.outs = {p.spec.name: self.files.enter_context(store.appender(p.spec.name)) for p in plans if p.todo}
        self.skips: dict[str, SampleAppender] = {}

    def add(self, request: Request, completions: list[Completion]) -> None:
        plan = self.by_task[request.task]
        sample = plan.samples[request.sample_id]
        graded = [score(self.pool, c, sample.gold, plan.rules, sample.metadata, sample.question) for c in completions]
        self.pending.append((request, completions, graded))

    def skip(self, request: Request, skipped: Skipped) -> None:
        """A sample the backend could not generate for: recorded with its reason, beside the task's samples."""
        if request.task not in self.skips:
            self.skips[request.task] = self.files.enter_context(skipped_appender(self.store.folder, request.task))
        self.skips[request.task].append({"id": request.sample_id, "reason": skipped.reason})

    def write_ready(self, *, wait: bool) -> int:
        """Append the samples whose grading has ended (every pending one, when `wait`); returns how many."""
        written = 0
        for item in list(self.pending):
            request, completions, futures = item
            if wait or all(f.done() for f in futures):
                sample = self.by_task[request.task].samples[request.sample_id]
                located = zip(futures, completions, strict=True)
                grades = tuple(with_token_position(f.result(), c, self.backend.codec_for(c)) for f, c in located)
                scored = Scored(sample, request.prompt, tuple(completions), grades)
                self.outs[request.task].append(scored.to_json(with_token_ids=self.config.store_token_ids))
                self.pending.remove(item)
                written += 1
        return written

    def close(self) -> None:
        self.files.close()


def generate_missing(
    plans: list[TaskPlan],
    backend: Backend,
    pool: GradingPool,
    store: RunStore,
    config: EvalConfig,
    progress: Progress | None,
    *,
    replayed: bool,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Generate every task's missing samples in one batch, so that engines never wait for one task's longest chain
    before starting the next; each sample is graded and appended as soon as it finishes. When generation fails, what
    finished is graded and stored before the error goes on (an interrupt stores only what is graded already).

    Returns the timings per task and those of the generation as a whole, with each engine's share. The timings of a
    backend that reads stored completions back name them replayed, with no tokens/s."""
    requests = [request for plan in plans for request in plan.todo]
    total = sum(len(p.samples) for p in plans)
    stored, tokens = total - len(requests), 0
    per_task = {p.spec.name: {"samples": 0, "tokens": 0, "finished_s": 0.0} for p in plans}
    engines_before, started = backend.engines(), time.time()
    if progress:
        progress(store.folder.name, stored, total, 0)
    storing = Storing(plans, backend, pool, store, config)
    try:
        for request, completions in backend.generate(requests):
            if isinstance(completions, Skipped):
                storing.skip(request, completions)
                stored += 1
                continue
            storing.add(request, completions)
            counted = sum(c.tokens or 0 for c in completions)
            tokens += counted
            task = per_task[request.task]
            task.update(samples=task["samples"] + 1, tokens=task["tokens"] + counted, finished_s=time.time() - started)
            stored += storing.write_ready(wait=False)
            if progress:
                progress(store.folder.name, stored, total, tokens)
        generate_s = time.time() - started
        storing.write_ready(wait=True)
    except BaseException as exc:
        storing.write_ready(wait=not isinstance(exc, KeyboardInterrupt))
        raise
    finally:
        storing.close()
    if progress:
        progress(store.folder.name, total, total, tokens)
    return timings_of(per_task, tokens, generate_s, round(time.time() - started, 3), replayed, backend, engines_before)


def timings_of(
    per_task: dict[str, dict[str, Any]],
    tokens: int,
    generate_s: float,
    total_s: float,
    replayed: bool,
    backend: Backend,
    engines_before: tuple[EngineUse, ...],
) -> tuple[dict[str, Any], dict[str, Any]]:
    if replayed:
        timings = {name: {"replayed_samples": t["samples"], "replayed_tokens": t["tokens"]} for name, t in per_task.items()}
        return timings, {"replayed": True, "total_s": total_s}
    timings = {
        name: {"generated_samples": t["samples"], "generated_tokens": t["tokens"], "generate_s": round(t["finished_s"], 3)}
        for name, t in per_task.items()
    }
    engines = [
        {**asdict(use), "tokens_per_s": None if use.tokens_per_s is None else round(use.tokens_per_s, 2)}
        for use in use_between(engines_before, backend.engines())
    ]
    return timings, {
        "generated_samples": sum(t["samples"] for t in per_task.values()),
        "generated_tokens": tokens,
        "generate_s": round(generate_s, 3),
        "total_s": total_s,  # with the grading of the last samples
        "tokens_per_s": round(tokens / generate_s, 2) if generate_s > 0 and tokens else None,
        "engines": engines,
    }
