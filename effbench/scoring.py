"""Turn one completion into a Grade: split off the reasoning, extract the answer, judge it in the pool."""

from __future__ import annotations

from concurrent.futures import Future

from effbench.extract import extract, split_reasoning
from effbench.pool import GradeJob, GradingPool
from effbench.types import Completion, Grade


def _done(grade: Grade) -> Future:
    future: Future = Future()
    future.set_result(grade)
    return future


def score(pool: GradingPool, completion: Completion, gold: str, *, extractor: str, grader: str) -> Future:
    """A Future of the completion's Grade; decided at once when there is nothing to send to a worker."""
    split = split_reasoning(completion.text, completion.reasoning)
    if split.unfinished:
        return _done(Grade("unfinished", detail="the thinking was never closed with </think>"))
    answer, rule = extract(split.answer, extractor)
    if answer is None:
        return _done(Grade("no_answer"))
    graded: Future = Future()

    def finish(outcome: Future) -> None:
        try:
            verdict, detail = outcome.result()
        except Exception as exc:
            graded.set_exception(exc)
            return
        graded.set_result(Grade(verdict, answer=answer, rule=rule, detail=detail))

    pool.submit(GradeJob(grader, answer, gold)).add_done_callback(finish)
    return graded
