"""Turn one completion into a Grade: split off the reasoning, extract the answer, judge it in the pool."""

from __future__ import annotations

import time
from concurrent.futures import Future
from dataclasses import dataclass, replace

from effbench.grading.conventions import with_decimal_points, writes_decimal_commas
from effbench.grading.extract import candidates, extract
from effbench.grading.pool import GradeJob, GradingPool
from effbench.grading.reasoning import THINK, ReasoningFormat
from effbench.types import Completion, Grade

LOCATE_BUDGET = 2.0  # grade timeouts that all the answers one completion states on its way may take together


@dataclass(frozen=True)
class Rules:
    """How a task's completions are graded: its extractor and grader by name, and the reasoning format."""

    extractor: str = "math"
    grader: str = "math"
    reasoning: ReasoningFormat = THINK


def _done(grade: Grade) -> Future:
    future: Future = Future()
    future.set_result(grade)
    return future


def answer_of(completion: Completion, rules: Rules) -> Grade | tuple[str, str, str | None]:
    """(answer, rule, detail) to judge; or the Grade already decided when the reasoning never ended or no answer is found.

    An answer written with decimal commas is judged in decimal points when the completion's own
    numbers make that convention unambiguous; the detail says so."""
    split = rules.reasoning.split(completion.text, completion.reasoning)
    if split.answer is None:
        closing = rules.reasoning.closes[0] if rules.reasoning.closes else "its closing marker"
        return Grade("unfinished", detail=f"the reasoning was never closed with {closing}")
    answer, rule = extract(split.answer, rules.extractor)
    if answer is None or rule is None:
        return Grade("no_answer")
    if writes_decimal_commas(split.answer) and (converted := with_decimal_points(answer)) != answer:
        return converted, rule, f"decimal commas, as the completion writes its numbers: {answer} -> {converted}"
    return answer, rule, None


def score(pool: GradingPool, completion: Completion, gold: str, rules: Rules) -> Future:
    """A Future of the completion's Grade; decided at once when there is nothing to send to a worker.

    For a correct completion, the answers it stated on its way (reasoning included) are graded too,
    in order, and the share of the text up to the first correct one is recorded (`first_correct`,
    for outcome efficiency).
    """
    found = answer_of(completion, rules)
    if isinstance(found, Grade):
        return _done(found)
    answer, rule, note = found
    graded: Future = Future()

    def finish(outcome: Future) -> None:
        try:
            verdict, detail = outcome.result()
        except Exception as exc:
            graded.set_exception(exc)
            return
        grade = Grade(verdict, answer=answer, rule=rule, detail=detail or note)
        if grade.correct:
            joint = rules.reasoning.closes[0] if rules.reasoning.closes else "\n"
            full_text = completion.text if completion.reasoning is None else f"{completion.reasoning}{joint}{completion.text}"
            _locate_first_correct(pool, grade, candidates(full_text), gold, rules.grader, graded)
        else:
            graded.set_result(grade)

    pool.submit(GradeJob(rules.grader, answer, gold)).add_done_callback(finish)
    return graded


def _locate_first_correct(
    pool: GradingPool, grade: Grade, stated: list[tuple[float, str]], gold: str, grader: str, graded: Future
) -> None:
    """Grade the stated answers in order until one is correct, then resolve `graded` with its position.

    They share one budget, LOCATE_BUDGET times the pool's timeout, however many there are: a completion
    that states 31 pathological answers on its way costs at most that, and past it the position stays
    unknown (`first_correct` None)."""
    deadline = time.monotonic() + LOCATE_BUDGET * pool.timeout

    def grade_from(index: int) -> None:
        remaining = deadline - time.monotonic()
        if index == len(stated) or remaining <= 0:
            graded.set_result(grade)
            return
        position, answer = stated[index]

        def done(future: Future) -> None:
            verdict = future.result()[0] if future.exception() is None else "error"
            if verdict == "correct":
                graded.set_result(replace(grade, first_correct=round(position, 6)))
            else:
                grade_from(index + 1)

        pool.submit(GradeJob(grader, answer, gold, timeout=min(pool.timeout, remaining))).add_done_callback(done)

    grade_from(0)
