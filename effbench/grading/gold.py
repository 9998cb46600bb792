"""How a task's gold answers are compared beyond the grader's own equality: its `grading:` settings.

Some test sets write their gold answers by conventions of their own. OlympiadBench lists several answers in one gold
(all required, in any order) where `is_multiple_answer` is set, keeps the unit out of the gold, and gives a numerical
tolerance on a few problems; Minerva's problems fix decimal places or significant figures, so its numbers are compared
with a relative tolerance. These are task settings (in the task's definition and its version), never a loosening of
the grader that other tasks use: a task without `grading:` is graded by its grader alone.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ConfigDict, Field
from pydantic.dataclasses import dataclass as checked

from effbench.grading.equivalence import as_number, for_math_verify, normal_text

Grader = Callable[[str, str], bool | None]  # None: the two could not be compared


@dataclass(frozen=True)
class Conventions:
    """How one problem's gold is compared: `several` answers (comma-separated in the gold, every one required, in any
    order), the `unit` the gold leaves out (a completion may write it or not), and the tolerance within which two
    numbers are equal (absolute, or relative to the gold)."""

    several: bool = False
    unit: str | None = None
    absolute_tolerance: float | None = None
    relative_tolerance: float | None = None
    approximate: bool = False  # a decimal answer of 3 significant figures or more may approximate the gold


NO_CONVENTIONS = Conventions()


@checked(frozen=True, config=ConfigDict(extra="forbid"))
class Grading:
    """A task's `grading:` settings: a tolerance for all its problems, and the metadata fields that hold its
    problems' own conventions."""

    relative_tolerance: float | None = Field(None, gt=0, lt=1, description="numbers within it of the gold's are equal")
    several: str | None = Field(None, description="metadata field, true where the gold lists several answers")
    unit: str | None = Field(None, description="metadata field: the unit the gold leaves out")
    tolerance: str | None = Field(None, description="metadata field: an absolute tolerance for the problem's number")
    approximate: bool = Field(
        False, description="a decimal of 3 significant figures or more within one unit of its last digit of the gold is equal"
    )

    def conventions(self, metadata: Mapping[str, Any]) -> Conventions:
        """One problem's conventions, from its metadata (as loaded: text)."""
        several = str(metadata.get(self.several or "", "")).strip().lower() in ("true", "1", "yes")
        unit = str(metadata.get(self.unit or "") or "").strip() or None
        tolerance = _number_or_none(metadata.get(self.tolerance or ""))
        return Conventions(several, unit, tolerance, self.relative_tolerance, self.approximate)

    def describe(self) -> str:
        """The settings in words, for `effbench tasks` and the README."""
        said = []
        if self.several:
            said.append(f"several answers, all required in any order, where {self.several} is true")
        if self.unit:
            said.append(f"the unit in {self.unit} may be written or not")
        if self.tolerance:
            said.append(f"an absolute tolerance where {self.tolerance} gives one")
        if self.relative_tolerance:
            said.append(f"numbers equal within a relative {self.relative_tolerance:g}")
        if self.approximate:
            said.append("decimal approximations of 3 significant figures or more accepted")
        return "; ".join(said)


def _number_or_none(value: Any) -> float | None:
    try:
        number = float(str(value))
    except ValueError:
        return None
    return number if math.isfinite(number) and number > 0 else None


def grade_by(grader: Grader, answer: str, gold: str, conventions: Conventions) -> bool | None:
    """The answer against the gold, by the grader and the problem's conventions; None where they could not be
    compared (the grader could not read one of them)."""
    if conventions.unit:
        answer = without_unit(answer, conventions.unit)
    if conventions.several:
        golds = split_answers(gold)
        if len(golds) > 1:
            return _all_given(grader, split_answers(answer), golds, conventions)
    return _equal(grader, answer, gold, conventions)


def _equal(grader: Grader, answer: str, gold: str, conventions: Conventions) -> bool | None:
    if conventions.absolute_tolerance is not None or conventions.relative_tolerance is not None:
        given, wanted = numeric_value(answer), numeric_value(gold)
        if given is not None and wanted is not None:
            allowed = max(conventions.absolute_tolerance or 0.0, (conventions.relative_tolerance or 0.0) * abs(wanted))
            return abs(given - wanted) <= allowed * (1 + 1e-9)
    equal = grader(answer, gold)
    return True if not equal and conventions.approximate and approximates(answer, gold) else equal


