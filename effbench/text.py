"""Text that comes from outside (models, servers, datasets, files), made safe to store and to print.

A server may send a lone surrogate (`"\\ud800"`), which UTF-8 cannot store; a model name, a task
field or an answer may hold terminal escape sequences or rich markup (`[link=…]`), which must reach
the terminal as text, never as commands.
"""

from __future__ import annotations

import re
from typing import Any

from rich.markup import escape

SURROGATE = re.compile(r"[\ud800-\udfff]")
CONTROL = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b.?|[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def without_surrogates(value: Any) -> Any:
    """The value with every lone surrogate in its strings (and keys) replaced by U+FFFD, so that it stores as UTF-8."""
    if isinstance(value, str):
        return SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {without_surrogates(k): without_surrogates(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [without_surrogates(v) for v in value]
    return value


def printable(text: Any) -> str:
    """`text` without terminal control sequences and characters (newlines and tabs stay)."""
    return CONTROL.sub("", str(text))


def for_terminal(text: Any) -> str:
    """`text` to print through rich: control sequences removed and markup escaped (`[bold]` shows as written)."""
    return escape(printable(text))
