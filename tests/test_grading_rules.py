"""Each grading rule of the last classes of disagreement, with a near miss that must stay wrong.

The cases are written here; none comes from held-out acceptance data. Each is graded the way a run grades it (the
reasoning split, extraction, the pool), with the question and the finish reason a run passes.
"""

import pytest

from effbench.grading.gold import Grading
from effbench.grading.pool import GradingPool
from effbench.grading.scoring import Rules, score
from effbench.types import Completion

QUESTION = "A rod 7 cm long is cut into two equal pieces. How long is each piece?"


@pytest.fixture(scope="module")
def pool():
    with GradingPool(2, timeout=20) as shared:
        yield shared


def graded(pool, text, gold, *, question=QUESTION, finish="stop", rules=None):
    completion = Completion(text=text, tokens=None, finish_reason=finish, token_count_source="none")
    return score(pool, completion, gold, rules or Rules(), None, question).result()


# (gold, completion, verdict, rule): a right answer the rule finds, then its near miss
CASES = {
    "prose, English": ("3.5", "So the length is 3.5 cm.", "correct", "last_number"),
    "prose, French decimal comma": ("3.5", "La longueur est donc de 3,5 cm.", "correct", "last_number"),
    "prose, Chinese": ("3.5", "所以长度是3.5厘米。", "correct", "zh_therefore"),
    "prose, Arabic with Arabic digits": ("3.5", "إذن الطول هو ٣٫٥ سم.", "correct", "last_number"),
    "prose, Hindi": ("3.5", "अतः लंबाई 3.5 सेमी है।", "correct", "last_number"),
    "prose, a wrong number": ("3.5", "So the length is 4.5 cm.", "wrong", "last_number"),
    "prose, the question's number repeated": ("3.5", "Halving it, as the question says, a rod of 7", "no_answer", "last_number"),
    "option text, letter": ("C Cecile", "The answer is C.", "correct", "answer_is"),
    "option text, the text": ("C Cecile", "The answer is Cecile.", "correct", "answer_is"),
    "option text, another letter": ("C Cecile", "The answer is B.", "wrong", "answer_is"),
    "option text, another name": ("C Cecile", "The answer is Cecilia.", "wrong", "answer_is"),
    "option in brackets, value": ("(B) 12", "\\boxed{12}", "correct", "boxed"),
    "option in brackets, another value": ("(B) 12", "\\boxed{13}", "wrong", "boxed"),
    "unit symbol": ("5", "\\boxed{5 m²}", "correct", "boxed"),
    "unit in the gold": ("5 \\text{ m}^2", "\\boxed{5}", "correct", "boxed"),
    "currency before": ("12", "The answer is ₹12.", "correct", "answer_is"),
    "currency word": ("12", "\\boxed{12 dollars}", "correct", "boxed"),
    "percent": ("20\\%", "\\boxed{20}", "correct", "boxed"),
    "unit, another number": ("5", "\\boxed{6 m²}", "wrong", "boxed"),
    "a variable is no unit": ("5n", "\\boxed{5}", "wrong", "boxed"),
    "debris, new turn": ("5", "The answer is 5.<|im_start|>user\nWhat is 2+3? The answer is 9", "correct", "answer_is"),
    "debris, end of text": ("5", "The answer is 5 <|endoftext|>", "correct", "answer_is"),
    "debris, repeated question": ("5", "The answer is 5.\n\nQuestion: A rod 7 cm long", "correct", "answer_is"),
    "debris, DeepSeek's token": ("5", "\\boxed{5}<｜end▁of▁sentence｜><｜User｜>\\boxed{6}", "correct", "boxed"),
    "debris, the answer wrong before it": ("5", "The answer is 6.<|im_end|>The answer is 5.", "wrong", "answer_is"),
    "several boxes": ("-2, 1", "\\boxed{-2} \\quad \\text{and} \\quad \\boxed{1}", "correct", "several_boxes"),
    "several boxes, one wrong": ("-2, 1", "\\boxed{-2} \\text{ and } \\boxed{2}", "wrong", "several_boxes"),
    "boxes apart are not one answer": ("-2, 1", "\\boxed{-2} is rejected, so \\boxed{1}", "wrong", "boxed"),
    "tuple under decimal commas": ("(2,4)", "Die Antwort ist 3,5 oder \\boxed{(2,4)}", "correct", "boxed"),
    "tuple under decimal commas, other order": ("(2,4)", "Die Antwort ist 3,5 oder \\boxed{(4,2)}", "wrong", "boxed"),
    "ordinal": ("12", "\\boxed{12^{\\text{th}}}", "correct", "boxed"),
    "ordinal with its noun": ("12", "\\boxed{12^{\\mathrm{th}}\\text{ grade}}", "correct", "boxed"),
    "ordinal, plain": ("21", "She finished \\boxed{21st}", "correct", "boxed"),
    "a power is no ordinal": ("12", "\\boxed{12^{2}}", "wrong", "boxed"),
    "prose after the marker": ("5", "Answer: To determine the value we first", "no_answer", "prose_after_marker"),
    "Okay after the marker": ("5", "Answer: Okay, so let me", "no_answer", "prose_after_marker"),
    "a sentence stating the answer": ("5", "Answer: The value is 5", "correct", "answer_is"),
    "a word answer after the marker": ("Cecile", "Answer: Cecile", "correct", "answer_is"),
    "forms not simplified alike": ("\\frac{1}{\\sqrt{n}}", "\\boxed{\\sqrt{1/n}}", "correct", "boxed"),
    "forms equal only where x > 0": ("x", "\\boxed{\\sqrt{x^2}}", "wrong", "boxed"),
    "approximation without the task's consent": ("\\frac{1}{3}", "\\boxed{0.333}", "wrong", "boxed"),
}


@pytest.mark.parametrize("name", CASES)
def test_each_rule_and_its_near_miss(pool, name):
    gold, text, verdict, rule = CASES[name]
    grade = graded(pool, text, gold)
    assert (grade.verdict, grade.rule) == (verdict, rule), (grade.answer, grade.detail)


def test_debris_is_said_in_the_detail(pool):
    grade = graded(pool, "The answer is 5 <|endoftext|>", "5")
    assert "chat-template debris" in grade.detail and "<|endoftext|>" in grade.detail


def test_the_fallback_never_takes_the_last_number_of_a_cut_off_chain(pool):
    text = "Half of 7 is 3.5, so each piece is 3.5 cm; check: 3.5 plus 3.5 is 7 and 7 divided by 3.5 is 2"
    assert graded(pool, text, "2", finish="stop").verdict == "correct"
    cut = graded(pool, text, "2", finish="length")
    assert (cut.verdict, cut.rule) == ("no_answer", "last_number") and "cut off" in cut.detail


def test_the_fallback_never_overrides_a_marked_answer(pool):
    assert graded(pool, "The answer is 6. Later I found 3.5", "3.5").verdict == "wrong"
    assert graded(pool, "\\boxed{6}, not 3.5", "3.5").verdict == "wrong"


def test_an_approximation_is_accepted_only_where_the_task_says_so(pool):
    rules = Rules(grading=Grading(approximate=True))
    assert graded(pool, "\\boxed{0.333}", "\\frac{1}{3}", rules=rules).verdict == "correct"
    assert graded(pool, "\\boxed{1.414}", "\\sqrt{2}", rules=rules).verdict == "correct"
    assert graded(pool, "\\boxed{0.33}", "\\frac{1}{3}", rules=rules).verdict == "wrong"  # two figures only
    assert graded(pool, "\\boxed{0.332}", "\\frac{1}{3}", rules=rules).verdict == "wrong"  # off in its last digit
