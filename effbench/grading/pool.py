"""Grading in worker processes with a hard per-sample timeout.

A worker that does not answer within the timeout is killed and replaced; the sample's outcome is
recorded as `timeout`, never as wrong, and the rest of the evaluation goes on.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

from effbench.errors import GradingError
from effbench.grading.equivalence import GRADERS
from effbench.grading.gold import NO_CONVENTIONS, Conventions, grade_by

STARTUP_TIMEOUT = 120
Outcome = tuple[str, str | None]  # (verdict: correct / wrong / timeout / error, detail)
UNCOMPARED = "the answer or the gold could not be parsed, so they were not compared"  # a wrong verdict's detail


@dataclass(frozen=True)
class GradeJob:
    grader: str
    answer: str
    gold: str
    timeout: float | None = None  # seconds for this job (default: the pool's)
    conventions: Conventions = NO_CONVENTIONS  # the problem's own (its task's `grading:` settings)


def run_job(job: GradeJob) -> bool | None:
    return grade_by(GRADERS[job.grader], job.answer, job.gold, job.conventions)


def _worker_main(conn, job_fn: Callable[[GradeJob], bool | None]) -> None:
    import logging
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the pool's owner ends it

    import math_verify  # noqa: F401  (imported before "ready", so start-up never counts against a job's timeout)

    logging.getLogger("math_verify").setLevel(logging.ERROR)  # its "timeout is disabled" notes: the pool enforces one

    conn.send("ready")
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        try:
            equal = job_fn(job)
            conn.send(("correct", None) if equal else ("wrong", None if equal is False else UNCOMPARED))
        except Exception as exc:  # a grader bug on one sample is recorded on that sample
            conn.send(("error", f"{type(exc).__name__}: {exc}"[:300]))


def _start_error(exc: Exception) -> GradingError:
    if isinstance(exc, GradingError):
        return exc
    return GradingError(f"a grading worker could not start ({type(exc).__name__}: {str(exc).strip()[:200]})")


class GradingPool:
    """`workers` processes, each driven by one thread; `submit` returns a Future of an Outcome."""

    def __init__(self, workers: int = 2, timeout: float = 10.0, job_fn: Callable[[GradeJob], bool | None] = run_job):
        if workers < 1 or not timeout > 0:
            raise ValueError(f"a grading pool needs at least one worker and a timeout above 0 (got {workers}, {timeout})")
        self.timeout = timeout
        self._job_fn = job_fn
        self._ctx = mp.get_context("spawn")
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._drive, daemon=True) for _ in range(workers)]
        self._started = False
        self.timeouts = 0

    def start(self) -> None:
        """Start the workers now (each imports its grader), instead of on the first job: a caller about to
        start an engine lets them load beside it rather than during generation."""
        if not self._started:
            self._started = True
            for thread in self._threads:
                thread.start()

    def submit(self, job: GradeJob) -> Future:
        self.start()
        future: Future = Future()
        self._jobs.put((job, future))
        return future

    def close(self) -> None:
        if self._started:
            for _ in self._threads:
                self._jobs.put(None)
            for thread in self._threads:
                thread.join()

    def __enter__(self) -> GradingPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _spawn(self):
        parent, child = self._ctx.Pipe()
        process = self._ctx.Process(target=_worker_main, args=(child, self._job_fn), daemon=True)
        process.start()
        child.close()
        if not parent.poll(STARTUP_TIMEOUT):
            process.kill()
            raise GradingError(f"a grading worker did not start within {STARTUP_TIMEOUT}s")
        try:
            parent.recv()
        except EOFError:
            process.join(5)
            raise GradingError(
                f"a grading worker exited while starting (exit code {process.exitcode}). Workers are new processes that "
                f'import the main script again: from a script, call effbench under `if __name__ == "__main__":`'
            ) from None
        return process, parent

    def _drive(self) -> None:
        try:
            worker = self._spawn()
        except Exception:
            worker = None  # spawned again for the first job, which then carries the error
        while (item := self._jobs.get()) is not None:
            job, future = item
            try:
                worker = worker or self._spawn()
            except Exception as exc:
                future.set_exception(_start_error(exc))
                continue
            outcome = self._run(worker, job)
            if outcome is None:
                future.set_result(worker[1].recv())
                continue
            worker[0].kill()
            worker[0].join()
            worker = None
            future.set_result(outcome)
        if worker is not None:
            with contextlib.suppress(OSError):  # gone already: at exit, multiprocessing stops daemon workers first
                worker[1].send(None)
            worker[0].join(timeout=5)
            if worker[0].is_alive():
                worker[0].kill()

    def _run(self, worker, job: GradeJob) -> Outcome | None:
        """None when the worker has a verdict ready; else the outcome of its failure."""
        timeout = job.timeout or self.timeout
        try:
            worker[1].send(job)
            if worker[1].poll(timeout):
                return None
        except (EOFError, OSError) as exc:
            return ("error", f"grading worker died: {type(exc).__name__}")
        self.timeouts += 1
        return ("timeout", f"no verdict within {timeout:g}s; the worker was killed")
