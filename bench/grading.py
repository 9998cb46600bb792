"""Grading throughput: sequential math-verify vs effbench's grading pool, on realistic completions; and what each
switchable grading rule does to agreement with the public cases.

    EFFBENCH_DATA_DIR=../shared/datasets python bench/grading.py [count] [workers] [pathological_share]
    python bench/grading.py rules

`rules` grades the public case tables of the tests (`tests/grading_cases.jsonl` and the cases of
`tests/test_grading_rules.py`, each with its human label) with every rule on, then with each rule of
`effbench.grading.switches` off in turn (a fresh process each, as `EFFBENCH_GRADING_OFF` is read at start), and
prints agreement, false accepts and false rejects, and the cases each rule wins and loses: a rule that buys a point
here and loses one there shows as both.

Two comparisons: `count` completions (default 10,000) with nothing pathological, for throughput;
then count/10 completions with `pathological_share` (default 1%) of them pathological, for the
wall time when some inputs make a grader hang.

Completions are built from the full MATH test set: the reference solution as the reasoning,
inside `<think>…</think>`, then a closing sentence with a boxed answer. A third of the answers
are written as the gold is, a third are the same answer written differently (`\\dfrac`, a decimal
for a fraction, `\\$`, units, `x =`, thousands separators, spaces), a third are wrong. A share
of the completions end in a pathological answer (towers of powers, deep nesting,
huge factorials) that can make a grader hang.

Four graders see the same completions, side by side in this one run:
- math-verify as people use it: `verify(parse(gold), parse(completion))` with its defaults, in
  this process, one sample after the other (its own 5 s signal timeouts on);
- the same, on the answers that effbench's extractor found (isolates what the pool adds);
- effbench: extraction here, equivalence in the pool of `workers` processes with a hard timeout;
- `effbench.grade`, the Python API a reward function calls (the whole verdict: reasoning split,
  extraction, equivalence, and for a correct one the position of its first correct answer), one call
  at a time and from 8 threads at once, over a shared pool of `workers` processes (5 s timeout).
Prints samples/s, the ratios, the verdict counts and the slowest single sample of each.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from fractions import Fraction
from pathlib import Path

from effbench.grading.extract import extract
from effbench.grading.pool import GradeJob, GradingPool
from effbench.grading.reasoning import THINK
from effbench.tasks.spec import load_task

PATHOLOGICAL = [
    "9^{9^{9^{9^{9}}}}",
    "\\frac{1}{" * 300 + "2" + "}" * 300,
    "(((((((((((((((((((((((((((((x+1)))))))))))))))))))))))))))))^{99999}",
    "10^{10^{10^{10}}} - 10^{10^{10^{10}}} + 1",
    "123456789!",
]


def rewritten(gold: str, rng: random.Random) -> str:
    """The gold answer written the way another model might write it; the same value."""
    fraction = Fraction(gold) if gold.lstrip("-").replace("/", "", 1).isdigit() else None
    if gold.startswith("\\frac") and rng.random() < 0.5:
        return gold.replace("\\frac", "\\dfrac", 1)
    if fraction is not None and fraction.denominator in (1, 2, 4, 5, 8, 10):
        choices = [f"{float(fraction):g}", f"x = {gold}", f"\\${gold}" if fraction > 0 else gold]
        if abs(fraction) >= 1000 and fraction.denominator == 1:
            choices.append(f"{int(fraction):,}".replace(",", "{,}"))
        return rng.choice(choices)
    if gold.isdigit():
        return rng.choice([f"{gold}\\text{{ units}}", f"{gold}.0", f"{int(gold):,}"])
    if gold.startswith("(") and gold.endswith(")"):
        return rng.choice([f"\\left{gold[:-1]}\\right)", gold.replace(",", ", ")])
    return rng.choice([gold.replace(",", ", "), f" {gold} ", f"${gold}$"])


def completions(count: int, pathological_share: float, seed: int = 0) -> list[tuple[str, str]]:
    """(completion text, gold) pairs."""
    spec = load_task("math")
    path = Path(os.environ["EFFBENCH_DATA_DIR"]) / spec.source.local
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    rng = random.Random(seed)
    pairs = []
    for index in range(count):
        record = records[index % len(records)]
        gold = _gold(record["solution"])
        kind = index % 3
        answer = gold if kind == 0 else rewritten(gold, rng) if kind == 1 else f"{gold}+{rng.randint(1, 9)}"
        if rng.random() < pathological_share:
            answer = rng.choice(PATHOLOGICAL)
        reasoning = record["solution"]
        pairs.append((f"<think>{reasoning}</think>\nSo the final answer is $\\boxed{{{answer}}}$.", gold))
    return pairs


def _gold(solution: str) -> str:
    return extract(solution, "last_boxed")[0]


def math_verify_whole(pairs: list[tuple[str, str]]) -> tuple[float, list[bool], float]:
    from math_verify import parse, verify

    verdicts, slowest, started = [], 0.0, time.perf_counter()
    for text, gold in pairs:
        one = time.perf_counter()
        verdicts.append(bool(verify(parse(f"${gold}$"), parse(text))))
        slowest = max(slowest, time.perf_counter() - one)
    return time.perf_counter() - started, verdicts, slowest


def math_verify_extracted(pairs: list[tuple[str, str]]) -> tuple[float, list[bool], float]:
    from math_verify import parse, verify

    verdicts, slowest, started = [], 0.0, time.perf_counter()
    for text, gold in pairs:
        one = time.perf_counter()
        answer, _ = extract(THINK.split(text).answer, "math")
        verdicts.append(bool(verify(parse(f"${gold}$"), parse(f"${answer}$"))))
        slowest = max(slowest, time.perf_counter() - one)
    return time.perf_counter() - started, verdicts, slowest


def pooled(pairs: list[tuple[str, str]], workers: int, timeout: float) -> tuple[float, list[str]]:
    with GradingPool(workers, timeout=timeout) as pool:
        pool.submit(GradeJob("math", "1", "1")).result()  # workers started before the clock, as in a run
        started = time.perf_counter()
        futures = [pool.submit(GradeJob("math", extract(THINK.split(t).answer, "math")[0], g)) for t, g in pairs]
        verdicts = [f.result()[0] for f in futures]
        return time.perf_counter() - started, verdicts


def api(pairs: list[tuple[str, str]], threads: int) -> tuple[float, list[str]]:
    """`effbench.grade` on every pair, from `threads` threads at once (the pool's workers started before the clock)."""
    from concurrent.futures import ThreadPoolExecutor

    import effbench

    effbench.grade("\\boxed{1}", "1")
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as executor:
        verdicts = [g.verdict for g in executor.map(lambda pair: effbench.grade(*pair), pairs)]
    return time.perf_counter() - started, verdicts


def compare(count: int, share: float, workers: int, timeout: float) -> None:
    pairs = completions(count, share)
    print(
        f"\n{count} completions (mean {sum(len(t) for t, _ in pairs) / count:.0f} chars), "
        f"{share:.1%} pathological, pool of {workers} workers, timeout {timeout:g} s, {os.cpu_count()} cores"
    )
    whole_s, whole, whole_max = math_verify_whole(pairs)
    print(
        f"  math-verify, whole completion: {whole_s:8.2f} s {count / whole_s:8.1f}/s  correct {sum(whole):5d}  "
        f"slowest sample {whole_max:.2f} s"
    )
    part_s, part, part_max = math_verify_extracted(pairs)
    print(
        f"  math-verify, extracted answer: {part_s:8.2f} s {count / part_s:8.1f}/s  correct {sum(part):5d}  "
        f"slowest sample {part_max:.2f} s"
    )
    pool_s, verdicts = pooled(pairs, workers, timeout)
    counts = ", ".join(f"{v} {verdicts.count(v)}" for v in sorted(set(verdicts)))
    print(f"  effbench pool:                 {pool_s:8.2f} s {count / pool_s:8.1f}/s  {counts}")
    print(
        f"  speed-up vs math-verify on whole completions: {whole_s / pool_s:.2f}x; on extracted answers: {part_s / pool_s:.2f}x"
    )
    for threads in (1, 8):
        api_s, verdicts = api(pairs, threads)
        counts = ", ".join(f"{v} {verdicts.count(v)}" for v in sorted(set(verdicts)))
        print(f"  effbench.grade, {threads} thread(s):   {api_s:8.2f} s {count / api_s:8.1f}/s  {counts}")
        print(f"    vs math-verify on whole completions: {whole_s / api_s:.2f}x")


def public_cases() -> list[dict]:
    """The labelled cases of the tests: the case table, and the rule cases with their near misses."""
    tests = Path(__file__).resolve().parent.parent / "tests"
    rows = [json.loads(line) for line in (tests / "grading_cases.jsonl").read_text().splitlines()]
    sys.path.insert(0, str(tests.parent))
    from tests.test_grading_rules import CASES, QUESTION

    for gold, completion, verdict, _ in CASES.values():
        rows.append({"gold": gold, "completion": completion, "expected": verdict == "correct", "question": QUESTION})
    return rows


def verdicts_here() -> None:
    """One configuration (the rules this process has off): each case's verdict as a JSON list on stdout."""
    from effbench.run.grade_file import grade_outputs

    rows = public_cases()
    graded = grade_outputs([{k: v for k, v in r.items() if k != "expected"} for r in rows], task=None, workers=2, timeout=30)
    print(json.dumps([row["correct"] for row in graded]))


def rules_agreement() -> None:
    import subprocess

    from effbench.grading.switches import SWITCHABLE

    expected = [row["expected"] for row in public_cases()]

    def run(off: str) -> list[bool]:
        env = {**os.environ, "EFFBENCH_GRADING_OFF": off}
        done = subprocess.run([sys.executable, __file__, "verdicts"], env=env, capture_output=True, text=True, check=True)
        return json.loads(done.stdout.strip().splitlines()[-1])

    def line(name: str, got: list[bool], base: list[bool] | None) -> str:
        agree = sum(g == e for g, e in zip(got, expected, strict=True))
        false_accepts = sum(g and not e for g, e in zip(got, expected, strict=True))
        said = f"{name:26s} {agree:4d}/{len(expected)} agree ({100 * agree / len(expected):5.1f}%)"
        said += f"  false accepts {false_accepts:3d}"
        said += f"  false rejects {sum(e and not g for g, e in zip(got, expected, strict=True)):3d}"
        if base is not None:
            wins = sum(b == e != g for b, g, e in zip(base, got, expected, strict=True))
            losses = sum(g == e != b for b, g, e in zip(base, got, expected, strict=True))
            said += f"  the rule wins {wins:3d}, loses {losses:3d}"
        return said

    print(f"{len(expected)} labelled public cases, graded with every rule on, then with each rule off")
    base = run("")
    print(line("all rules on", base, None))
    for name in SWITCHABLE:
        print(line(f"without {name}", run(name), base))


def main() -> None:
    import logging

    logging.getLogger("math_verify").setLevel(logging.CRITICAL)
    if sys.argv[1:2] == ["rules"]:
        return rules_agreement()
    if sys.argv[1:2] == ["verdicts"]:
        return verdicts_here()
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    share = float(sys.argv[3]) if len(sys.argv) > 3 else 0.01
    os.environ.setdefault("EFFBENCH_GRADE_WORKERS", str(workers))  # effbench.grade's shared pool: the same size
    os.environ.setdefault("EFFBENCH_GRADE_TIMEOUT", "5")  # and the same timeout as the pool's below
    compare(count, 0.0, workers, timeout=5.0)  # throughput on realistic completions
    compare(max(count // 10, 100), share, workers, timeout=5.0)  # worst case: some inputs make graders hang


if __name__ == "__main__":
    main()
