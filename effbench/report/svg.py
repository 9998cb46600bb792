"""Small inline SVG figures for the pages of runs and pairs: token histograms, per-level bars, per-problem scatters.

A run page draws one of each per task, and a board of 50 runs has hundreds: written as text here they
cost microseconds where a matplotlib figure costs a tenth of a second. Every text that comes from a
model, a dataset or a user is escaped. The board's own figures (Pareto, levels, series) stay matplotlib's,
in SVG and PNG.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

import numpy as np

INK, GRID, FONT = "#333333", "#dddddd", 'font-family="system-ui, sans-serif" font-size="10"'
BLUE, ORANGE, GREEN, GREY = "#0072B2", "#D55E00", "#009E73", "#777777"
MARGIN = (44, 12, 26, 30)  # left, right, top, bottom


def _frame(width: int, height: int, title: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" {FONT}>'
        f'<text x="{width / 2:.0f}" y="14" text-anchor="middle" fill="{INK}">{escape(title)}</text>{"".join(body)}</svg>'
    )


def _axes(width: int, height: int) -> tuple[float, float, float, float]:
    left, right, top, bottom = MARGIN
    return left, width - right, top, height - bottom


def _ticks(low: float, high: float, x0: float, x1: float, y: float, *, vertical: bool = False) -> list[str]:
    """Labels at both ends and the middle of an axis (numbers only); a y axis leaves out its lowest, which would
    meet the x axis' first label in the corner."""
    parts = []
    for fraction in (0.5, 1.0) if vertical else (0.0, 0.5, 1.0):
        value = low + fraction * (high - low)
        label = f"{value:.0f}" if abs(high - low) >= 3 else f"{value:.2g}"
        position = x0 + fraction * (x1 - x0)
        if vertical:  # a y axis: x0..x1 are bottom..top, y is the axis' x
            parts.append(f'<text x="{y - 4:.1f}" y="{position + 3:.1f}" text-anchor="end" fill="{INK}">{label}</text>')
        else:
            parts.append(f'<text x="{position:.1f}" y="{y + 12:.1f}" text-anchor="middle" fill="{INK}">{label}</text>')
    return parts


