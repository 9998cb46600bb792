"""Decide whether an extracted answer equals the gold answer, in worker processes with a hard timeout.

A worker that does not answer within the timeout is killed and replaced; the sample's outcome is
recorded as `timeout`, never as wrong, and the rest of the evaluation goes on.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
import re
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

STARTUP_TIMEOUT = 120
Outcome = tuple[str, str | None]  # (verdict: correct / wrong / timeout / error, detail)


def _strip_math(text: str) -> str:
    text = text.strip()
    while len(text) >= 2 and text[0] == text[-1] == "$":
        text = text[1:-1].strip()
    return text


def _as_number(text: str) -> float | None:
    text = _strip_math(text)
    text = re.sub(r"\\text\{[^}]*\}|\\[,!;: ]|\\\$|\$|%|\\%", "", text).replace("{,}", "").replace(",", "")
    try:
        return float(text.strip())
    except ValueError:
        return None


TEXT_WRAPPERS = re.compile(r"\\(?:text|textbf|mathrm|mbox)\{([^{}]*)\}")
SPACING = re.compile(r"\\[,!;: ]|\\(?:left|right)\b|~|\s+")
PERCENT = re.compile(r"\\?%")


def normal_text(answer: str) -> str:
    """The answer as text with formatting gone: `\\text{4:30 p.m.}` and `4:30 \\text{ p.m.}` both give `4:30p.m.`."""
    text = TEXT_WRAPPERS.sub(r"\1", _strip_math(answer))
    text = SPACING.sub("", text).replace("{,}", ",").replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    return text.rstrip(".").lower()


def grade_math(answer: str, gold: str) -> bool:
    """Equal as text once formatting is gone, else math-verify equivalence guarded against float rounding.

    math-verify's own signal timeouts are off: the pool enforces a hard one. A percent sign is
    dropped on both sides, so `50\\%` matches a gold `50`.
    """
    from math_verify import parse, verify

    if normal_text(answer) == normal_text(gold):
        return True
    gold_parsed = parse(f"${PERCENT.sub('', _strip_math(gold))}$", parsing_timeout=None)
    answer_parsed = parse(f"${PERCENT.sub('', _strip_math(answer))}$", parsing_timeout=None)
    if not gold_parsed or not answer_parsed:
        return False
    if not verify(gold_parsed, answer_parsed, timeout_seconds=None):
        return False
    return not _exactly_different(gold_parsed[0], answer_parsed[0])


def _exactly_different(gold, answer) -> bool:
    """True for two exact numbers that math-verify's float comparison took as equal (1/2004! vs 1/2006!)."""
    import sympy

    if not (isinstance(gold, sympy.Expr) and isinstance(answer, sympy.Expr) and gold.is_number and answer.is_number):
        return False
    if gold.atoms(sympy.Float) or answer.atoms(sympy.Float):
        return False  # a decimal answer is an approximation by intent: math-verify's rounding decides
    return sympy.simplify(gold - answer).is_zero is False


def grade_number(answer: str, gold: str) -> bool:
    """Numbers compare by value (thousands separators, `$`, `%` dropped); anything else by math-verify."""
    a, g = _as_number(answer), _as_number(gold)
    if a is not None and g is not None:
        return abs(a - g) <= 1e-9 * max(1.0, abs(g))
    return grade_math(answer, gold)


def grade_integer(answer: str, gold: str) -> bool:
    """AIME-style: both must be integers; leading zeros do not matter (`025` = `25`)."""
    a, g = _as_number(answer), _as_number(gold)
    return a is not None and g is not None and a.is_integer() and a == g


GRADERS: dict[str, Callable[[str, str], bool]] = {
    "math": grade_math,
    "number": grade_number,
    "integer": grade_integer,
}


@dataclass(frozen=True)
class GradeJob:
    grader: str
    answer: str
    gold: str


def run_job(job: GradeJob) -> bool:
    return GRADERS[job.grader](job.answer, job.gold)


def _worker_main(conn, job_fn: Callable[[GradeJob], bool]) -> None:
    import logging

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
            conn.send(("correct" if job_fn(job) else "wrong", None))
        except Exception as exc:  # a grader bug on one sample is recorded on that sample
            conn.send(("error", f"{type(exc).__name__}: {exc}"[:300]))


class GradingPool:
    """`workers` processes, each driven by one thread; `submit` returns a Future of an Outcome."""

    def __init__(self, workers: int = 2, timeout: float = 10.0, job_fn: Callable[[GradeJob], bool] = run_job):
        self.timeout = timeout
        self._job_fn = job_fn
        self._ctx = mp.get_context("spawn")
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._drive, daemon=True) for _ in range(workers)]
        self._started = False
        self.timeouts = 0

    def submit(self, job: GradeJob) -> Future:
        if not self._started:
            self._started = True
            for thread in self._threads:
                thread.start()
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
            raise RuntimeError(f"a grading worker did not start within {STARTUP_TIMEOUT}s")
        parent.recv()
        return process, parent

    def _drive(self) -> None:
        worker = None
        while (item := self._jobs.get()) is not None:
            job, future = item
            try:
                worker = worker or self._spawn()
            except Exception as exc:
                future.set_exception(RuntimeError(f"grading worker could not start: {exc}"))
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
            worker[1].send(None)
            worker[0].join(timeout=5)
            if worker[0].is_alive():
                worker[0].kill()

    def _run(self, worker, job: GradeJob) -> Outcome | None:
        """None when the worker has a verdict ready; else the outcome of its failure."""
        try:
            worker[1].send(job)
            if worker[1].poll(self.timeout):
                return None
        except (EOFError, OSError) as exc:
            return ("error", f"grading worker died: {type(exc).__name__}")
        self.timeouts += 1
        return ("timeout", f"no verdict within {self.timeout:g}s; the worker was killed")
