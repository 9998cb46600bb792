"""Per-run numbers from stored samples: accuracy with a bootstrap interval, token statistics, truncation."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

import numpy as np

from effbench.types import Scored

BOOTSTRAP_RESAMPLES = 2000


def bootstrap_ci(values: np.ndarray, *, level: float = 0.95, seed: int = 0) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the mean over samples; None for fewer than two samples."""
    if len(values) < 2:
        return None
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(BOOTSTRAP_RESAMPLES, len(values)))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def _stats(values: list[int]) -> dict[str, float] | None:
    if not values:
        return None
    array = np.asarray(values, dtype=float)
    return {
        "mean": float(array.mean()),
        "median": float(np.median(array)),
        "p90": float(np.percentile(array, 90)),
        "max": float(array.max()),
    }


def task_metrics(scored: Iterable[Scored], breakdown: tuple[str, ...] = ()) -> dict[str, Any]:
    """Accuracy is the mean over samples of the mean over their n completions."""
    per_sample_accuracy, tokens, reasoning, verdicts, finish = [], [], [], Counter(), Counter()
    groups: dict[str, dict[str, list[tuple[float, float]]]] = {f: defaultdict(list) for f in breakdown}
    for item in scored:
        correct = [g.correct for g in item.grades]
        accuracy = sum(correct) / len(correct)
        per_sample_accuracy.append(accuracy)
        sample_tokens = [c.tokens for c in item.completions]
        tokens.extend(sample_tokens)
        reasoning.extend(c.reasoning_tokens for c in item.completions if c.reasoning_tokens is not None)
        verdicts.update(g.verdict for g in item.grades)
        finish.update(c.finish_reason for c in item.completions)
        for field in breakdown:
            groups[field][str(item.sample.metadata.get(field))].append((accuracy, float(np.mean(sample_tokens))))
    completions = len(tokens)
    accuracy_values = np.asarray(per_sample_accuracy, dtype=float)
    ci = bootstrap_ci(accuracy_values)
    return {
        "samples": len(per_sample_accuracy),
        "completions": completions,
        "accuracy": float(accuracy_values.mean()) if completions else None,
        "accuracy_ci95": list(ci) if ci else None,
        "tokens": _stats(tokens),
        "total_tokens": int(sum(tokens)),
        "reasoning_tokens": _stats(reasoning),
        "completions_with_reasoning": len(reasoning),
        "truncation_rate": finish["length"] / completions if completions else None,
        "verdicts": dict(sorted(verdicts.items())),
        "finish_reasons": dict(sorted(finish.items())),
        "breakdown": {field: _group_table(groups[field]) for field in breakdown},
    }


def _group_table(groups: dict[str, list[tuple[float, float]]]) -> dict[str, dict[str, float]]:
    return {
        value: {
            "samples": len(rows),
            "accuracy": float(np.mean([a for a, _ in rows])),
            "mean_tokens": float(np.mean([t for _, t in rows])),
        }
        for value, rows in sorted(groups.items())
    }
