"""Turn one completion into a Grade: split off the reasoning, extract the answer, judge it in the pool."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from dataclasses import replace

from effbench.grading.extract import candidates, extract, split_reasoning
from effbench.grading.pool import GradeJob, GradingPool
from effbench.types import Completion, Grade


def _done(grade: Grade) -> Future:
    future: Future = Future()
    future.set_result(grade)
    return future


def answer_of(completion: Completion, extractor: str) -> Grade | tuple[str, str]:
    """(answer, rule) to judge; or the Grade already decided when the thinking never ended or no answer is found."""
    split = split_reasoning(completion.text, completion.reasoning)
    if split.unfinished:
        return Grade("unfinished", detail="the thinking was never closed with </think>")
    answer, rule = extract(split.answer, extractor)
    return Grade("no_answer") if answer is None else (answer, rule)


def score(pool: GradingPool, completion: Completion, gold: str, *, extractor: str, grader: str) -> Future:
    """A Future of the completion's Grade; decided at once when there is nothing to send to a worker.

    For a correct completion, the answers it stated on its way (reasoning included) are graded too,
    in order, and the share of the text up to the first correct one is recorded (`first_correct`,
    for outcome efficiency).
    """
    found = answer_of(completion, extractor)
    if isinstance(found, Grade):
        return _done(found)
    answer, rule = found
    graded: Future = Future()

    def finish(outcome: Future) -> None:
        try:
            verdict, detail = outcome.result()
        except Exception as exc:
            graded.set_exception(exc)
            return
        grade = Grade(verdict, answer=answer, rule=rule, detail=detail)
        if grade.correct:
            full_text = completion.text if completion.reasoning is None else f"{completion.reasoning}</think>{completion.text}"
            _locate_first_correct(pool, grade, candidates(full_text), gold, grader, graded)
        else:
            graded.set_result(grade)

    pool.submit(GradeJob(grader, answer, gold)).add_done_callback(finish)
    return graded


def _locate_first_correct(pool: GradingPool, grade: Grade, stated: list[tuple[float, str]], gold: str, grader: str,
                          graded: Future) -> None:
    """Grade every stated answer, then resolve `graded` with the position of the first correct one (if any)."""
    if not stated:
        graded.set_result(grade)
        return
    futures = [pool.submit(GradeJob(grader, answer, gold)) for _, answer in stated]
    remaining = [len(futures)]
    lock = threading.Lock()

    def one_done(_: Future) -> None:
        with lock:
            remaining[0] -= 1
            if remaining[0]:
                return
        verdicts = [f.result()[0] if not f.exception() else "error" for f in futures]
        first = next((position for (position, _), v in zip(stated, verdicts) if v == "correct"), None)
        graded.set_result(replace(grade, first_correct=round(first, 6) if first is not None else None))

    for future in futures:
        future.add_done_callback(one_done)
