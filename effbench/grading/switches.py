"""The grading rules by name that can be switched off, to measure what each one does.

`EFFBENCH_GRADING_OFF=last_number,ordinal` switches rules off for a process and the grading workers it starts
(`bench/grading.py` grades the public cases with and without each). Nothing is off by default.
"""

from __future__ import annotations

import os

SWITCHABLE = {
    "several_boxes": "boxes with only separators between them are one answer together (`\\boxed{a} and \\boxed{b}`)",
    "chat_debris": "the answer part ends where chat-template debris begins (`<|im_start|>user`, `<|endoftext|>`)",
    "prose_after_marker": "prose after an answer marker (`Answer: To determine …`) is no answer, not the answer",
    "last_number": "fallback: the last number of an answer part that marks no answer",
    "option_text": "a gold given as its option letter with the option's text (`C Cecile`, `(B) 12`)",
    "unit_symbols": "units written with symbols (`m²`, `5 m`, `₹5`) after or before a number",
    "ordinal": "ordinals (`12^{\\text{th}}`, `21st`) as their number",
    "bracketed_commas": "a tuple, interval or set keeps its commas where the completion writes decimal commas",
    "numeric_identity": "expressions equal at every sampled point where both are real (`\\sqrt{1/n}`, `1/\\sqrt{n}`)",
}


def switched_off() -> frozenset[str]:
    """The rules named in `EFFBENCH_GRADING_OFF`; an unknown name is refused."""
    names = frozenset(n.strip() for n in os.environ.get("EFFBENCH_GRADING_OFF", "").split(",") if n.strip())
    unknown = sorted(names - SWITCHABLE.keys())
    if unknown:
        raise ValueError(f"EFFBENCH_GRADING_OFF names no rule {unknown[0]!r}; the rules: {', '.join(SWITCHABLE)}")
    return names


OFF = switched_off()


def on(rule: str) -> bool:
    return rule not in OFF
