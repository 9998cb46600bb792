"""Per-run numbers from stored samples, per task and per breakdown field.

Accuracy (mean over samples of the mean over n, with a bootstrap interval), pass@k and maj@k,
outcome efficiency ξ_O, token statistics (all, reasoning, answer, correct, wrong), tokens per
correct answer, truncation, accuracy under a token budget computed from the stored lengths (a
truncation curve), and the thinking-efficiency metrics of `effbench.analysis.thinking`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any, NamedTuple

import numpy as np

from effbench.analysis.stats import bootstrap_ci, pass_at_k
from effbench.analysis.thinking import Thought, outcome_efficiency, position_unit, thinking_metrics, thoughts
from effbench.grading.equivalence import answer_key
from effbench.store.records import GroupStats, JudgeMetrics, LatencyMetrics, Percentiles, TaskMetrics, TokenStats
from effbench.types import Scored, Timing

BUDGETS = tuple(2**p for p in range(4, 17))  # 16 … 65536 tokens, cut at the largest completion


class _Row(NamedTuple):
    """What the metrics need of one sample: numbers and answers, not its texts."""

    id: str
    correct: tuple[bool, ...]
    votes: tuple[str | None, ...]
    thoughts: tuple[Thought, ...]
    tokens: tuple[int | None, ...]
    reasoning_tokens: tuple[int | None, ...]
    located: int
    verdicts: tuple[str, ...]
    finish_reasons: tuple[str, ...]
    forced: int
    groups: tuple[str, ...]  # the sample's value of each breakdown field
    sources: tuple[tuple[str, str | None], ...]  # where each completion's tokens and reasoning tokens were counted
    hidden: int  # completions whose reasoning the server counted and never showed
    timings: tuple[Timing | None, ...]
    rules: tuple[str | None, ...]  # the rule that found each graded answer (None: no answer graded)
    for_judge: tuple[bool, ...]  # which completions the rules could not settle


def _row(item: Scored, breakdown: tuple[str, ...], difficulty: str | None) -> _Row:
    return _Row(
        id=item.sample.id,
        correct=tuple(g.correct for g in item.grades),
        votes=tuple(_vote(g) for g in item.grades),
        thoughts=tuple(thoughts(item, difficulty)),
        tokens=tuple(c.tokens for c in item.completions),
        reasoning_tokens=tuple(c.reasoning_tokens for c in item.completions),
        located=sum(g.correct and g.first_correct is not None for g in item.grades),
        verdicts=tuple(g.verdict for g in item.grades),
        finish_reasons=tuple(c.finish_reason for c in item.completions),
        forced=sum(c.forced is not None for c in item.completions),
        groups=tuple(str(item.sample.metadata.get(field)) for field in breakdown),
        sources=tuple(
            (c.token_count_source, (c.reasoning_count_source or c.token_count_source) if c.reasoning_tokens is not None else None)
            for c in item.completions
        ),
        hidden=sum(c.reasoning_hidden for c in item.completions),
        timings=tuple(c.timing for c in item.completions),
        rules=tuple(g.rule if g.verdict in ("correct", "wrong") else None for g in item.grades),
        for_judge=tuple(g.for_a_judge for g in item.grades),
    )


def task_metrics(
    scored: Iterable[Scored],
    breakdown: tuple[str, ...] = (),
    *,
    difficulty: str | None = None,
    parameters: float | None = None,
    judged: Judged | None = None,
) -> TaskMetrics:
    """Accuracy is the mean over samples of the mean over their n completions. `difficulty` names the metadata field
    that ranks the problems, `parameters` the model's size in billions (for ACU); `judged`, where a judge is named, its
    verdicts on the completions the rules could not settle.

    The samples are taken in the order of their ids, not of the file (which is the order they finished in),
    so that the same samples always give the same numbers, bootstrap interval included, to the last bit.
    Where any completion's tokens were not counted, every token figure is absent (None), not 0."""
    rows = sorted((_row(item, breakdown, difficulty) for item in scored), key=lambda row: row.id)
    per_sample_accuracy = [sum(row.correct) / len(row.correct) for row in rows]
    correct_counts = [(len(row.correct), sum(row.correct)) for row in rows]
    correct_flags = [ok for row in rows for ok in row.correct]
    counted = all(t is not None for row in rows for t in row.tokens)
    verdicts = Counter(v for row in rows for v in row.verdicts)
    finish = Counter(f for row in rows for f in row.finish_reasons)
    groups: dict[str, dict[str, list[tuple[_Row, float]]]] = {f: defaultdict(list) for f in breakdown}
    for row, accuracy in zip(rows, per_sample_accuracy, strict=True):
        for field, value in zip(breakdown, row.groups, strict=True):
            groups[field][value].append((row, accuracy))
    completions, forced, located = len(correct_flags), sum(row.forced for row in rows), sum(row.located for row in rows)
    votes = [list(row.votes) for row in rows]
    every = [t for row in rows for t in row.thoughts]
    accuracy_values = np.asarray(per_sample_accuracy, dtype=float)
    task_accuracy = float(accuracy_values.mean()) if completions else None
    n = min((count for count, _ in correct_counts), default=0)
    ks = sorted({k for k in (2**p for p in range(12)) if k <= n} | ({n} if n else set()))
    return TaskMetrics(
        samples=len(per_sample_accuracy),
        completions=completions,
        accuracy=task_accuracy,
        accuracy_ci95=bootstrap_ci(accuracy_values),
        pass_at_k={str(k): float(np.mean([pass_at_k(count, c, k) for count, c in correct_counts])) for k in ks},
        maj_at_k={str(k): float(np.mean([_majority(v[:k]) for v in votes])) for k in ks},
        outcome_efficiency=outcome_efficiency(every, position_unit(every)),
        outcome_efficiency_located=located,
        correct_completions=sum(correct_flags),
        truncation_rate=finish["length"] / completions if completions and not finish["unknown"] else None,
        forced_rate=forced / completions if completions else None,
        verdicts=dict(sorted(verdicts.items())),
        finish_reasons=dict(sorted(finish.items())),
        breakdown={field: _group_table(groups[field], counted, parameters) for field in breakdown},
        thinking=thinking_metrics(every, parameters, task_accuracy) if completions else None,
        counted_from=_counted_from(rows),
        reasoning_hidden=sum(row.hidden for row in rows),
        **_finished_figures(rows),
        latency=_latency([t for row in rows for t in row.timings if t is not None]),
        **_rule_figures(rows),
        judge=_judge_figures(rows, judged) if judged else None,
        **(_token_figures(rows, correct_flags) if counted else {"total_tokens": None}),
    )


