"""Decide whether an extracted answer equals the gold answer.

One grader, `math`, named by the tasks: math-verify underneath, with the normalisations the
datasets' gold answers need. It accepts the cheap cases first (same option letters, same text once
formatting is gone, same number) and only then asks math-verify. Answers written in Chinese words
for mathematics or in full-width forms are first written as LaTeX (`effbench.grading.conventions`).
Graders run in the worker processes of `effbench.grading.pool`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import NamedTuple

from effbench.grading.conventions import chinese_math, half_width
from effbench.grading.switches import on


def _strip_math(text: str) -> str:
    """The answer without math delimiters: `$x$`, `$$x$$`, `$2$ and $-3$`, `\\(x\\)`, `\\[x\\]`; `\\$` stays."""
    text = re.sub(r"(?<!\\)\$", "", text).strip()
    while text[:2] in ("\\(", "\\[") and text[-2:] in ("\\)", "\\]"):
        text = text[2:-2].strip()
    return text.rstrip(". ")


TEXT_WRAPPERS = re.compile(r"\\(?:text|textbf|textrm|mathrm|mathbf|mbox|operatorname)\s*\{([^{}]*)\}")
SPACING = re.compile(r"\\[,!;: ]|\\(?:left|right|displaystyle)\b|~|\s+")
PERCENT = re.compile(r"\\?%")
DEGREES = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|\\circ|°|\\degree")


def normal_text(answer: str) -> str:
    """The answer as text with formatting gone: `\\text{4:30 p.m.}` and `4:30 \\text{ p.m.}` both give `4:30p.m.`."""
    text = TEXT_WRAPPERS.sub(r"\1", _strip_math(answer)).replace("**", "")
    text = SPACING.sub("", text).replace("{,}", ",").replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    return text.lower().replace("p.m.", "pm").replace("a.m.", "am").rstrip(".")


# --- numbers ---------------------------------------------------------------------------------

NUMBER_WORDS = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
NUMBER_WORDS += "seventeen eighteen nineteen twenty"
WORD_NUMBERS = {w: str(i) for i, w in enumerate(NUMBER_WORDS.split())}
DIGIT_GROUP_SEPARATOR = re.compile(r"(?<=\d)(?:\{,\}|\\,|\\ )(?=\d{3}(?!\d))")
UNIT_TEXT = re.compile(r"\\(?:text|textrm|textbf|mbox|mathrm)\s*\{[^{}]*\}(?:\^\{?[23]\}?)?")
ORDINAL = re.compile(  # `12^{\text{th}}`, `12^{th}`, `12\text{th}`, `21st`: the number
    r"(?<=\d)\s*(?:\^\s*)?(?:\{\s*)?(?:\\(?:text|mathrm|textrm|rm)\s*\{\s*)?(?:st|nd|rd|th)(?:\s*\}){0,2}(?![A-Za-z])"
)
CURRENCY = r"\\\$|\$|€|£|¥" + (r"|₹|₩|₽|Rs\.?|USD" if on("unit_symbols") else "")
SYMBOL_UNITS = r"|[A-Za-z]{2,}[²³]|(?<=\s)[mgsL](?![A-Za-z])(?:\^\{?[23]\}?|[²³])?|₹" if on("unit_symbols") else ""
PLAIN_NUMBER = re.compile(
    r"(?:[A-Za-z](?:_\{?\w+\}?)?\s*=)?\s*"  # `x = 5`
    rf"(?P<sign>[-−+]?)\s*(?:{CURRENCY})?\s*"  # sign, currency
    r"(?:(?P<whole>\d+)\s+(?=\d+/))?"  # a mixed number: `4 4/9`
    r"(?P<number>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d*\.?\d+)(?:/(?P<denominator>\d+))?"  # `1,2` is a list, not a number
    r"\s*(?P<scale>thousand|million|billion)?"
    rf"(?:\s*(?:[A-Za-z]{{2,}}(?![A-Za-z])(?:\^\{{?[23]\}}?)?\.?|/|€{SYMBOL_UNITS}))*"  # `5 apples`, `3 cm^2`, `60 km/hr`
    r"\s*\.?"  # and with symbols: `5 cm²`, `3 m` (not `3m`: it may be a product), `12 ₹`
)
NUMERIC_FRACTION = re.compile(r"(\d+\s*)?\\[dt]?frac(?:\{(\d+)\}\{(\d+)\}|(\d)(\d))")  # `2\frac{1}{2}` = `2 1/2`
MAX_NUMBER_CHARS = 200  # longer is not one number, and is not worth a regex
SCALES = {"thousand": 10**3, "million": 10**6, "billion": 10**9}


class Number(NamedTuple):
    value: Fraction
    percent: bool  # written with a percent sign
    decimal: bool  # written with a decimal point: perhaps rounded


def as_number(text: str) -> Number | None:
    """The exact value of an answer that is one number, formatting dropped; else None.

    Thousands separators (`1,000`, `10{,}000`, `10\\,000`), currency and degree signs, `\\text{}`
    units, `x =`, mixed numbers, `million` and number words up to twenty are understood.
    """
    if len(text) > MAX_NUMBER_CHARS:
        return None
    text = _strip_math(text).replace("**", "").replace("\\!", "")
    text = WORD_NUMBERS.get(text.lower(), text)
    text = DIGIT_GROUP_SEPARATOR.sub(",", text.replace("{,}", ","))
    text = NUMERIC_FRACTION.sub(lambda m: f"{m[1] + ' ' if m[1] else ''}{m[2] or m[4]}/{m[3] or m[5]}", text)
    percent = bool(PERCENT.search(text))
    text = ORDINAL.sub("", text) if on("ordinal") else text
    text = " ".join(re.sub(r"\\[,;: ]", " ", DEGREES.sub("", PERCENT.sub("", UNIT_TEXT.sub(" ", text)))).split())
    match = PLAIN_NUMBER.fullmatch(text)
    if not match or (match["denominator"] and "," in match["number"]):
        return None
    try:
        value = Fraction(Decimal(match["number"].replace(",", "")))
    except InvalidOperation:
        return None
    if match["denominator"]:
        if int(match["denominator"]) == 0:
            return None
        value /= int(match["denominator"])
    value = (value + int(match["whole"] or 0)) * SCALES.get(match["scale"] or "", 1)
    return Number(-value if match["sign"] in ("-", "−") else value, percent, "." in match["number"])


def answer_key(answer: str) -> str:
    """What an answer states, for telling answers apart without a grader: its value where it is a number, else its
    normalised text (`\\frac{1}{2}`, `0.5` and `$0.50$` give one key)."""
    number = as_number(answer)
    return f"={number.value}" if number is not None else normal_text(answer)


def same_number(answer: str, gold: str) -> bool | None:
    """Whether two one-number answers are equal, exactly; None unless both are numbers.

    A percentage answer matches its number and its fraction: `10\\%` matches `10` and `0.1`. A
    decimal against a fraction that no decimal can write (`0.333333` vs `1/3`) is left to
    math-verify's rounding (None).
    """
    a, g = as_number(answer), as_number(gold)
    if a is None or g is None:
        return None
    if a.percent and not g.percent:
        return g.value in (a.value, a.value / 100)
    if a.value != g.value and ((a.decimal and not _terminates(g.value)) or (g.decimal and not _terminates(a.value))):
        return None
    return a.value == g.value


def _terminates(value: Fraction) -> bool:
    """Whether a decimal can write the value exactly: a denominator of only 2s and 5s."""
    denominator = value.denominator
    for prime in (2, 5):
        while denominator % prime == 0:
            denominator //= prime
    return denominator == 1


# --- multiple choice -------------------------------------------------------------------------

NEXT_LETTER = re.compile(r"\s*(?:,|;|、|&|/|\band\b|\bor\b)?\s*\(?([A-E]{1,5})\)?(?![A-Za-z0-9])")
CHOICE_PREFIX = re.compile(r"^\s*(?:the\s+)?(?:correct\s+)?(?:options?|choices?|answers?)\s*(?:is|are|:)?\s*", re.I)


OPTION_WITH_TEXT = re.compile(r"\s*(?:\(([A-E])\)|([A-E])\s*[.:．、])\s*(\S.*)", re.S)
OPTION_WITH_WORDS = re.compile(r"\s*([A-E])\s+([^\W\d_]{2}.*)", re.S)  # `C Cecile`: a letter, a space, a word


def option_gold(gold: str) -> tuple[str, str] | None:
    """`(C) 12`, `C. 12`, `C: x > 2`, `C Cecile` -> (`C`, `12`): a gold answer given as its option, with the option's
    text."""
    match = OPTION_WITH_TEXT.fullmatch(_strip_math(gold))
    if match:
        return match[1] or match[2], match[3].strip()
    words = OPTION_WITH_WORDS.fullmatch(_strip_math(gold)) if on("option_text") else None
    return (words[1], words[2].strip()) if words else None


def choice_letters(text: str, *, option_text: bool = False) -> str | None:
    """The option letters of a multiple-choice answer, sorted (`A B D`, `A, D, B` -> `ABD`), or None.

    With `option_text`, the letters may be followed by the option's text (`(B) 5`, `C: x > 2`).
    """
    text = TEXT_WRAPPERS.sub(r"\1", re.sub(r"\\(?:left|right)\b", "", _strip_math(text))).replace("**", "")
    text = CHOICE_PREFIX.sub("", text)
    letters: list[str] = []
    position = 0
    while match := NEXT_LETTER.match(text, position):
        letters.extend(match[1])
        position = match.end()
    rest = text[position:]
    formula = rest.lstrip()[:1] in tuple("=<>+-*/^≤≥≠")  # `C = 5` is an equation, not option C with its text
    option_follows = (rest[:1].isspace() and not formula) or rest[:1] in (".", ":", "：")
    if not letters or (rest.strip() and not (option_text and option_follows)):
        return None
    return "".join(sorted(set(letters)))


# --- graders ---------------------------------------------------------------------------------

LIST_WORDS = re.compile(r"\s*(?:\\text\{\s*(?:and|or)\s*\}|\\(?:quad|qquad)|\s(?:and|or)\s)\s*")


def grade_math(answer: str, gold: str) -> bool | None:
    """Same option letters, or same text once formatting is gone, or same number, else math-verify.

    A gold given as an option with its text (`(C) 12`) is matched by its letter, or by its text when
    the answer states the option's value instead of its letter.

    math-verify compares sets in any order, tuples in order, intervals with inequalities
    (`[-2,7]` = `-2 \\le x \\le 7`) and equations with values (`x=3` = `3`). Its verdict is then
    guarded against float rounding: two different exact numbers are never equal. Its own signal
    timeouts are off: the pool enforces a hard one. A percent sign is dropped on both sides. None: math-verify could
    not parse the answer or the gold, so they could not be compared.
    """
    answer, gold = chinese_math(half_width(answer)), chinese_math(half_width(gold))
    gold_letters = choice_letters(gold)
    if gold_letters is not None:
        return choice_letters(answer, option_text=True) == gold_letters
    option = option_gold(gold)
    if option is not None:
        letters = choice_letters(answer, option_text=True)
        if letters is not None:
            return letters == option[0]
        gold = option[1]
    if normal_text(answer) == normal_text(gold):
        return True
    numbers_equal = same_number(answer, gold)
    if numbers_equal is not None:
        return numbers_equal
    return _math_verify(answer, gold)


MATH_FONTS = re.compile(r"\\(?:mathrm|mathbf|mathit|boldsymbol|bm)\s*\{([^{}]*)\}")
BARE_FUNCTIONS = re.compile(r"(?<![\\A-Za-z])(ln|log|sin|cos|tan|cot|sec|csc|exp)(?=[\s\d({\\])")
SET_BUILDER = re.compile(r"(?:\\left)?\\\{\s*[a-z]\s*(?:\\mid|\||:)\s*(.+)\s*(?:\\right)?\\\}", re.S)
RELATION_SPELLINGS = {
    ">=": "\\ge",
    "<=": "\\le",
    "\\lt": "<",
    "\\gt": ">",
    "\\leqslant": "\\le",
    "\\geqslant": "\\ge",
    "≤": "\\le",
    "≥": "\\ge",
}
MEMBERSHIP = re.compile(r"^(?:[A-Za-z]|\\[a-z]+)\s*\\in\s*")  # `x \in [1, 2]` is the interval
BINOMIAL = re.compile(r"\bC_\{?(\w+)\}?\^\{?(\w+)\}?")  # `C_{n}^{k}`, the Chinese textbooks' binomial
DESCENDING = re.compile(r"\s*(>|\\geq?(?![a-z]))\s*")


ONE_CHARACTER_SCRIPT = re.compile(r"([_^])\s*([A-Za-z0-9])")  # `x_1y`, `e^2x`: the script is the one character
DIGIT_FRACTION = re.compile(r"\\[dt]?frac\s*(\d)\s*(\d)")
SPACES = re.compile(r"(\\[A-Za-z]+|,)\s+|\s+")  # dropped but after a command or a comma: math-verify takes ` t` for a unit


def for_math_verify(text: str) -> str:
    """The answer in the LaTeX that math-verify parses best: fonts unwrapped, `\\lt` as `<`, `a > b > c`
    as `c < b < a` (chains only: math-verify
    compares single relations itself), `{x | x < 3}` as `x < 3`, `ln2` as `\\ln 2`, `;`-separated blanks as a list,
    LaTeX's one-character arguments braced as it reads them (`C_1e` is `C_{1}e`, `\\frac14` is `\\frac{1}{4}`), and
    spaces dropped where LaTeX ignores them (math-verify reads a trailing ` t` in `x + t` as a unit and drops it)."""
    text = MATH_FONTS.sub(r"\1", PERCENT.sub("", _strip_math(text)))
    text = ONE_CHARACTER_SCRIPT.sub(r"\1{\2}", DIGIT_FRACTION.sub(r"\\frac{\1}{\2}", text))
    for spelling, relation in RELATION_SPELLINGS.items():
        text = text.replace(spelling, relation)
    text = LIST_WORDS.sub(", ", relations_as_union(BARE_FUNCTIONS.sub(r"\\\1 ", text).replace(";", ", ")))
    if set_builder := SET_BUILDER.fullmatch(text):
        text = set_builder[1]
    text = BINOMIAL.sub(r"\\binom{\1}{\2}", MEMBERSHIP.sub("", text))
    if len(DESCENDING.findall(text)) > 1 and not re.search(r"<|\\le(?![a-z])", text):
        parts = DESCENDING.split(text)  # operands and operators, alternating
        text = " ".join("<" if p == ">" else "\\le" if p.startswith("\\ge") else p for p in reversed(parts))
    return SPACES.sub(lambda m: f"{m[1]} " if m[1] else "", text)


OR = re.compile(r"\s*(?:\\text\{\s*or\s*\}|\\(?:lor|vee|cup)(?![a-z])|\bor\b)\s*")
RELATION = re.compile(r"\s*(<|>|\\le(?![a-z])|\\ge(?![a-z]))\s*")
VARIABLE = re.compile(r"[a-z]")
BRACKETS = {"<": ("(", ")"), "\\le": ("[", "]"), ">": ("(", ")"), "\\ge": ("[", "]")}


def relations_as_union(text: str) -> str:
    """`x < -1 or x > 1` -> `(-\\infty, -1) \\cup (1, +\\infty)`: alternatives of one variable's relations, as a union
    of intervals (math-verify compares one relation with an interval, not a disjunction). Else unchanged."""
    parts = OR.split(text)
    if len(parts) < 2:
        return text
    intervals = [interval for part in parts if (interval := _interval(RELATION.split(part.strip()))) is not None]
    if len(intervals) != len(parts) or len({variable for variable, _ in intervals}) != 1:
        return text
    return " \\cup ".join(interval for _, interval in intervals)


def _interval(pieces: list[str]) -> tuple[str, str] | None:
    """(variable, interval) of `x < a`, `a > x` or `a < x \\le b` split into operands and relations; else None."""
    if len(pieces) == 3:
        left, op, right = pieces
        if VARIABLE.fullmatch(right):  # `a > x` is `x < a`
            left, op, right = right, {"<": ">", ">": "<", "\\le": "\\ge", "\\ge": "\\le"}[op], left
        if not VARIABLE.fullmatch(left) or not right:
            return None
        if op in ("<", "\\le"):
            return left, f"(-\\infty, {right}{BRACKETS[op][1]}"
        return left, f"{BRACKETS[op][0]}{right}, +\\infty)"
    if len(pieces) == 5 and VARIABLE.fullmatch(pieces[2]) and pieces[1] in ("<", "\\le") and pieces[3] in ("<", "\\le"):
        return pieces[2], f"{BRACKETS[pieces[1]][0]}{pieces[0]}, {pieces[4]}{BRACKETS[pieces[3]][1]}"
    return None


def _math_verify(answer: str, gold: str) -> bool | None:
    """math-verify on the LaTeX alone (its fallback to the first number of a failed parse is off); None where either
    side does not parse."""
    from math_verify import LatexExtractionConfig, parse, verify

    latex_only = [LatexExtractionConfig()]
    gold_parsed = parse(f"${for_math_verify(gold)}$", extraction_config=latex_only, parsing_timeout=None)
    answer_parsed = parse(f"${for_math_verify(answer)}$", extraction_config=latex_only, parsing_timeout=None)
    if not gold_parsed or not answer_parsed or isinstance(gold_parsed[0], str) or isinstance(answer_parsed[0], str):
        return None  # math-verify gives back the text alone where it could not read it
    if not verify(gold_parsed, answer_parsed, allow_set_relation_comp=True, timeout_seconds=None):
        return on("numeric_identity") and same_where_real(gold_parsed[0], answer_parsed[0])
    return not _exactly_different(gold_parsed[0], answer_parsed[0])


POINTS = (0.37, 1.7, 2.9, 5.3, -0.61, -2.3, 11.1, -7.9)  # where two expressions in one variable are compared
MAX_VARIABLES = 3


def same_where_real(gold, answer) -> bool:
    """Whether two expressions in the same variables agree at every sampled point where either is real, and are both
    real at three points at least: `\\sqrt{1/n}` and `\\frac{1}{\\sqrt{n}}` (equal wherever they are real numbers,
    which sympy will not simplify without assuming n > 0); never `\\sqrt{x^2}` and `x`, which differ at x < 0."""
    import sympy

    if not (isinstance(gold, sympy.Expr) and isinstance(answer, sympy.Expr)):
        return False
    variables = sorted(gold.free_symbols, key=str)
    if not variables or len(variables) > MAX_VARIABLES or set(variables) != answer.free_symbols:
        return False
    real_points = 0
    for shift in range(len(POINTS)):
        point = {v: POINTS[(shift + 3 * i) % len(POINTS)] for i, v in enumerate(variables)}
        g, a = _real_value(gold, point), _real_value(answer, point)
        if g is None and a is None:
            continue
        if g is None or a is None or abs(g - a) > 1e-9 * max(1.0, abs(g)):
            return False
        real_points += 1
    return real_points >= 3


def _real_value(expression, point) -> float | None:
    try:
        value = complex(expression.evalf(30, subs=point))
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    return value.real if abs(value.imag) < 1e-12 and math.isfinite(value.real) else None


def _exactly_different(gold, answer) -> bool:
    """True for two exact numbers that math-verify's float comparison took as equal (1/2004! vs 1/2006!)."""
    import sympy

    if not (isinstance(gold, sympy.Expr) and isinstance(answer, sympy.Expr) and gold.is_number and answer.is_number):
        return False
    if gold.atoms(sympy.Float) or answer.atoms(sympy.Float):
        return False  # a decimal answer is an approximation by intent: math-verify's rounding decides
    return sympy.simplify(gold - answer).is_zero is False


GRADERS: dict[str, Callable[[str, str], bool | None]] = {
    "math": grade_math,
}
