"""Reasoning formats: where a completion's reasoning ends and its answer begins.

Each format names the markers that open and close the reasoning, as the model's published chat
template or format description writes them, and the markers around the answer part, which are
dropped. A completion that opened its reasoning and never closed it is `unfinished`: it has no
answer part.

- `think` (the default): `<think> … </think>`, as DeepSeek-R1, QwQ and Qwen3 write it; the chat
  template may open `<think>` itself, so `</think>` alone also ends the reasoning.
- `sky-t1`: SkyThought's system prompt, `<|begin_of_thought|> … <|end_of_thought|>` then
  `<|begin_of_solution|> … <|end_of_solution|>`.
- `marco`: Marco-o1's `<Thought> … </Thought>` then `<Output> … </Output>`.
- `s1`: s1's models and its lm-eval fork (simplescaling/s1): `<|im_start|>think … <|im_start|>answer`, the
  answer ended by `<|im_end|>`; budget forcing closes the thinking with `<|im_start|>answer` as s1 does.
- `harmony`: gpt-oss's channels, `<|channel|>analysis<|message|> … <|end|>` then
  `<|start|>assistant<|channel|>final<|message|> … <|return|>`; also as a decoder that skips
  special tokens leaves it (`analysis…assistantfinal…`).
- `none`: no reasoning part; the whole completion is the answer.
- a custom pair, `OPEN...CLOSE` (e.g. `<reasoning>...</reasoning>`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CUSTOM_SEPARATOR = "..."


@dataclass(frozen=True)
class Split:
    """A completion divided at the end of its reasoning. `answer` is None when the reasoning never ended."""

    reasoning: str | None
    answer: str | None

    @property
    def unfinished(self) -> bool:
        return self.answer is None


@dataclass(frozen=True)
class ReasoningFormat:
    """The markers of one format. `closes` are alternatives: the answer follows the last one found.

    `closes[0]` is also how the reasoning is ended on purpose (budget forcing), and the text that is
    looked up in the token ids to count the reasoning tokens.
    """

    name: str
    opens: tuple[str, ...] = ()
    closes: tuple[str, ...] = ()
    answer_opens: tuple[str, ...] = ()
    answer_closes: tuple[str, ...] = ()
    open_at_start: tuple[str, ...] = ()  # opens only where the completion begins with them

    @property
    def has_reasoning(self) -> bool:
        return bool(self.closes)

    def split(self, text: str, reasoning: str | None = None) -> Split:
        """`reasoning` is a server's separate reasoning (`reasoning_content`): then `text` is the answer
        already, unless the server found no end of the reasoning and returned no content."""
        if reasoning is not None:
            return Split(reasoning, text if text.strip() else None)
        end = self.reasoning_end(text)
        if end is None:
            return Split(None, text) if not self.is_open(text) else Split(self._strip_opens(text), None)
        start, stop = end
        return Split(self._strip_opens(text[:start]), self._answer_part(text[stop:]))

    def reasoning_end(self, text: str) -> tuple[int, int] | None:
        """(start, end) of the last closing marker in `text`, or None."""
        best = None
        for close in self.closes:
            at = text.rfind(close)
            if at != -1 and (best is None or at > best[0]):
                best = (at, at + len(close))
        return best

    def is_open(self, text: str) -> bool:
        """Whether `text` (a prompt and its completion so far) is inside the reasoning."""
        if not self.has_reasoning:
            return False
        end = self.reasoning_end(text)
        last_open = max((text.rfind(o) for o in self.opens), default=-1)
        if any(text.lstrip().startswith(o) for o in self.open_at_start):
            last_open = max(last_open, 0)
        return last_open != -1 and (end is None or last_open > end[0])

    def _strip_opens(self, text: str) -> str:
        for marker in self.opens:
            text = text.replace(marker, "")
        for marker in self.open_at_start:
            if text.lstrip().startswith(marker):
                text = text.lstrip()[len(marker) :]
        return text

    def _answer_part(self, text: str) -> str:
        for marker in (*self.answer_opens, *self.answer_closes):
            text = text.replace(marker, "")
        return text


THINK = ReasoningFormat("think", opens=("<think>",), closes=("</think>",))
FORMATS: dict[str, ReasoningFormat] = {
    "think": THINK,
    "none": ReasoningFormat("none"),
    "sky-t1": ReasoningFormat(
        "sky-t1",
        opens=("<|begin_of_thought|>",),
        closes=("<|end_of_thought|>",),
        answer_opens=("<|begin_of_solution|>",),
        answer_closes=("<|end_of_solution|>",),
    ),
    "marco": ReasoningFormat(
        "marco", opens=("<Thought>",), closes=("</Thought>",), answer_opens=("<Output>",), answer_closes=("</Output>",)
    ),
    "s1": ReasoningFormat("s1", opens=("<|im_start|>think",), closes=("<|im_start|>answer",), answer_closes=("<|im_end|>",)),
    "harmony": ReasoningFormat(
        "harmony",
        opens=("<|channel|>analysis<|message|>",),
        closes=("<|start|>assistant<|channel|>final<|message|>", "<|channel|>final<|message|>", "assistantfinal"),
        answer_closes=("<|return|>", "<|end|>"),
        open_at_start=("<|start|>assistant", "analysis"),
    ),
}
MARKER = re.compile(r"^\S(?:.*\S)?$")


def reasoning_format(name: str) -> ReasoningFormat:
    """A named format, or a custom `OPEN...CLOSE` pair; ValueError names the choices."""
    if name in FORMATS:
        return FORMATS[name]
    opening, separator, closing = name.partition(CUSTOM_SEPARATOR)
    if separator and MARKER.match(opening) and MARKER.match(closing) and opening != closing:
        return ReasoningFormat(name, opens=(opening,), closes=(closing,))
    raise ValueError(
        f"unknown reasoning format {name!r}: use one of {', '.join(FORMATS)}, or a custom pair such as <reasoning>...</reasoning>"
    )