class Judged(NamedTuple):
    """A judge's stored verdicts on a task's unsettled completions, by (sample id, completion index)."""

    model: str
    prompt: str
    verdicts: dict[tuple[str, int], str]


def _rule_figures(rows: list[_Row]) -> dict[str, Any]:
    rules = Counter(rule for row in rows for rule in row.rules if rule is not None)
    fallback = [ok for row in rows for ok, rule in zip(row.correct, row.rules, strict=True) if rule == "last_number"]
    return {"rules": dict(sorted(rules.items())), "fallback_answers": len(fallback), "fallback_correct": sum(fallback)}


def _judge_figures(rows: list[_Row], judged: Judged) -> JudgeMetrics:
    """Accuracy by the rules and the judge together: a completion is correct by its rule verdict, or, where the rules
    could not settle it, by the judge's."""
    verdicts: Counter[str] = Counter()
    per_sample = []
    for row in rows:
        flags = []
        for index, (ok, unsettled) in enumerate(zip(row.correct, row.for_judge, strict=True)):
            verdict = judged.verdicts.get((row.id, index)) if unsettled else None
            verdicts.update([verdict] if verdict else [])
            flags.append(ok or verdict == "correct")
        per_sample.append(sum(flags) / len(flags))
    values = np.asarray(per_sample, dtype=float)
    return JudgeMetrics(
        model=judged.model,
        prompt=judged.prompt,
        unsettled=sum(sum(row.for_judge) for row in rows),
        judged=sum(verdicts.values()),
        verdicts=dict(sorted(verdicts.items())),
        accuracy=float(values.mean()) if len(values) else None,
        accuracy_ci95=bootstrap_ci(values),
    )


def _token_figures(rows: list[_Row], correct_flags: list[bool]) -> dict[str, Any]:
    """The token statistics of completions that were all counted."""
    tokens = [int(t) for row in rows for t in row.tokens if t is not None]
    both = (pair for row in rows for pair in zip(row.tokens, row.reasoning_tokens, strict=True))
    pairs = [(t, r) for t, r in both if r is not None and t is not None]
    reasoning, answer_tokens = [r for _, r in pairs], [t - r for t, r in pairs]
    right = [t for t, ok in zip(tokens, correct_flags, strict=True) if ok]
    return {
        "tokens": TokenStats.of(tokens),
        "total_tokens": int(sum(tokens)),
        "reasoning_tokens": TokenStats.of(reasoning),
        "answer_tokens": TokenStats.of(answer_tokens),
        "completions_with_reasoning": len(reasoning),
        "correct_tokens": TokenStats.of(right),
        "wrong_tokens": TokenStats.of([t for t, ok in zip(tokens, correct_flags, strict=True) if not ok]),
        "tokens_per_correct": sum(tokens) / len(right) if right else None,
        "truncation_curve": _truncation_curve(tokens, correct_flags),
    }


