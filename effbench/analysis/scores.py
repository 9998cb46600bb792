"""The single-number efficiency scores that leaderboards publish, computed for the runs of one comparison.

- OckScore (OckBench, arXiv 2511.05722; OckBench/OckBench `src/core/scoring.py`): accuracy in percent
  − 10 · ln(mean output tokens / 10,000 + 1). The published table uses output tokens (reasoning and answer), as here;
  the harness's own code averages prompt tokens in too.
- Efficiency score (LLMThinkBench, arXiv 2507.04023, `llmthinkbench/utils/reporting.py`): the harmonic mean of
  accuracy (0 to 1) and a token efficiency, 1 − (T − T_min) / (T_max − T_min) with T the mean output tokens,
  min-max scaled over the compared runs (1 where all are equal; the accuracy itself for a single run). The run
  with the most tokens scores 0.
- Overthinking O_g (THOUGHTTERMINATOR, arXiv 2504.13367, Eq. 3): per problem, the run's mean tokens less the
  fewest tokens of any correct completion of any compared run, averaged over the problems that some run solved; in
  tokens. It measures a run against the shortest success the compared runs showed possible.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from effbench.store.runs import Run, TaskSamples

OCK_WEIGHT, OCK_SCALE = 10.0, 10_000.0


def ock_score(accuracy: float | None, mean_tokens: float | None) -> float | None:
    if accuracy is None or mean_tokens is None:
        return None
    return 100 * accuracy - OCK_WEIGHT * math.log(mean_tokens / OCK_SCALE + 1)


def efficiency_scores(runs: Mapping[str, tuple[float | None, float | None]]) -> dict[str, float | None]:
    """LLMThinkBench's efficiency score of each run from its (accuracy, mean output tokens), over these runs."""
    counted = [tokens for accuracy, tokens in runs.values() if tokens is not None and accuracy is not None]
    low, high = (min(counted), max(counted)) if counted else (0.0, 0.0)
    scores: dict[str, float | None] = {}
    for name, (accuracy, tokens) in runs.items():
        if accuracy is None or tokens is None:
            scores[name] = None
            continue
        if len(counted) < 2:
            scores[name] = accuracy
            continue
        efficiency = 1.0 if high == low else min(1.0, max(0.0, 1 - (tokens - low) / (high - low)))
        scores[name] = 0.0 if accuracy + efficiency == 0 else 2 * accuracy * efficiency / (accuracy + efficiency)
    return scores


def overthinking(runs: Mapping[str, TaskSamples]) -> dict[str, float | None]:
    """THOUGHTTERMINATOR's O_g of each run over the same problems (aligned by id), in tokens; None where tokens were
    not counted or no run solved any problem."""
    if not runs or any(not samples.counted for samples in runs.values()):
        return dict.fromkeys(runs)
    ids = next(iter(runs.values())).ids
    aligned = {name: samples.aligned(ids) for name, samples in runs.items()}
    shortest = np.full(len(ids), np.inf)
    for samples in aligned.values():
        right = np.where(samples.correct, samples.tokens, np.inf)
        shortest = np.minimum(shortest, right.min(axis=1))
    solved = np.isfinite(shortest)
    if not solved.any():
        return dict.fromkeys(runs)
    return {name: float((s.tokens.mean(axis=1) - shortest)[solved].mean()) for name, s in aligned.items()}


def score_rows(runs: list[Run]) -> list[dict[str, Any]]:
    """Per task that every run has, per run: accuracy (over all completions and over those that finished), the share
    cut off with no answer, mean tokens, OckScore, the efficiency score and O_g over these runs."""
    shared = [task for task in runs[0].tasks if all(task in run.tasks for run in runs)]
    rows = []
    for task in shared:
        metrics = {run.name: run.tasks[task].metrics for run in runs}
        efficiency = efficiency_scores({name: (m.accuracy, m.mean_tokens) for name, m in metrics.items()})
        over = overthinking({run.name: run.samples(task) for run in runs})
        for name, m in metrics.items():
            rows.append({
                "run": name, "task": task, "accuracy": m.accuracy, "accuracy_finished": m.accuracy_finished,
                "truncated_no_answer_rate": m.truncated_no_answer_rate, "mean_tokens": m.mean_tokens,
                "ock_score": ock_score(m.accuracy, m.mean_tokens), "efficiency_score": efficiency[name],
                "overthinking_tokens": over[name],
            })  # fmt: skip
    return rows
