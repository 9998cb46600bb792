"""Efficiency metrics against hand-computed values, and O1-Pruner's Table 2 reproduced from its inputs."""

from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from effbench.analysis.compare import (
    AESWeights,
    Paired,
    Side,
    TaskComparison,
    aes,
    average,
    compression,
    efficiency,
    paired,
    summary,
)
from effbench.analysis.leaderboard import load_leaderboard
from effbench.analysis.metrics import task_metrics
from effbench.analysis.published import published_efficiency
from effbench.analysis.stats import mcnemar_exact, pass_at_k
from effbench.store.runs import TaskSamples
from effbench.types import Completion, Grade, Sample, Scored

LEADERBOARDS = Path(__file__).parent.parent / "effbench" / "leaderboards"


@pytest.mark.parametrize(
    ("base_acc", "acc", "base_len", "length", "weights", "expected", "published"),
    [
        (0.5, 0.6, 1000, 800, AESWeights(), 0.2 + 3 * 0.2, 0.8),  # shorter and better
        (0.5, 0.4, 1000, 500, AESWeights(), 0.5 - 5 * 0.2, 0.5 + 3 * 0.2),  # shorter, worse: the penalty branch
        (0.5, 0.5, 1000, 1000, AESWeights(), 0.0, 0.0),  # the baseline against itself
        (0.5, 0.6, 1000, 1200, AESWeights(), -0.2 + 0.6, 0.4),  # longer and better
        (0.5, 0.6, 1000, 800, AESWeights(1, 5, 10), 0.2 + 5 * 0.2, 1.2),  # another paper's weights
        (0.5, 0.0, 1000, 0, AESWeights(), 1.0 - 5 * 1.0, 1.0 + 3 * 1.0),  # no chain at all, all wrong
        (0.0, 0.5, 1000, 800, AESWeights(), None, None),  # ΔA undefined for a baseline at 0
        (0.5, 0.5, 0, 10, AESWeights(), None, None),  # ΔL undefined for an empty baseline
    ],
)
def test_aes(base_acc, acc, base_len, length, weights, expected, published):
    got = aes(base_acc, acc, base_len, length, weights)
    got_published = aes(base_acc, acc, base_len, length, weights, as_published=True)
    assert got == pytest.approx(expected) if expected is not None else got is None
    assert got_published == pytest.approx(published) if published is not None else got_published is None


@pytest.mark.parametrize(
    ("base", "model", "expected"), [(1000, 250, 0.75), (1000, 1000, 0.0), (1000, 0, 1.0), (500, 750, -0.5), (0, 10, None)]
)
def test_compression(base, model, expected):
    assert compression(base, model) == (pytest.approx(expected) if expected is not None else None)


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (1, 1, 1, 1.0),
        (1, 0, 1, 0.0),
        (5, 0, 3, 0.0),
        (5, 5, 3, 1.0),
        (4, 1, 2, 0.5),
        (4, 1, 1, 0.25),
        (10, 3, 5, 1 - 21 / 252),
        (3, 1, 3, 1.0),
    ],
)
def test_pass_at_k(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected)


def test_pass_at_k_refuses_k_above_n():
    with pytest.raises(ValueError, match="1 <= k <= n"):
        pass_at_k(2, 1, 3)


@pytest.mark.parametrize(
    ("only_first", "only_second", "p"),
    [
        (0, 0, 1.0),
        (5, 0, 2 / 32),
        (0, 5, 2 / 32),
        (3, 1, 2 * 5 / 16),
        (10, 2, 2 * 79 / 4096),
        (1, 2, 1.0),
    ],
)
def test_mcnemar_exact(only_first, only_second, p):
    assert mcnemar_exact(only_first, only_second) == pytest.approx(p)


def samples(correct, tokens) -> TaskSamples:
    correct = np.asarray(correct, dtype=bool)
    return TaskSamples(tuple(str(i) for i in range(len(correct))), correct, np.asarray(tokens, dtype=float))


