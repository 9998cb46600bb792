"""Split reasoning from answer, and extract the final answer by named, ordered rules."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"


@dataclass(frozen=True)
class Split:
    """A completion divided at its last `</think>`. `answer` is None when thinking never ended."""

    reasoning: str | None
    answer: str | None

    @property
    def unfinished(self) -> bool:
        return self.answer is None


def split_reasoning(text: str, reasoning: str | None = None) -> Split:
    """The answer part follows the last `</think>`; an opened, unclosed `<think>` leaves no answer.

    `reasoning` is a server's separate `reasoning_content`; then `text` is the answer already,
    unless the server could not find the end of the thinking and returned no content.
    """
    if reasoning is not None:
        return Split(reasoning, text if text.strip() else None)
    head, sep, tail = text.rpartition(THINK_CLOSE)
    if sep:
        return Split(head, tail)
    if THINK_OPEN in text:
        return Split(text, None)
    return Split(None, text)


def last_braced(text: str, commands: tuple[str, ...] = ("\\boxed", "\\fbox")) -> str | None:
    """The content of the last `\\boxed{...}` (or `\\fbox{...}`), braces balanced; linear in the text's length."""
    starts = [m.end() for m in re.finditer("|".join(re.escape(c) for c in commands), text)]
    if not starts:
        return None
    closing = _closing_braces(text, starts[0])
    for start in reversed(starts):
        position = start
        while position < len(text) and text[position].isspace():
            position += 1
        if text[position:position + 1] == "{":
            if position in closing:
                return text[position + 1:closing[position]].strip()
        elif match := re.match(r"-?[\w.]+", text[position:position + 64]):  # "\boxed 5"
            return match.group(0)
    return None


def _closing_braces(text: str, begin: int) -> dict[int, int]:
    """Position of each `{` from `begin` on -> position of its matching `}`, in one pass."""
    stack: list[int] = []
    closing: dict[int, int] = {}
    for match in re.finditer(r"[{}]", text[begin:]):
        if match.group() == "{":
            stack.append(begin + match.start())
        elif stack:
            closing[stack.pop()] = begin + match.start()
    return closing


ANSWER_IS = re.compile(
    r"(?:\b(?:final|correct)\s+(?:answer|option|choice)\s*(?:is\s*:?|:|=)|\banswer\s+(?:is\s*:?|:|=)|\banswer\s*[:：]"
    r"|答案(?:是|为|[:：]))\s*",
    re.I,
)
SENTENCE_END = re.compile(r"\.\s|\.?\s*$", re.M)
ANSWER_ENDS = re.compile(r",?\s+(?:since|because|as|which|so|and\s+so)\s.*$|\s+I hope it is correct.*$", re.I)
CHOICE = re.compile(r"\b(?:options?|choices?|choose|select)\s*:?\s*\(?([A-E])\)?(?![A-Za-z0-9])", re.I)
HASHES = re.compile(r"####\s*([^\n]+?)\s*$", re.M)
NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
MATH_SEGMENT = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.S)
BARE_MAX_CHARS = 100


def _answer_is(text: str) -> str | None:
    """The statement after the last "final answer is" / "the answer is" / "Answer:"."""
    text = text.replace("**", "")
    last = None
    for last in ANSWER_IS.finditer(text):
        pass
    if last is None:
        return None
    statement = text[last.end():SENTENCE_END.search(text, last.end()).start()]
    statement = ANSWER_ENDS.sub("", statement).strip()
    enclosed = re.fullmatch(r"\$+([^$]+)\$+", statement)  # `$x$` -> `x`; `$2$ and $3$` stays as it is
    return (enclosed[1].strip() if enclosed else statement) or None


def _choice(text: str) -> str | None:
    """An option letter named as such: "option (B)", "choose C"."""
    matches = CHOICE.findall(text)
    return matches[-1].upper() if matches else None


def _bare(text: str) -> str | None:
    """The whole answer part, when it is one short line that is not a sentence (`$\\frac12$`, `x = 5`, `18 dollars`)."""
    text = text.strip()
    if not text or len(text) > BARE_MAX_CHARS or "\n" in text:
        return None
    words = re.findall(r"[A-Za-z]{2,}", re.sub(r"\\[a-z]+\s*\{[^{}]*\}|\$[^$]*\$", " ", text))
    mathlike = re.search(r"[\d$\\^_=+*/(){}\[\]<>-]", text)
    return text if len(words) <= (3 if mathlike else 1) else None


def _last_math(text: str) -> str | None:
    """The last inline or display math in the answer part: `... so we get $5$`."""
    matches = MATH_SEGMENT.findall(text)
    return next((part for part in matches[-1] if part), None) if matches else None


def _hashes(text: str) -> str | None:
    matches = HASHES.findall(text)
    return matches[-1] if matches else None


def _last_number(text: str) -> str | None:
    matches = NUMBER.findall(text)
    return matches[-1].rstrip(",") if matches else None


RULES: dict[str, Callable[[str], str | None]] = {
    "boxed": last_braced,
    "answer_is": _answer_is,
    "choice": _choice,
    "hashes": _hashes,
    "bare": _bare,
    "last_math": _last_math,
    "last_number": _last_number,
}

# Tried in order; the first rule that finds something decides. The last-number fallback only
# where the task's answers are numbers.
EXTRACTORS: dict[str, tuple[str, ...]] = {
    "math": ("boxed", "answer_is", "choice", "bare", "last_math"),
    "number": ("boxed", "hashes", "answer_is", "bare", "last_number"),
    "integer": ("boxed", "answer_is", "bare", "last_number"),
    "last_boxed": ("boxed",),
}


def extract(text: str, extractor: str) -> tuple[str | None, str | None]:
    """(answer, rule that fired), or (None, None) when no rule of the extractor matches."""
    for rule in EXTRACTORS[extractor]:
        answer = RULES[rule](text)
        if answer:
            return answer, rule
    return None, None