def histogram(values: Sequence[float], title: str, x_label: str = "tokens", width: int = 340, height: int = 170) -> str:
    """The distribution of `values` in 30 bins, as one path."""
    x0, x1, top, bottom = _axes(width, height)
    if not values:
        return _frame(width, height, title, [f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle">no counts</text>'])
    low, high = float(min(values)), float(max(values))
    counts, edges = np.histogram(values, bins=30, range=(low, high if high > low else low + 1))
    tallest = max(int(counts.max()), 1)
    step = (x1 - x0) / len(counts)
    bars = "".join(
        f"M{x0 + i * step:.1f} {bottom:.1f}v{-(bottom - top) * c / tallest:.1f}h{step:.1f}v{(bottom - top) * c / tallest:.1f}z"
        for i, c in enumerate(counts)
        if c
    )
    body = [
        f'<path d="{bars}" fill="{BLUE}" fill-opacity="0.8"/>',
        f'<path d="M{x0} {bottom}H{x1}M{x0} {bottom}V{top}" stroke="{INK}" fill="none"/>',
        *_ticks(float(edges[0]), float(edges[-1]), x0, x1, bottom),
        *_ticks(0, tallest, bottom, top, x0, vertical=True),
        f'<text x="{(x0 + x1) / 2:.0f}" y="{height - 2}" text-anchor="middle" fill="{INK}">{escape(x_label)}</text>',
    ]
    return _frame(width, height, title, body)


def level_bars(levels: list[tuple[str, float, float | None]], title: str, width: int = 340, height: int = 170) -> str:
    """Per level (name, accuracy 0..1, mean tokens): accuracy as bars on 0–100%, mean tokens as a line on its own scale."""
    x0, x1, top, bottom = _axes(width, height)
    step = (x1 - x0) / max(len(levels), 1)
    tokens = [t for _, _, t in levels if t is not None]
    most = max(tokens, default=0.0) or 1.0  # the line's scale; labelled only where there is a line
    body = [f'<path d="M{x0} {bottom}H{x1}M{x0} {bottom}V{top}" stroke="{INK}" fill="none"/>']
    line = []
    for i, (name, accuracy, mean_tokens) in enumerate(levels):
        left, bar = x0 + i * step + step * 0.15, (bottom - top) * accuracy
        body.append(f'<rect x="{left:.1f}" y="{bottom - bar:.1f}" width="{step * 0.7:.1f}" height="{bar:.1f}" fill="{GREEN}"/>')
        body.append(f'<text x="{left + step * 0.35:.1f}" y="{bottom + 12:.1f}" text-anchor="middle" fill="{INK}">'
                    f"{escape(name.replace('Level ', 'L'))}</text>")  # fmt: skip
        if mean_tokens is not None:
            line.append(f"{left + step * 0.35:.1f},{bottom - (bottom - top) * mean_tokens / most:.1f}")
    if line:
        body.append(f'<polyline points="{" ".join(line)}" fill="none" stroke="{ORANGE}" stroke-width="1.5"/>')
        body.append(
            f'<text x="{x1:.0f}" y="{top + 8:.0f}" text-anchor="end" fill="{ORANGE}">line: mean tokens (max {most:.0f})</text>'
        )
    body += [
        *_ticks(0, 100, bottom, top, x0, vertical=True),
        f'<text x="{(x0 + x1) / 2:.0f}" y="{height - 2}" text-anchor="middle" fill="{INK}">bars: accuracy % by level</text>',
    ]
    return _frame(width, height, title, body)


def scatter(
    xs: list[float], ys: list[float], groups: list[str], colours: dict[str, str], title: str, x_label: str, y_label: str,
    width: int = 460, height: int = 380,
) -> str:  # fmt: skip
    """One dot per (x, y), coloured by its group, a path per group; the diagonal y = x; a key below with counts."""
    key_rows = (len(colours) + 1) // 2
    x0, x1, top, bottom = _axes(width, height - 16 * key_rows)
    low, high = min(min(xs), min(ys)), max(max(xs), max(ys))
    span = (high - low) or 1.0

    def place(x: float, y: float) -> tuple[float, float]:
        return x0 + (x - low) / span * (x1 - x0), bottom - (y - low) / span * (bottom - top)

    body = [f'<path d="M{x0} {bottom}H{x1}M{x0} {bottom}V{top}" stroke="{INK}" fill="none"/>',
            f'<path d="M{x0} {bottom}L{x1} {top}" stroke="{GREY}" stroke-dasharray="4 3" fill="none"/>']  # fmt: skip
    for group, colour in colours.items():
        dots = "".join("M{:.0f} {:.0f}h0".format(*place(x, y)) for x, y, g in zip(xs, ys, groups, strict=True) if g == group)
        if dots:
            body.append(f'<path d="{dots}" stroke="{colour}" stroke-width="5" stroke-linecap="round" stroke-opacity="0.75"/>')
    body += [*_ticks(low, high, x0, x1, bottom), *_ticks(low, high, bottom, top, x0, vertical=True),
             f'<text x="{(x0 + x1) / 2:.0f}" y="{bottom + 24:.0f}" text-anchor="middle" fill="{INK}">{escape(x_label)}</text>',
             f'<text transform="translate(10 {(top + bottom) / 2:.0f}) rotate(-90)" text-anchor="middle" fill="{INK}">'
             f"{escape(y_label)}</text>"]  # fmt: skip
    for index, (group, colour) in enumerate(colours.items()):
        x, y = x0 + (index % 2) * (x1 - x0) / 2, bottom + 42 + 16 * (index // 2)
        count = groups.count(group)
        body.append(f'<circle cx="{x + 4:.0f}" cy="{y - 4:.0f}" r="4" fill="{colour}"/>'
                    f'<text x="{x + 12:.0f}" y="{y:.0f}" fill="{INK}">{escape(group)} ({count})</text>')  # fmt: skip
    return _frame(width, height + 20, title, body)
