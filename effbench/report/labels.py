"""Label placement for the plots: each label beside its point, never over another label or another point.

A greedy step in display coordinates: labels are placed one at a time (the points on the frontier
first), each at the first of a ring of candidate positions around its point, ring after ring further
out, whose box meets no box placed before it, no point's marker, and stays inside the axes. A label
moved off its first ring is joined to its point by a thin line.
"""

from __future__ import annotations

from dataclasses import dataclass

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in display units (pixels)

RINGS = 30  # candidate distances: gap, then one label height further each time


@dataclass(frozen=True)
class Placed:
    dx: float  # offset of the label's lower-left corner from its point, in pixels
    dy: float
    moved: bool  # off its first ring: draw a leader line


def overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def place_labels(
    anchors: list[tuple[float, float]], sizes: list[tuple[float, float]], bounds: Box, marker: float = 6.0, gap: float = 4.0
) -> list[Placed]:
    """One placement per label (anchor: its point; size: its width and height), in the order given."""
    taken: list[Box] = [(x - marker, y - marker, x + marker, y + marker) for x, y in anchors]
    placed = []
    for (x, y), (width, height) in zip(anchors, sizes, strict=True):
        choice = None
        for ring in range(RINGS):
            for dx, dy in _candidates(width, height, marker + gap + ring * max(height, 8.0)):
                box = (x + dx, y + dy, x + dx + width, y + dy + height)
                if _inside(box, bounds) and not any(overlaps(box, other) for other in taken):
                    choice = Placed(dx, dy, moved=ring > 0)
                    break
            if choice:
                break
        if choice is None:  # nowhere free within reach: to the right, joined by its line
            choice = Placed(marker + gap, -height / 2, moved=True)
        taken.append((x + choice.dx, y + choice.dy, x + choice.dx + width, y + choice.dy + height))
        placed.append(choice)
    return placed


def _candidates(width: float, height: float, reach: float) -> list[tuple[float, float]]:
    """Offsets of the label's lower-left corner at one distance: right, upper right, above, left, below, …"""
    slant = reach * 0.7
    return [
        (reach, -height / 2),
        (slant, slant - height / 2),
        (slant, -slant - height / 2),
        (-width / 2, reach),
        (-width / 2, -reach - height),
        (-reach - width, -height / 2),
        (-slant - width, slant - height / 2),
        (-slant - width, -slant - height / 2),
    ]


def _inside(box: Box, bounds: Box) -> bool:
    return box[0] >= bounds[0] and box[1] >= bounds[1] and box[2] <= bounds[2] and box[3] <= bounds[3]
