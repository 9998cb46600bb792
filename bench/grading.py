"""Grading throughput: sequential math-verify vs effbench's grading pool, on realistic completions.

    python bench/grading.py [count] [workers]

Completions are built from MATH-500 gold answers: a long reasoning text, then a boxed answer,
correct for half of them. Both sides grade the same (answer, gold) pairs; the sequential side is
math-verify's parse + verify with its default settings, in this process. Prints samples/s and the
ratio, measured side by side in one run. Needs EFFBENCH_DATA_DIR.
"""

from __future__ import annotations

import random
import sys
import time

from effbench.data import load_dataset
from effbench.extract import extract, split_reasoning
from effbench.pool import GradeJob, GradingPool
from effbench.tasks import load_task

REASONING = "Let us expand the expression and collect like terms, checking each step carefully. " * 30


def completions(count: int) -> list[tuple[str, str]]:
    """(completion text, gold) pairs; every other answer is perturbed so it is wrong."""
    samples = load_dataset(load_task("math500")).samples
    rng = random.Random(0)
    pairs = []
    for index in range(count):
        gold = samples[index % len(samples)].gold
        answer = gold if index % 2 == 0 else f"{gold}+{rng.randint(1, 9)}"
        pairs.append((f"<think>{REASONING}</think>So the final answer is $\\boxed{{{answer}}}$.", gold))
    return pairs


def sequential(pairs: list[tuple[str, str]]) -> tuple[float, int]:
    from math_verify import parse, verify

    started, correct = time.perf_counter(), 0
    for text, gold in pairs:
        answer, _ = extract(split_reasoning(text).answer, "math")
        correct += bool(verify(parse(f"${gold}$"), parse(f"${answer}$")))
    return time.perf_counter() - started, correct


def pooled(pairs: list[tuple[str, str]], workers: int) -> tuple[float, int]:
    with GradingPool(workers, timeout=10) as pool:
        pool.submit(GradeJob("math", "1", "1")).result()  # workers started before the clock, as in a run
        started = time.perf_counter()
        futures = [pool.submit(GradeJob("math", extract(split_reasoning(t).answer, "math")[0], g)) for t, g in pairs]
        correct = sum(f.result()[0] == "correct" for f in futures)
        return time.perf_counter() - started, correct


def main() -> None:
    import logging

    logging.getLogger("math_verify").setLevel(logging.ERROR)
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    pairs = completions(count)
    seq_s, seq_correct = sequential(pairs)
    pool_s, pool_correct = pooled(pairs, workers)
    print(f"completions: {count}, pool workers: {workers}")
    print(f"sequential math-verify: {seq_s:8.2f} s  {count / seq_s:8.1f} samples/s  correct {seq_correct}")
    print(f"effbench pool:          {pool_s:8.2f} s  {count / pool_s:8.1f} samples/s  correct {pool_correct}")
    print(f"speed-up (sequential / pool): {seq_s / pool_s:.2f}x")


if __name__ == "__main__":
    main()
