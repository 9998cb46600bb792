"""The report's figures without a browser: label placement, readable axes, the inline SVG charts."""

from __future__ import annotations

import random
import re

import matplotlib.pyplot as plt
import pytest

from effbench.report.gather import MEASURED, Point
from effbench.report.labels import overlaps, place_labels
from effbench.report.plots import _limits, far_below
from effbench.report.svg import histogram, scatter


def point(accuracy: float, tokens: float) -> Point:
    return Point("e", "m", None, MEASURED, None, accuracy, tokens)


def test_labels_never_meet_each_other_or_a_point_even_in_a_dense_cluster():
    rng = random.Random(0)
    anchors = [(300 + rng.uniform(-15, 15), 200 + rng.uniform(-10, 10)) for _ in range(14)]  # a cluster of 14 points
    sizes = [(rng.uniform(20, 90), 9.0) for _ in anchors]
    placed = place_labels(anchors, sizes, (0, 0, 800, 500))
    boxes = [(x + p.dx, y + p.dy, x + p.dx + w, y + p.dy + h) for (x, y), (w, h), p in zip(anchors, sizes, placed, strict=True)]
    assert not [(i, j) for i in range(len(boxes)) for j in range(i + 1, len(boxes)) if overlaps(boxes[i], boxes[j])]
    markers = [(x - 6, y - 6, x + 6, y + 6) for x, y in anchors]
    assert not [(i, j) for i, box in enumerate(boxes) for j, marker in enumerate(markers) if overlaps(box, marker)]
    assert all(b[0] >= 0 and b[2] <= 800 and b[1] >= 0 and b[3] <= 500 for b in boxes)
    assert any(p.moved for p in placed) and not placed[0].moved  # the first sits beside its point; crowded ones move


def test_labels_that_have_room_stay_beside_their_points():
    placed = place_labels([(100, 100), (400, 300)], [(40, 9), (40, 9)], (0, 0, 800, 500))
    assert [(p.dx, p.moved) for p in placed] == [(10.0, False), (10.0, False)]  # to the right, marker 6 + gap 4


@pytest.mark.parametrize(
    ("accuracies", "tokens"),
    [([0.0, 0.0, 0.0], [100, 100, 100]), ([1.0, 1.0], [50, 50]), ([0.5], [10])],
)
def test_axes_stay_readable_when_every_value_is_equal(accuracies, tokens):
    figure, axes = plt.subplots()
    _limits(axes, [point(a, t) for a, t in zip(accuracies, tokens, strict=True)])
    low, high = axes.get_ylim()
    assert high - low >= 10 and low >= -2 and high <= 102 and low <= 100 * accuracies[0] <= high
    left, right = axes.get_xlim()
    assert left < tokens[0] < right and right - left >= 0.3 * tokens[0]
    plt.close(figure)


def test_inline_charts_escape_what_they_are_given():
    chart = scatter([1, 2], [2, 1], ["<b>a</b>", "b"], {"<b>a</b>": "#000", "b": "#111"}, "t<script>", "x&y", "y")
    assert "<script>" not in chart and "&lt;script&gt;" in chart and "&lt;b&gt;a&lt;/b&gt; (1)" in chart and "x&amp;y" in chart
    assert histogram([], "empty").count("no counts") == 1
    bars = re.search(r'<path d="([^"]*)" fill="#0072B2"', histogram([3, 3, 3, 5], "same values"))
    assert bars and bars.group(1).count("z") == 2  # two bars (3 three times, 5 once), each closed


def entry(name: str, accuracy: float, tokens: float = 500.0) -> Point:
    return Point(name, "m", name, source=MEASURED, baseline=None, accuracy=accuracy, mean_tokens=tokens)


def test_an_entry_far_below_the_rest_is_drawn_at_the_foot_with_its_value():
    cluster = [entry(f"e{i}", 0.84 + 0.02 * i, 300 + 50 * i) for i in range(6)]
    moved = far_below([*cluster, entry("zero-shot", 0.157, 900)])
    low = next(p for p in moved if p.entry == "zero-shot")
    assert 0.8 < low.accuracy < 0.84 and low.method == "zero-shot ↓ 15.7%" and low.mean_tokens == 900
    assert [p for p in moved if p.entry != "zero-shot"] == cluster  # the rest as they were
    two = far_below([*cluster, entry("a", 0.10), entry("b", 0.12)])
    assert sorted(p.method for p in two if p.accuracy < 0.84) == ["a ↓ 10.0%", "b ↓ 12.0%"]
    spread = [entry(f"s{i}", 0.15 * i) for i in range(1, 6)]  # evenly spread: nothing is far below
    assert far_below(spread) == spread
    assert far_below([entry("x", 0.9), entry("y", 0.1), entry("z", 0.92)]) == [entry("x", 0.9), entry("y", 0.1), entry("z", 0.92)]


def test_the_cot_valve_plot_shows_every_entry_without_the_band_at_the_top(tmp_path):
    """One entry at 15.7% on GSM8K no longer squashes the others: the axis starts near the cluster, the entry at its
    foot with its value; the legend draws the diamonds the plot draws."""
    from effbench.analysis.leaderboard import load_leaderboard
    from effbench.report.gather import gather
    from effbench.report.plots import pareto_plot

    points = gather(load_leaderboard("cot_valve")).tasks["gsm8k"]
    pareto_plot("gsm8k", points, tmp_path / "pareto")
    svg = (tmp_path / "pareto.svg").read_text()
    assert "Llama-3.1-8B (0-shot) ↓ 15.7%" in svg
    ticks = [float(t) for t in re.findall(r">(\d+\.\d)</text>", svg)]
    assert ticks and min(ticks) >= 75  # the accuracy axis spans the cluster, not 15 to 100
