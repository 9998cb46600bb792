"""The public case table: gold, completion and the human label, through `effbench grade` in the pool.

`grading_cases.jsonl` holds cases from the test suites and bug reports of math-verify,
lm-evaluation-harness, Qwen2.5-Math, PRM800K and the MATH paper, and cases written in the style of
the datasets' gold answers; each line says why and where it comes from.
"""

import json
from pathlib import Path

import pytest

from effbench.run.grade_file import grade_outputs

CASES = [json.loads(line) for line in (Path(__file__).parent / "grading_cases.jsonl").read_text().splitlines()]

# Cases effbench still gets wrong, each with the reason; strict, so a fix has to move it out of here.
KNOWN_MISSES = {
    ("D", "\\mathrm{(D)\\}1,008,016"): "a malformed letter with its option value glued on",
    ("3", "It takes three bolts in total."): "number words are not numbers inside a sentence",
    ("$\\text{a necessary but not a sufficient condition}$", "necessary but not sufficient"): "wording, not math",
    ("$Quadrant I$", "the first quadrant"): "wording, not math",
    ("$C_{400}^{40} \\cdot C_{200}^{20}$", "\\binom{400}{40}\\binom{200}{20}"): "adjacent \\binom products mis-parse",
}


@pytest.fixture(scope="module")
def graded():
    return list(grade_outputs(CASES, task=None, workers=2, timeout=20))


def test_the_table_is_large_and_balanced():
    tasks = {case["task"] for case in CASES}
    assert len(CASES) >= 400 and {"math", "gsm8k", "aime", "gaokao", None} <= tasks
    assert 0.3 < sum(not case["expected"] for case in CASES) / len(CASES) < 0.5


@pytest.mark.parametrize("index", range(len(CASES)), ids=lambda i: f"line{i + 1}")
def test_case(graded, index):
    case, row = CASES[index], graded[index]
    miss = KNOWN_MISSES.get((case["gold"], case["completion"]))
    if miss:
        assert row["correct"] is not case["expected"], f"fixed now; remove it from KNOWN_MISSES ({miss})"
        pytest.xfail(miss)
    assert row["correct"] is case["expected"], (case["why"], case["source"], row["pred"], row["status"])
