"""Decide whether an extracted answer equals the gold answer.

Two graders, named by the tasks: `math` (math-verify underneath, with the normalisations the
datasets' gold answers need) and `number` (values compare exactly: GSM8K, AMC, AIME). Both
accepts the cheap cases first (same text once formatting is gone, same number) and only then asks
math-verify. Graders run in the worker processes of `effbench.pool`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from fractions import Fraction


def _strip_math(text: str) -> str:
    """The answer without math delimiters: `$x$`, `$$x$$`, `$2$ and $-3$`, `\\(x\\)`, `\\[x\\]`; `\\$` stays."""
    text = re.sub(r"(?<!\\)\$", "", text).strip()
    while text[:2] in ("\\(", "\\[") and text[-2:] in ("\\)", "\\]"):
        text = text[2:-2].strip()
    return text


TEXT_WRAPPERS = re.compile(r"\\(?:text|textbf|textrm|mathrm|mathbf|mbox|operatorname)\s*\{([^{}]*)\}")
SPACING = re.compile(r"\\[,!;: ]|\\(?:left|right|displaystyle)\b|~|\s+")
PERCENT = re.compile(r"\\?%")
DEGREES = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|\\circ|°|\\degree")


def normal_text(answer: str) -> str:
    """The answer as text with formatting gone: `\\text{4:30 p.m.}` and `4:30 \\text{ p.m.}` both give `4:30p.m.`."""
    text = TEXT_WRAPPERS.sub(r"\1", _strip_math(answer)).replace("**", "")
    text = SPACING.sub("", text).replace("{,}", ",").replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    return text.rstrip(".").lower()


# --- numbers ---------------------------------------------------------------------------------

WORD_NUMBERS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
DIGIT_GROUP_SEPARATOR = re.compile(r"(?<=\d)(?:\{,\}|\\,|\\ |\\!)(?=\d{3}(?!\d))")
PLAIN_NUMBER = re.compile(
    r"(?:[^=]*=)?\s*"                               # `x = 5`, `m+n = 25`: the value after the last `=`
    r"(?P<sign>[-−+]?)\s*(?:\\\$|\$|€|£|¥)?\s*"      # sign, currency
    r"(?P<number>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d*\.?\d+)"  # thousands grouped only by threes: `1,2` is a list
    r"(?:\s*(?:[A-Za-z]{2,}\.?|\^\{?\d\}?|/))*"      # unit words: `5 apples`, `3 cm^2`, `60 km/hr`
    r"\s*\.?"
)


def as_number(text: str) -> Fraction | None:
    """The exact value of an answer that is one number, with its formatting dropped, else None.

    Thousands separators (`1,000`, `10{,}000`, `10\\,000`), currency, percent and degree signs,
    `\\text{}` units, `x =` and number words up to twenty are dropped; `1,2` is not a number.
    """
    text = _strip_math(text).replace("**", "")
    text = WORD_NUMBERS.get(text.strip().rstrip(".").lower(), text)
    text = DIGIT_GROUP_SEPARATOR.sub(",", text.replace("{,}", ","))
    text = re.sub(r"\\[a-z]*text[a-z]*\s*\{[^{}]*\}|\\mbox\{[^{}]*\}|\\mathrm\{[^{}]*\}", " ", text)  # units in text
    text = DEGREES.sub("", PERCENT.sub("", text))
    text = re.sub(r"\\[,!;: ]|\\?\$(?=\s*$)", " ", text).strip()
    match = PLAIN_NUMBER.fullmatch(text)
    if not match:
        return None
    try:
        value = Fraction(Decimal(match["number"].replace(",", "")))
    except InvalidOperation:
        return None
    return -value if match["sign"] in "-−" and match["sign"] else value


# --- multiple choice -------------------------------------------------------------------------

NEXT_LETTER = re.compile(r"\s*(?:,|;|、|&|/|\band\b|\bor\b)?\s*\(?([A-E]{1,5})\)?(?![A-Za-z0-9])")
CHOICE_PREFIX = re.compile(r"^\s*(?:the\s+)?(?:correct\s+)?(?:options?|choices?|answers?)\s*(?:is|are|:)?\s*", re.I)


def choice_letters(text: str, *, option_text: bool = False) -> str | None:
    """The option letters of a multiple-choice answer, sorted (`A B D`, `A, D, B` -> `ABD`), or None.

    With `option_text`, the letters may be followed by the option's text (`(B) 5`, `C: x > 2`).
    """
    text = CHOICE_PREFIX.sub("", TEXT_WRAPPERS.sub(r"\1", _strip_math(text)).replace("**", ""))
    letters, position = [], 0
    while match := NEXT_LETTER.match(text, position):
        letters.extend(match[1])
        position = match.end()
    rest = text[position:].strip()
    if not letters or (rest and not (option_text and rest[0] in ".:：)-–")):
        return None
    return "".join(sorted(set(letters)))


# --- graders ---------------------------------------------------------------------------------

LIST_WORDS = re.compile(r"\s*(?:\\text\{\s*(?:and|or)\s*\}|\\(?:quad|qquad)|\s(?:and|or)\s)\s*")


def grade_math(answer: str, gold: str) -> bool:
    """Same option letters, or same text once formatting is gone, or same number, else math-verify.

    math-verify compares sets in any order, tuples in order, intervals with inequalities
    (`[-2,7]` = `-2 \\le x \\le 7`) and equations with values (`x=3` = `3`). Its verdict is then
    guarded against float rounding: two different exact numbers are never equal. Its own signal
    timeouts are off: the pool enforces a hard one. A percent sign is dropped on both sides.
    """
    gold_letters = choice_letters(gold)
    if gold_letters is not None:
        return choice_letters(answer, option_text=True) == gold_letters
    if normal_text(answer) == normal_text(gold):
        return True
    gold_number, answer_number = as_number(gold), as_number(answer)
    if gold_number is not None and answer_number is not None:
        return gold_number == answer_number
    return _math_verify(LIST_WORDS.sub(", ", answer), gold)


def _math_verify(answer: str, gold: str) -> bool:
    from math_verify import parse, verify

    gold_parsed = parse(f"${PERCENT.sub('', _strip_math(gold))}$", parsing_timeout=None)
    answer_parsed = parse(f"${PERCENT.sub('', _strip_math(answer))}$", parsing_timeout=None)
    if not gold_parsed or not answer_parsed:
        return False
    if not verify(gold_parsed, answer_parsed, allow_set_relation_comp=True, timeout_seconds=None):
        return False
    return not _exactly_different(gold_parsed[0], answer_parsed[0])


def _exactly_different(gold, answer) -> bool:
    """True for two exact numbers that math-verify's float comparison took as equal (1/2004! vs 1/2006!)."""
    import sympy

    if not (isinstance(gold, sympy.Expr) and isinstance(answer, sympy.Expr) and gold.is_number and answer.is_number):
        return False
    if gold.atoms(sympy.Float) or answer.atoms(sympy.Float):
        return False  # a decimal answer is an approximation by intent: math-verify's rounding decides
    return sympy.simplify(gold - answer).is_zero is False


def grade_number(answer: str, gold: str) -> bool:
    """Numbers compare by exact value once formatting is gone; anything else as `math`."""
    a, g = as_number(answer), as_number(gold)
    if a is not None and g is not None:
        return a == g
    return grade_math(answer, gold)


GRADERS: dict[str, Callable[[str, str], bool]] = {
    "math": grade_math,
    "number": grade_number,
}
