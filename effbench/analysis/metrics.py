"""Per-run numbers from stored samples, per task and per breakdown field.

Accuracy (mean over samples of the mean over n, with a bootstrap interval), pass@k and maj@k,
outcome efficiency ξ_O, token statistics (all, reasoning, answer, correct, wrong), tokens per
correct answer, truncation, and accuracy under a token budget computed from the stored lengths (a
truncation curve).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any, NamedTuple

import numpy as np

from effbench.analysis.stats import bootstrap_ci, pass_at_k
from effbench.grading.equivalence import as_number, normal_text
from effbench.store.records import GroupStats, TaskMetrics, TokenStats
from effbench.types import Scored

BUDGETS = tuple(2**p for p in range(4, 17))  # 16 … 65536 tokens, cut at the largest completion


def _stats(values: list[int]) -> TokenStats | None:
    if not values:
        return None
    array = np.asarray(values, dtype=float)
    return TokenStats(
        mean=float(array.mean()), median=float(np.median(array)), p90=float(np.percentile(array, 90)), max=float(array.max())
    )


class _Row(NamedTuple):
    """What the metrics need of one sample: numbers and answers, not its texts."""

    id: str
    correct: tuple[bool, ...]
    votes: tuple[str | None, ...]
    outcome_efficiency: float
    tokens: tuple[int | None, ...]
    reasoning_tokens: tuple[int | None, ...]
    located: int
    verdicts: tuple[str, ...]
    finish_reasons: tuple[str, ...]
    forced: int
    groups: tuple[str, ...]  # the sample's value of each breakdown field


def _row(item: Scored, breakdown: tuple[str, ...]) -> _Row:
    return _Row(
        id=item.sample.id,
        correct=tuple(g.correct for g in item.grades),
        votes=tuple(_vote(g) for g in item.grades),
        outcome_efficiency=float(np.mean([_outcome_efficiency(g) for g in item.grades])),
        tokens=tuple(c.tokens for c in item.completions),
        reasoning_tokens=tuple(c.reasoning_tokens for c in item.completions),
        located=sum(g.correct and g.first_correct is not None for g in item.grades),
        verdicts=tuple(g.verdict for g in item.grades),
        finish_reasons=tuple(c.finish_reason for c in item.completions),
        forced=sum(c.forced is not None for c in item.completions),
        groups=tuple(str(item.sample.metadata.get(field)) for field in breakdown),
    )


def task_metrics(scored: Iterable[Scored], breakdown: tuple[str, ...] = ()) -> TaskMetrics:
    """Accuracy is the mean over samples of the mean over their n completions.

    The samples are taken in the order of their ids, not of the file (which is the order they finished in),
    so that the same samples always give the same numbers, bootstrap interval included, to the last bit.
    Where any completion's tokens were not counted, every token figure is absent (None), not 0."""
    rows = sorted((_row(item, breakdown) for item in scored), key=lambda row: row.id)
    per_sample_accuracy = [sum(row.correct) / len(row.correct) for row in rows]
    correct_counts = [(len(row.correct), sum(row.correct)) for row in rows]
    correct_flags = [ok for row in rows for ok in row.correct]
    counted = all(t is not None for row in rows for t in row.tokens)
    verdicts = Counter(v for row in rows for v in row.verdicts)
    finish = Counter(f for row in rows for f in row.finish_reasons)
    groups: dict[str, dict[str, list[tuple[float, float | None]]]] = {f: defaultdict(list) for f in breakdown}
    for row, accuracy in zip(rows, per_sample_accuracy, strict=True):
        for field, value in zip(breakdown, row.groups, strict=True):
            groups[field][value].append((accuracy, float(np.mean([t for t in row.tokens if t is not None])) if counted else None))
    completions, forced, located = len(correct_flags), sum(row.forced for row in rows), sum(row.located for row in rows)
    votes = [list(row.votes) for row in rows]
    outcome_efficiency = [row.outcome_efficiency for row in rows]
    accuracy_values = np.asarray(per_sample_accuracy, dtype=float)
    n = min((count for count, _ in correct_counts), default=0)
    ks = sorted({k for k in (2**p for p in range(12)) if k <= n} | ({n} if n else set()))
    return TaskMetrics(
        samples=len(per_sample_accuracy),
        completions=completions,
        accuracy=float(accuracy_values.mean()) if completions else None,
        accuracy_ci95=bootstrap_ci(accuracy_values),
        pass_at_k={str(k): float(np.mean([pass_at_k(count, c, k) for count, c in correct_counts])) for k in ks},
        maj_at_k={str(k): float(np.mean([_majority(v[:k]) for v in votes])) for k in ks},
        outcome_efficiency=float(np.mean(outcome_efficiency)) if outcome_efficiency else None,
        outcome_efficiency_located=located,
        correct_completions=sum(correct_flags),
        truncation_rate=finish["length"] / completions if completions and not finish["unknown"] else None,
        forced_rate=forced / completions if completions else None,
        verdicts=dict(sorted(verdicts.items())),
        finish_reasons=dict(sorted(finish.items())),
        breakdown={field: _group_table(groups[field]) for field in breakdown},
        **(_token_figures(rows, correct_flags) if counted else {"total_tokens": None}),
    )


def _token_figures(rows: list[_Row], correct_flags: list[bool]) -> dict[str, Any]:
    """The token statistics of completions that were all counted."""
    tokens = [int(t) for row in rows for t in row.tokens if t is not None]
    both = (pair for row in rows for pair in zip(row.tokens, row.reasoning_tokens, strict=True))
    pairs = [(t, r) for t, r in both if r is not None and t is not None]
    reasoning, answer_tokens = [r for _, r in pairs], [t - r for t, r in pairs]
    right = [t for t, ok in zip(tokens, correct_flags, strict=True) if ok]
    return {
        "tokens": _stats(tokens),
        "total_tokens": int(sum(tokens)),
        "reasoning_tokens": _stats(reasoning),
        "answer_tokens": _stats(answer_tokens),
        "completions_with_reasoning": len(reasoning),
        "correct_tokens": _stats(right),
        "wrong_tokens": _stats([t for t, ok in zip(tokens, correct_flags, strict=True) if not ok]),
        "tokens_per_correct": sum(tokens) / len(right) if right else None,
        "truncation_curve": _truncation_curve(tokens, correct_flags),
    }


def _outcome_efficiency(grade) -> float:
    """ξ_O of one completion ("Do NOT Think That Much for 2+3=?", arXiv 2412.21187): the share of it that was
    needed to first state the correct answer; 0 when wrong; 1 when correct but no stated answer was located.

    The share is measured in characters of the completion, which stands in for its tokens.
    """
    if not grade.correct:
        return 0.0
    return grade.first_correct if grade.first_correct is not None else 1.0


CORRECT_VOTE = "\0correct"  # every correct answer equals the gold, so they are one group


def _vote(grade) -> str | None:
    """The group an answer votes for: correct answers together; wrong ones by value or normalised text."""
    if grade.correct:
        return CORRECT_VOTE
    if grade.answer is None:
        return None
    number = as_number(grade.answer)
    return f"={number.value}" if number is not None else normal_text(grade.answer)


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


def _group_table(groups: dict[str, list[tuple[float, float | None]]]) -> dict[str, GroupStats]:
    return {
        value: GroupStats(
            samples=len(rows),
            accuracy=float(np.mean([a for a, _ in rows])),
            mean_tokens=None if any(t is None for _, t in rows) else float(np.mean([t for _, t in rows if t is not None])),
        )
        for value, rows in sorted(groups.items())
    }
