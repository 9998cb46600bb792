"""No input makes grading hang: megabyte-long and adversarial completions end in a verdict or a timeout.

The limits below are generous (the work takes well under a second); they catch a rule that went
quadratic or exponential, which at these sizes takes hours, not a slow machine.
"""

import random
import threading

import pytest

from effbench.grading.conventions import chinese_math, with_decimal_points, writes_decimal_commas
from effbench.grading.equivalence import as_number, choice_letters, for_math_verify, normal_text, option_gold, relations_as_union
from effbench.grading.extract import EXTRACTORS, extract
from effbench.grading.reasoning import FORMATS
from effbench.run.grade_file import grade_outputs

MEGABYTE = 1_000_000
PIECES = [
    "$",
    "$$",
    "\\(",
    "\\[",
    "\\boxed{",
    "{",
    "}",
    "####",
    "<think>",
    "</think>",
    "the answer is ",
    "Answer:",
    "option ",
    "1,",
    "A ",
    ". ",
    "\\frac{",
    "\\text{a}",
    "\\{x|",
    "> ",
    "C_{",
    "x = ",
    "5 ",
    "a",
    " and ",
    # the conventions beyond English: Chinese statements and words, prose letters, decimal commas, other formats
    "【答案】",
    "<eoa>",
    "<eoe>",
    "故选",
    "所以",
    "的值为",
    "答案是",
    "根号",
    "三分之",
    "负",
    "或",
    "、",
    "。",
    "（Ｃ）",
    "１",
    "has to be ",
    "C, because ",
    "Die Antwort ist ",
    "2.499,50 €",
    "3,5 ",
    "x<-1 or ",
    "<|end_of_thought|>",
    "<|begin_of_thought|>",
    "<Thought>",
    "</Thought>",
    "analysis",
    "assistantfinal",
]


def adversarial(size: int) -> dict[str, str]:
    texts = {piece: piece * (size // len(piece)) for piece in PIECES}
    rng = random.Random(0)
    for index in range(3):
        texts[f"random{index}"] = "".join(rng.choice(PIECES) for _ in range(size // 6))
    return {name: variant for name, text in texts.items() for variant in (text, "5 " + text + "!")}


def finishes_within(seconds: float, work) -> bool:
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(seconds)
    return not thread.is_alive()


def test_extraction_is_linear_on_megabyte_completions():
    def work():
        for text in adversarial(MEGABYTE).values():
            for reasoning in FORMATS.values():
                reasoning.is_open(text)
                split = reasoning.split(text)
            split = FORMATS["think"].split(text)
            for extractor in EXTRACTORS:
                if not split.unfinished:
                    extract(split.answer, extractor)

    assert finishes_within(120, work)


@pytest.mark.parametrize("megabytes", [1, 4])
def test_a_huge_completion_is_read_in_linear_time_or_ends_timeout(megabytes):
    """Every rule, the fallback, the debris cut and the stated answers searched, on prose with numbers and no marked
    answer: the path on which every rule reads the whole text. Within a generous bound at 1 and 4 MB; and with a pool
    timeout shorter than the reading takes, the verdict is timeout, not no_answer."""
    from effbench.grading.pool import GradingPool
    from effbench.grading.scoring import Rules, score
    from effbench.types import Completion

    line = "We compute 12 + 7 = 19, so the total is 19 and $x = 3$ works; hmm, 3,5 or 2.5 and no debris. "
    text = line * (megabytes * MEGABYTE // len(line))
    completion = Completion(text=text, tokens=None, finish_reason="stop", token_count_source="none")
    with GradingPool(1, timeout=60) as pool:
        assert finishes_within(30 * megabytes, lambda: score(pool, completion, "19", Rules(), None, "q").result())
    with GradingPool(1, timeout=0.01) as pool:
        grade = score(pool, completion, "19", Rules(), None, "q").result()
    assert grade.verdict == "timeout" and "more than the grading timeout" in grade.detail


@pytest.mark.parametrize(
    "normalise",
    [
        as_number,
        choice_letters,
        normal_text,
        for_math_verify,
        chinese_math,
        relations_as_union,
        option_gold,
        writes_decimal_commas,
        with_decimal_points,
    ],
)
def test_answer_normalisations_are_linear(normalise):
    assert finishes_within(60, lambda: [normalise(text) for text in adversarial(200_000).values()])


def test_grade_command_ends_every_adversarial_line(tmp_path):
    rows = [
        {"gold": "1", "completion": f"\\boxed{{{answer}}}"}
        for answer in (
            "9^{9^{9^{9^{9}}}}",
            "\\frac{1}{" * 300 + "2" + "}" * 300,
            "x" * MEGABYTE,
            "10^{10^{10^{10}}} - 10^{10^{10^{10}}} + 1",
        )
    ]
    rows += [{"gold": "1", "completion": text} for text in list(adversarial(MEGABYTE).values())[::7]]
    rows.append({"gold": "1", "completion": "\\boxed{1}"})
    graded = list(grade_outputs(rows, task=None, workers=2, timeout=3))
    assert len(graded) == len(rows)
    assert {row["status"] for row in graded} <= {"graded", "no_answer", "unfinished", "timeout"}
    assert graded[-1]["correct"] is True  # the run went on after the stuck ones