def test_paired_statistics_by_hand():
    base = samples([[1], [0], [1], [0]], [[100], [200], [300], [400]])
    model = samples([[1], [1], [0], [1]], [[50], [100], [150], [200]])
    result = paired(base, model)
    assert result.accuracy_delta == pytest.approx(0.25)
    assert (result.only_baseline_correct, result.only_run_correct) == (1, 2)
    assert result.mcnemar_p == pytest.approx(1.0)
    assert result.token_ratio == pytest.approx(0.5)
    assert result.token_ratio_ci95 == pytest.approx((0.5, 0.5))  # every sample halved: no spread
    low, high = result.accuracy_delta_ci95
    assert low <= 0.25 <= high and low < 0 < high  # four samples cannot tell this change from noise


def test_paired_difference_detects_a_real_drop():
    rng = np.random.default_rng(1)
    base_correct = rng.random((400, 1)) < 0.8
    model_correct = base_correct & (rng.random((400, 1)) < 0.7)  # loses about 30% of its right answers
    result = paired(samples(base_correct, np.full((400, 1), 100)), samples(model_correct, np.full((400, 1), 100)))
    assert result.accuracy_delta_ci95[1] < 0 and result.mcnemar_p < 1e-6


def test_average_names_both_aes_averages():
    tasks = {}
    for task, (base_acc, acc, base_len, length) in {"a": (0.5, 0.6, 1000, 800), "b": (0.8, 0.4, 100, 50)}.items():
        scores = efficiency(base_acc, acc, base_len, length, AESWeights())
        pairs = Paired(4, acc - base_acc, None, 1.0, 0, 0, length / base_len, None)
        tasks[task] = TaskComparison(
            **asdict(scores), **asdict(pairs), baseline=Side(base_acc, None, base_len), run=Side(acc, None, length), notes=()
        )
    result = average(tasks, AESWeights())
    assert result.aes_mean_of_tasks == pytest.approx((0.8 + (0.5 - 5 * 0.5)) / 2)
    assert result.aes_of_means == pytest.approx(aes(0.65, 0.5, 550, 425))
    assert result.aes_mean_of_tasks != pytest.approx(result.aes_of_means)


def test_summary_of_all_right_and_all_wrong():
    assert summary(samples([[1, 1], [1, 1]], [[3, 5], [7, 9]])).accuracy == 1.0
    assert summary(samples([[0, 0], [0, 0]], [[0, 0], [0, 0]])).mean_tokens == 0.0


def test_o1_pruner_table_2_is_reproduced():
    board = load_leaderboard(LEADERBOARDS / "o1_pruner.yaml")
    rows = published_efficiency(board)
    assert len(rows) == 32  # 8 entries with a baseline × (3 tasks + the average)
    for row in rows:
        assert row["aes_as_published"] == pytest.approx(row["aes_published"], abs=0.006), row
    fell = [r for r in rows if r["task"] != "average" and r["aes"] < r["aes_as_published"] - 1e-9]
    assert fell  # where accuracy fell, the paper's own formula gives less than its table
    marco_gsm8k = next(r for r in rows if r["entry"] == "marco-o1-7b-fast-solving-prompt" and r["task"] == "gsm8k")
    assert marco_gsm8k["aes"] == pytest.approx(-0.264, abs=0.001) and marco_gsm8k["aes_published"] == 0.41


def scored(sample_id, verdicts_and_answers, tokens, reasoning=None, finish="stop") -> Scored:
    grades = tuple(Grade(v, answer=a) for v, a in verdicts_and_answers)
    completions = tuple(Completion(text="x", tokens=t, finish_reason=finish, reasoning_tokens=reasoning) for t in tokens)
    return Scored(Sample(sample_id, "q", "1", {"level": "Level 1"}), "p", completions, grades)