DECIMAL = re.compile(r"(\d*)\.(\d+)")


def approximates(answer: str, gold: str) -> bool:
    """Whether the answer is a decimal of three significant figures or more that the gold's value rounds or truncates
    to: `0.333` and `0.334` for `\\frac{1}{3}`, `1.414` for `\\sqrt{2}`; not `0.33`, not `0.332`."""
    written, decimal = as_number(answer), DECIMAL.search(answer.replace(",", "").replace("{}", ""))
    if written is None or not written.decimal or written.percent or decimal is None:
        return False
    if len((decimal[1] + decimal[2]).lstrip("0")) < 3 or (wanted := numeric_value(gold)) is None:
        return False
    return abs(float(written.value) - wanted) < 10.0 ** -len(decimal[2])


def _all_given(grader: Grader, answers: list[str], golds: list[str], conventions: Conventions) -> bool:
    """Every gold answer given by a different one of the answers, and no answer more: a matching, in any order."""
    if len(answers) != len(golds):
        return False
    unmatched = list(answers)
    for gold in golds:
        match = next((a for a in unmatched if _equal(grader, a, gold, conventions) is True), None)
        if match is None:
            return False
        unmatched.remove(match)
    return True


OPENERS, CLOSERS = "([{", ")]}"
SEPARATOR_WORDS = re.compile(r"\\text\s*\{\s*(?:and|or|,)?\s*\}|\\q?quad\b|\s(?:and|or)\s|;")
OUTER_SET = re.compile(r"^(?:\\left)?\\\{(.*)(?:\\right)?\\\}$", re.S)


def split_answers(text: str) -> list[str]:
    """The answers of a list (`1, 3, 5`, `$69$,$84$`, `(1,2), (3,4)`, `x=1 and x=2`, `\\{1, 3\\}`), split at the
    commas and list words outside any bracket: a tuple or an interval is one answer."""
    text = re.sub(r"(?<!\\)\$", "", text).strip().rstrip(".")
    if found := OUTER_SET.match(text):
        text = found[1]
    text = SEPARATOR_WORDS.sub(",", text)
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char in OPENERS:
            depth += 1
        elif char in CLOSERS:
            depth = max(0, depth - 1)
        elif char == "," and depth == 0 and not text.startswith("\\,", index - 1):
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return [part.strip() for part in parts if part.strip()]


def without_unit(answer: str, unit: str) -> str:
    """The answer without the unit the gold leaves out, where it ends with it: `45 \\text{ minutes}` with unit
    `minutes` gives `45`; else the answer as it is."""
    wanted = _unit_text(unit)
    written = normal_text(answer)
    if wanted and written.endswith(wanted) and len(written) > len(wanted):
        return written[: -len(wanted)].rstrip("\\~")
    return answer


def _unit_text(unit: str) -> str:
    return normal_text(unit).replace("{", "").replace("}", "")


SCIENTIFIC = re.compile(r"(\d(?:\.\d*)?|\.\d+)\s*[eE]\s*([-+]?\d+)")
PYTHON_FUNCTION = re.compile(r"\b(?:np|math|numpy)\.(\w+)")
PYTHON_DECIMAL = re.compile(r"(\d)\.(?!\d)")


def numeric_value(text: str) -> float | None:
    """The value of an answer that is one number, written any way: `4.5e33`, `4.5 \\times 10^{33}`, `\\frac{3}{8}`,
    `\\sqrt{2}/2`, and the Python-like `-1./3` and `np.arcsin(10/13)`; None for anything else."""
    exact = as_number(text)
    if exact is not None:
        return float(exact.value)
    latex = SCIENTIFIC.sub(r"\1 \\times 10^{\2}", text)
    latex = PYTHON_DECIMAL.sub(r"\1", PYTHON_FUNCTION.sub(r"\\\1", latex)).replace("**", "^")
    return _evaluated(latex)


def _evaluated(latex: str) -> float | None:
    from math_verify import LatexExtractionConfig, parse

    parsed = parse(f"${for_math_verify(latex)}$", extraction_config=[LatexExtractionConfig()], parsing_timeout=None)
    if not parsed:
        return None
    import sympy

    value = parsed[0]
    if not isinstance(value, sympy.Expr) or not value.is_number:
        return None
    try:
        number = complex(value.evalf())
    except (TypeError, ValueError, AttributeError):
        return None
    return number.real if number.imag == 0 and math.isfinite(number.real) else None
