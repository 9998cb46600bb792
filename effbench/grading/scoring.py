"""Turn one completion into a Grade: split off the reasoning, extract the answer, judge it in the pool."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from dataclasses import dataclass, replace

from effbench.grading.conventions import with_decimal_points, writes_decimal_commas
from effbench.grading.extract import candidates, extract
from effbench.grading.pool import GradeJob, GradingPool
from effbench.grading.reasoning import THINK, ReasoningFormat
from effbench.types import Completion, Grade


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
    if split.unfinished:
        closing = rules.reasoning.closes[0] if rules.reasoning.closes else "its closing marker"
        return Grade("unfinished", detail=f"the reasoning was never closed with {closing}")
    answer, rule = extract(split.answer, rules.extractor)
    if answer is None:
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
