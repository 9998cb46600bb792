"""Turn one completion into a Grade: split off the reasoning, extract the answer, judge it in the pool."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Any

from effbench.grading.conventions import half_width, with_decimal_points, writes_decimal_commas
from effbench.grading.debris import without_debris
from effbench.grading.equivalence import answer_key
from effbench.grading.extract import FALLBACKS, MAX_CANDIDATES, NUMBER, candidates, extract
from effbench.grading.gold import NO_CONVENTIONS, Conventions, Grading
from effbench.grading.pool import UNCOMPARED, GradeJob, GradingPool
from effbench.grading.reasoning import THINK, ReasoningFormat
from effbench.types import Completion, Grade

LOCATE_BUDGET = 2.0  # grade timeouts that all the answers one completion states on its way may take together


@dataclass(frozen=True)
class Rules:
    """How a task's completions are graded: its extractor and grader by name, the reasoning format, and the
    conventions of its gold answers (`grading:`)."""

    extractor: str = "math"
    grader: str = "math"
    reasoning: ReasoningFormat = THINK
    grading: Grading | None = None

    def against(self, gold: str, metadata: Mapping[str, Any] | None) -> Against:
        """What an answer to a problem is graded against: its gold, by this grader and the problem's conventions."""
        return Against(self.grader, gold, self.grading.conventions(metadata or {}) if self.grading else NO_CONVENTIONS)


def answer_of(completion: Completion, rules: Rules, question: str = "") -> Grade | tuple[str, str, str | None]:
    """(answer, rule, detail) to judge; or the Grade already decided when the reasoning never ended or no answer is found.

    Chat-template debris after the answer is cut off first. An answer written with decimal commas is judged in decimal
    points when the completion's own numbers make that convention unambiguous. The last-number fallback is refused in
    a completion cut off at its token limit (its last number is wherever the chain stopped) and where the question
    states that number (a repeated question, a restated given). The detail says each of these."""
    split = rules.reasoning.split(completion.text, completion.reasoning)
    if split.answer is None:
        closing = rules.reasoning.closes[0] if rules.reasoning.closes else "its closing marker"
        return Grade("unfinished", detail=f"the reasoning was never closed with {closing}")
    answer_part, debris = without_debris(split.answer)
    notes = [f"chat-template debris cut from the answer part at {debris}"] if debris else []
    answer, rule = extract(answer_part, rules.extractor)
    if answer is None or rule is None:
        detail = "an answer marker followed by prose, not an answer" if rule else None
        return Grade("no_answer", rule=rule, detail=_joined([*notes, detail]))
    if rule in FALLBACKS and (refusal := _fallback_refused(answer, completion, question)):
        return Grade("no_answer", rule=rule, detail=_joined([*notes, refusal]))
    if writes_decimal_commas(answer_part) and (converted := with_decimal_points(answer)) != answer:
        notes.append(f"decimal commas, as the completion writes its numbers: {answer} -> {converted}")
        answer = converted
    return answer, rule, _joined(notes)


def _fallback_refused(answer: str, completion: Completion, question: str) -> str | None:
    if completion.finish_reason == "length":
        return f"cut off at its token limit: its last number, {answer}, is not taken for an answer"
    value = answer_key(answer)
    if any(answer_key(number) == value for number in NUMBER.findall(half_width(question))):
        return f"its last number, {answer}, is one the question states: not taken for an answer"
    return None


def _joined(notes: Sequence[str | None]) -> str | None:
    return "; ".join(note for note in notes if note) or None


def score(
    pool: GradingPool,
    completion: Completion,
    gold: str,
    rules: Rules,
    metadata: Mapping[str, Any] | None = None,
    question: str = "",
) -> Future:
    """A Future of the completion's Grade; decided at once when there is nothing to send to a worker. `metadata`, the
    problem's, holds the conventions of its gold where its task's `grading:` names them; `question` keeps the
    last-number fallback from taking a number the question states. Reading the answer out of the completion takes
    time linear in its length; where it takes longer than the pool's timeout, the verdict is `timeout`.

    Whatever the verdict, the answers the completion stated on its way (reasoning included) are graded
    too, in order, and the end of the first correct one is recorded (`first_correct`, `first_correct_at`):
    for outcome efficiency when the completion is correct, for underthinking and harmful overthinking
    when it is not. A grader timeout or error is not searched.
    """
    graded: Future = Future()
    against = rules.against(gold, metadata)
    started = time.monotonic()
    found = answer_of(completion, rules, question)
    took = time.monotonic() - started
    if took > pool.timeout:  # linear in the text's length, but in this process: a megabytes-long answer may pass it
        size = len(completion.text) + len(completion.reasoning or "")
        said = f"reading its answer out of {size:,} characters took {took:.1f} s, more than the grading timeout"
        graded.set_result(Grade("timeout", detail=said))
        return graded
    if isinstance(found, Grade):
        _search(pool, found, completion, against, rules, graded)
        return graded
    answer, rule, note = found

    def finish(outcome: Future) -> None:
        try:
            verdict, detail = outcome.result()
        except Exception as exc:
            graded.set_exception(exc)
            return
        grade = Grade(verdict, answer=answer, rule=rule, detail=detail or note, unsettled=detail == UNCOMPARED)
        _search(pool, grade, completion, against, rules, graded)

    pool.submit(against.job(answer)).add_done_callback(finish)
    return graded