def _finished_figures(rows: list[_Row]) -> dict[str, float | None]:
    """Accuracy over the completions that finished within max_tokens (what published figures with a larger budget are
    compared with), and the share that were cut off with no answer."""
    outcomes = [
        (ok, finish, verdict)
        for row in rows
        for ok, finish, verdict in zip(row.correct, row.finish_reasons, row.verdicts, strict=True)
    ]
    if not outcomes or any(finish == "unknown" for _, finish, _ in outcomes):
        return {"accuracy_finished": None, "truncated_no_answer_rate": None}  # an import that never said why each ended
    finished = [ok for ok, finish, _ in outcomes if finish != "length"]
    cut_blank = sum(finish == "length" and verdict in ("no_answer", "unfinished") for _, finish, verdict in outcomes)
    return {
        "accuracy_finished": sum(finished) / len(finished) if finished else None,
        "truncated_no_answer_rate": cut_blank / len(outcomes),
    }


def _latency(timings: list[Timing]) -> LatencyMetrics | None:
    if not timings:
        return None
    return LatencyMetrics(
        timed=len(timings),
        wall_s=Percentiles.of([t.wall_s for t in timings]),
        first_token_s=Percentiles.of([t.first_token_s for t in timings if t.first_token_s is not None]),
        first_answer_s=Percentiles.of([t.first_answer_s for t in timings if t.first_answer_s is not None]),
        estimated=sum(t.estimated for t in timings),
    )


def _counted_from(rows: list[_Row]) -> dict[str, dict[str, int]]:
    """How many completions had their tokens, and their reasoning tokens, counted from each source."""
    tokens = Counter(source for row in rows for source, _ in row.sources)
    reasoning = Counter(source for row in rows for _, source in row.sources if source is not None)
    return {"tokens": dict(sorted(tokens.items())), "reasoning_tokens": dict(sorted(reasoning.items()))}


CORRECT_VOTE = "\0correct"  # every correct answer equals the gold, so they are one group


def _vote(grade) -> str | None:
    """The group an answer votes for: correct answers together; wrong ones by value or normalised text."""
    if grade.correct:
        return CORRECT_VOTE
    return None if grade.answer is None else answer_key(grade.answer)


def _majority(votes: list[str | None]) -> float:
    """1 when the most common answer is correct, 0 when not; a tie shares the credit among the tied answers."""
    counts = Counter(v for v in votes if v is not None)
    if not counts:
        return 0.0
    top = max(counts.values())
    tied = [v for v, c in counts.items() if c == top]
    return 1.0 / len(tied) if CORRECT_VOTE in tied else 0.0


def _truncation_curve(tokens: list[int], correct: list[bool]) -> dict[str, float]:
    """Accuracy if generation had stopped at each budget: the share of completions correct within B tokens.

    Computed from stored lengths, not by generating again: a completion longer than B counts as
    wrong, as a truncated one would be.
    """
    if not tokens:
        return {}
    longest = max(tokens)
    budgets = [b for b in BUDGETS if b < longest] + [next((b for b in BUDGETS if b >= longest), longest)]
    array, ok = np.asarray(tokens), np.asarray(correct, dtype=bool)
    return {str(b): float((ok & (array <= b)).mean()) for b in budgets}


def _group_table(groups: dict[str, list[tuple[_Row, float]]], counted: bool, parameters: float | None) -> dict[str, GroupStats]:
    """Each value of a breakdown field: its samples' accuracy, mean tokens and thinking metrics."""
    table = {}
    for value, members in sorted(groups.items()):
        accuracy = float(np.mean([a for _, a in members]))
        per_sample = [np.mean([t for t in row.tokens if t is not None]) for row, _ in members] if counted else None
        table[value] = GroupStats(
            samples=len(members),
            accuracy=accuracy,
            mean_tokens=float(np.mean(per_sample)) if per_sample else None,
            thinking=thinking_metrics([t for row, _ in members for t in row.thoughts], parameters, accuracy),
        )
    return table
