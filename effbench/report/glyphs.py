"""Text the figures can draw: names without control characters, CJK drawn with a CJK font where one is installed
(Debian's fonts-noto-cjk), and what no installed font has left out and named once, in place of matplotlib's
warning per glyph (which would print a name's escape sequences to the terminal)."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from matplotlib import font_manager, rcParams

from effbench.text import printable

BASE_FONT = "DejaVu Sans"  # matplotlib's own, always there
SPACES = re.compile(r"\s")


def use_installed_fonts() -> None:
    """Draw with DejaVu Sans, falling back to an installed CJK font for what it lacks; matplotlib's warnings of
    missing glyphs are silenced (`left_out` names those instead)."""
    warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font", category=UserWarning)
    rcParams["font.family"] = [BASE_FONT, *_cjk_families()]


def _cjk_families() -> list[str]:
    known = sorted({f.name for f in font_manager.fontManager.ttflist if "CJK" in f.name and "Sans" in f.name})
    if known:
        return known[:1]
    files = [p for p in font_manager.findSystemFonts() if "CJK" in Path(p).name]  # installed since matplotlib's cache
    chosen = sorted(files, key=lambda p: ("Sans" not in Path(p).name, "Regular" not in Path(p).name, p))[:1]
    for path in chosen:
        font_manager.fontManager.addfont(path)
    return [font_manager.FontProperties(fname=path).get_name() for path in chosen]


@cache
def _fonts() -> list[Any]:
    found = []
    for family in rcParams["font.family"]:
        try:
            path = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
        except ValueError:
            continue
        found.append(font_manager.get_font(path))
    return found


@cache
def _drawn(character: str) -> bool:
    return character == " " or any(font.get_char_index(ord(character)) for font in _fonts())


def drawable(text: str) -> str:
    """`text` as a figure draws it: control characters dropped, spacing as spaces, characters no font has left out."""
    return "".join(c for c in SPACES.sub(" ", printable(text)) if _drawn(c))


def left_out(texts: Iterable[str | None]) -> list[str]:
    """The characters of `texts` that no installed font draws, each once."""
    return sorted({c for text in texts if text for c in SPACES.sub(" ", printable(text)) if not _drawn(c)})