def test_task_metrics_by_hand():
    items = [
        scored("a", [("correct", "1"), ("wrong", "2"), ("wrong", "2"), ("correct", "1.0")], [10, 20, 30, 40], reasoning=5),
        scored(
            "b", [("wrong", "3"), ("wrong", "4"), ("no_answer", None), ("correct", "1")], [100, 200, 300, 400], finish="length"
        ),
    ]
    metrics = task_metrics(items, ("level",)).model_dump(mode="json")
    assert metrics["accuracy"] == pytest.approx((0.5 + 0.25) / 2)
    assert metrics["pass_at_k"] == pytest.approx({"1": 0.375, "2": (1 - 1 / 6 + 0.5) / 2, "4": 1.0})
    # a: votes correct 2, "2" 2 -> a tie shared; b: 3, 4, correct one each -> a three-way tie
    assert metrics["maj_at_k"]["4"] == pytest.approx((0.5 + 1 / 3) / 2)
    assert metrics["maj_at_k"]["1"] == pytest.approx(0.5)
    assert metrics["tokens"]["mean"] == pytest.approx(1100 / 8)
    assert metrics["correct_tokens"]["mean"] == pytest.approx((10 + 40 + 400) / 3)
    assert metrics["wrong_tokens"]["max"] == 300
    assert metrics["tokens_per_correct"] == pytest.approx(1100 / 3)
    assert metrics["answer_tokens"]["mean"] == pytest.approx((5 + 15 + 25 + 35) / 4)
    assert metrics["truncation_rate"] == 0.5
    assert metrics["truncation_curve"]["16"] == pytest.approx(1 / 8)
    assert metrics["truncation_curve"]["512"] == pytest.approx(3 / 8)
    assert metrics["breakdown"]["level"]["Level 1"]["samples"] == 2


def test_task_metrics_with_n_1_and_zero_length_completions():
    metrics = task_metrics([scored("a", [("wrong", "2")], [0]), scored("b", [("wrong", None)], [0])]).model_dump(mode="json")
    assert metrics["accuracy"] == 0.0 and metrics["pass_at_k"] == {"1": 0.0} and metrics["maj_at_k"] == {"1": 0.0}
    assert metrics["tokens_per_correct"] is None and metrics["tokens"]["mean"] == 0.0


def test_outcome_efficiency_by_hand():
    def grade(verdict, first=None):
        return Grade(verdict, answer="1", first_correct=first)

    def item(sample_id, *grades):
        completions = tuple(Completion(text="x", tokens=10, finish_reason="stop") for _ in grades)
        return Scored(Sample(sample_id, "q", "1"), "p", completions, tuple(grades))

    metrics = task_metrics(
        [item("a", grade("correct", 0.25), grade("wrong")), item("b", grade("correct"), grade("correct", 0.5))]
    ).model_dump(mode="json")
    # a: (0.25 + 0) / 2; b: (1.0 for a correct one with no located answer + 0.5) / 2
    assert metrics["outcome_efficiency"] == pytest.approx((0.125 + 0.75) / 2)
    assert metrics["outcome_efficiency_located"] == 2 and metrics["correct_completions"] == 3


@pytest.mark.parametrize(("verdict", "expected"), [("correct", 1.0), ("wrong", 0.0)])
def test_task_metrics_all_right_and_all_wrong(verdict, expected):
    items = [scored(str(i), [(verdict, "1")] * 4, [5, 6, 7, 8]) for i in range(3)]
    metrics = task_metrics(items).model_dump(mode="json")
    assert metrics["accuracy"] == expected and metrics["accuracy_ci95"] == [expected, expected]
    assert metrics["pass_at_k"] == {"1": expected, "2": expected, "4": expected}
    assert metrics["maj_at_k"] == {"1": expected, "2": expected, "4": expected}
    assert metrics["tokens_per_correct"] == (pytest.approx(78 / 12) if expected else None)


def test_task_metrics_do_not_depend_on_the_order_samples_finished_in():
    """A run's samples are stored as they finish, which varies with batching: the same samples, the same numbers."""
    import random

    items = [scored(str(i), [("correct" if i % 3 else "wrong", str(i))], [10 + 7 * i], reasoning=3) for i in range(60)]
    shuffled = items[:]
    random.Random(5).shuffle(shuffled)
    assert task_metrics(shuffled, ()) == task_metrics(items, ())