@dataclass(frozen=True)
class Against:
    """What an answer is graded against: the gold, by the task's grader and the problem's conventions."""

    grader: str
    gold: str
    conventions: Conventions

    def job(self, answer: str, timeout: float | None = None) -> GradeJob:
        return GradeJob(self.grader, answer, self.gold, timeout, self.conventions)


def full_text(completion: Completion, rules: Rules) -> str:
    """The completion's reasoning and answer as one text: where positions in it are counted."""
    if completion.reasoning is None:
        return completion.text
    joint = rules.reasoning.closes[0] if rules.reasoning.closes else "\n"
    return f"{completion.reasoning}{joint}{completion.text}"


def _search(pool: GradingPool, grade: Grade, completion: Completion, against: Against, rules: Rules, graded: Future) -> None:
    if grade.verdict in ("timeout", "error"):
        graded.set_result(grade)
        return
    text = full_text(completion, rules)
    stated = candidates(text)
    known: dict[str, str] = {}
    if grade.answer is not None and grade.verdict in ("correct", "wrong"):
        known[grade.answer] = grade.verdict
    first, settled = answer_positions(grade.answer, stated, len(text))
    located = replace(grade, searched=True, answer_first_at=first, answer_settled_at=settled)
    _locate_first_correct(pool, located, stated, len(text), against, graded, known)


def answer_positions(answer: str | None, stated: list[tuple[int, str]], length: int) -> tuple[int | None, int | None]:
    """Where the final answer first appears in the chain (`answer_first_at`) and where it settled (`answer_settled_at`):
    the end of the first statement of it, and of the first statement from which on every answer stated is it; in
    characters of the reasoning and answer together. Answers are told apart by value or normalised text. Where no
    statement on the way gives the final answer (a bare or last-math answer), it is stated at the end. Where as many
    answers were stated as are searched, later ones are unseen and the settling point is unknown."""
    if answer is None:
        return None, None
    key = answer_key(answer)
    matches = [(at, answer_key(said) == key) for at, said in stated]
    if not matches or not matches[-1][1]:
        matches.append((length, True))
    first = next(at for at, same in matches if same)
    settled = matches[-1][0]
    for at, same in reversed(matches):
        if not same:
            break
        settled = at
    return first, None if len(stated) >= MAX_CANDIDATES else settled


def _locate_first_correct(
    pool: GradingPool,
    grade: Grade,
    stated: list[tuple[int, str]],
    length: int,
    against: Against,
    graded: Future,
    known: dict[str, str],
) -> None:
    """Grade the stated answers in order until one is correct, then resolve `graded` with its position.

    An answer stated again is not graded again (`known` holds the verdicts so far). They share one budget,
    LOCATE_BUDGET times the pool's timeout, however many there are: a completion that states 31
    pathological answers on its way costs at most that, and past it the position stays unknown."""
    deadline = time.monotonic() + LOCATE_BUDGET * pool.timeout

    def found(at: int) -> None:
        graded.set_result(replace(grade, first_correct=round(at / length, 6), first_correct_at=at))

    def grade_from(index: int) -> None:
        while index < len(stated) and stated[index][1] in known:
            if known[stated[index][1]] == "correct":
                found(stated[index][0])
                return
            index += 1
        remaining = deadline - time.monotonic()
        if index == len(stated) or remaining <= 0:
            graded.set_result(grade)
            return
        answer = stated[index][1]

        def done(future: Future) -> None:
            known[answer] = future.result()[0] if future.exception() is None else "error"
            grade_from(index)

        pool.submit(against.job(answer, timeout=min(pool.timeout, remaining))).add_done_callback(done)

    grade_from(0)
