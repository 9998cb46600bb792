"""The board's figures, with matplotlib: accuracy-vs-tokens Pareto plots, results by level, checkpoint series.

Colours are Okabe-Ito (safe for colour-blind readers) and every distinction is also a shape or a
line style, so the figures read in greyscale print too.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.text import Text

from effbench.report.gather import MEASURED, Point, plotted
from effbench.report.glyphs import drawable, use_installed_fonts
from effbench.report.labels import place_labels

LINE_STYLES = ["-", (0, (6, 2)), (0, (1, 1.5)), (0, (6, 2, 1, 2))]
OKABE_ITO = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
plt.rcParams.update({"font.size": 9, "svg.fonttype": "none", "figure.dpi": 110, "svg.hashsalt": "effbench"})
use_installed_fonts()


def save(figure, stem: Path, formats: tuple[str, ...] = ("svg", "png"), *, tight: bool = True) -> list[str]:
    for text in figure.findobj(Text):  # names as drawn: no control characters, nothing the fonts lack
        text.set_text(drawable(text.get_text()))
    names = []
    for extension in formats:
        path = stem.with_suffix(f".{extension}")
        figure.savefig(
            path, metadata={"Date": None} if extension == "svg" else None, **({"bbox_inches": "tight"} if tight else {})
        )
        names.append(path.name)
    plt.close(figure)
    return names


def pareto_plot(task: str, points: list[Point], stem: Path, xlabel: str = "mean completion tokens") -> list[str]:
    """Accuracy (y) against mean completion tokens (x, log where the range is wide); the frontier drawn;
    each entry joined to its baseline by an arrow; intervals as error bars; measured ● and reported ◇;
    each budget sweep a solid line through its budgets, each labelled with its budget. Labels are placed
    where they meet no other label and no point (`labels.place_labels`); the legend sits below the axes. An entry far
    below all the others is drawn at the axis' foot with its value, rather than stretching the axis (`far_below`)."""
    points = far_below(points)
    figure, axes = plt.subplots(figsize=(11.5, 5.2))  # shown 1150 px wide: text drawn a tenth smaller than measured
    models = sorted({p.model for p in points})
    colour = {m: OKABE_ITO[i % len(OKABE_ITO)] for i, m in enumerate(models)}
    _baseline_arrows(axes, points)
    labels: list[tuple[Point, str, bool]] = []  # (point, text, a sweep's budget)
    marks: list[tuple[Point, str]] = []  # (point, colour)
    sweeps_of: dict[str, int] = {}
    for point in points:
        if point.curve:
            style = LINE_STYLES[sweeps_of.setdefault(point.model, 0) % len(LINE_STYLES)]  # two sweeps of a model differ
            sweeps_of[point.model] += 1
            axes.plot([q.x for q in point.curve], [100 * q.accuracy for q in point.curve], color=colour[point.model],
                      linestyle=style, linewidth=1.3, zorder=2, label=f"{point.entry} (sweep)")  # fmt: skip
            for budget_point in point.curve:
                marks.append((budget_point, colour[point.model]))
                labels.append((budget_point, f"{budget_point.label}", True))
        else:
            marks.append((point, colour[point.model]))
            labels.append((point, point.method or point.entry, False))
    _marks(axes, marks)
    everything = plotted(points)
    frontier = sorted((p for p in everything if p.pareto), key=lambda p: p.x)
    if len(frontier) > 1:
        axes.step([p.x for p in frontier], [100 * p.accuracy for p in frontier], where="post", linestyle="--",
                  color="#444444", linewidth=1, label="Pareto frontier", zorder=2)  # fmt: skip
    _limits(axes, everything)
    _legend(axes, models, colour, {m for m in models if any(p.model == m and p.source == MEASURED for p in points)})
    axes.set_xlabel(xlabel)
    axes.set_ylabel("accuracy (%)")
    axes.set_title(task)
    axes.grid(alpha=0.3, linewidth=0.5)
    figure.subplots_adjust(left=0.065, right=0.985, top=0.93, bottom=0.2)  # a fixed layout: "tight" draws it twice more
    _labels(figure, axes, sorted(labels, key=lambda item: (item[2], not item[0].pareto)))
    return save(figure, stem, tight=False)


OUTLIER_GAP = 15.0  # accuracy points: a gap this wide, and twice the others' spread, sets an entry apart


def far_below(points: list[Point]) -> list[Point]:
    """The points, with the one or two far below all the others (a gap of at least 15 points, and at least twice the
    spread of the rest) moved up to just below the rest and labelled with their own accuracy: one entry at 15% no
    longer squashes the others into a band at the top."""
    single = sorted((p for p in plotted(points) if not p.curve), key=lambda p: p.accuracy)
    for count in (1, 2):
        if len(single) - count < 3:
            break
        low, rest = 100 * single[count - 1].accuracy, [100 * p.accuracy for p in single[count:]]
        if rest[0] - low >= max(OUTLIER_GAP, 2 * (rest[-1] - rest[0])):
            foot = (rest[0] - 0.08 * max(rest[-1] - rest[0], 10.0)) / 100
            moved = {id(p) for p in single[:count]}
            return [
                replace(p, accuracy=foot, accuracy_ci=None, method=f"{p.method or p.entry} ↓ {100 * p.accuracy:.1f}%")
                if id(p) in moved
                else p
                for p in points
            ]
    return points


def _limits(axes, points: list[Point]) -> None:
    """Axes that stay readable when values are equal: at least 10 accuracy points tall, and a token range around
    a single length; log tokens where they span more than 8×."""
    values = [100 * v for p in points for v in (p.accuracy, *(p.accuracy_ci or ()))]
    low, high = min(values, default=0.0), max(values, default=0.0)
    span = max(high - low, 10.0)
    bottom = max(-2.0, (low + high) / 2 - span / 2 - 3)
    axes.set_ylim(bottom, min(102.0, bottom + span + 6))
    tokens = [p.x for p in points if p.x > 0]
    if tokens and max(tokens) / min(tokens) > 8:
        axes.set_xscale("log")
    elif tokens and max(tokens) - min(tokens) < 0.05 * max(tokens):
        axes.set_xlim(min(tokens) * 0.8, max(tokens) * 1.2)


def _labels(figure, axes, labels: list[tuple[Point, str, bool]]) -> None:
    """Each label where it meets no other label and no point, in the figure's own pixels; a thin line to a moved one."""
    renderer = figure.canvas.get_renderer()
    texts = [axes.text(0, 0, text, fontsize=6.5 if budget else 7) for _, text, budget in labels]
    sizes = [(box.width + 2, box.height + 1) for box in (t.get_window_extent(renderer) for t in texts)]
    for t in texts:
        t.remove()
    anchors = [(float(x), float(y)) for x, y in (axes.transData.transform((p.x, 100 * p.accuracy)) for p, _, _ in labels)]
    frame = axes.get_window_extent(renderer)
    placed = place_labels(anchors, sizes, (frame.x0, frame.y0, frame.x1, frame.y1))
    to_points = 72 / figure.dpi
    for (point, text, budget), where in zip(labels, placed, strict=True):
        arrow = {"arrowstyle": "-", "color": "#999999", "lw": 0.5, "shrinkA": 0, "shrinkB": 3} if where.moved else None
        axes.annotate(text, (point.x, 100 * point.accuracy), xytext=(where.dx * to_points, where.dy * to_points),
                      textcoords="offset points", ha="left", va="bottom", fontsize=6.5 if budget else 7, color="#333333",
                      arrowprops=arrow, annotation_clip=False, zorder=4,
                      bbox={"boxstyle": "square,pad=0.05", "facecolor": "white", "edgecolor": "none", "alpha": 0.75})  # fmt: skip


def _baseline_arrows(axes, points: list[Point]) -> None:
    """An arrow from each entry's baseline to the entry."""
    by_name = {p.entry: p for p in points}
    for point in points:
        base = by_name.get(point.baseline) if point.baseline else None
        if base is not None:
            axes.annotate("", xy=(point.x, 100 * point.accuracy), xytext=(base.x, 100 * base.accuracy),
                          arrowprops={"arrowstyle": "->", "color": "#777777", "lw": 0.8, "shrinkA": 4, "shrinkB": 4})  # fmt: skip


def _legend(axes, models: list[str], colour: dict[str, str], measured: set[str]) -> None:
    """One marker per model, as its points are drawn (filled ● where measured, ◇ where only reported), and the two
    point shapes, below the axes."""
    for model in models:
        if model in measured:
            axes.scatter([], [], marker="o", color=colour[model], label=model)
        else:
            axes.scatter([], [], marker="D", facecolors="white", edgecolors=colour[model], linewidths=1.4, label=model)
    axes.scatter([], [], marker="o", color="#555555", label="measured here")
    axes.scatter([], [], marker="D", facecolors="white", edgecolors="#555555", label="reported by a paper")
    axes.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=4)


def _marks(axes, marks: list[tuple[Point, str]]) -> None:
    """The points: their intervals and their markers (filled when measured), one drawing per kind of mark."""
    groups: dict[tuple[str, bool, bool], list[Point]] = {}
    for point, colour in marks:
        groups.setdefault((colour, point.source == MEASURED, point.pareto), []).append(point)
    for (colour, measured, pareto), points in groups.items():
        xs, ys = [p.x for p in points], [100 * p.accuracy for p in points]
        with_ci = [p for p in points if p.accuracy_ci]
        if with_ci:
            axes.errorbar([p.x for p in with_ci], [100 * p.accuracy for p in with_ci], fmt="none", ecolor=colour,
                          elinewidth=0.8, capsize=2,
                          yerr=[[100 * (p.accuracy - p.accuracy_ci[0]) for p in with_ci if p.accuracy_ci],
                                [100 * (p.accuracy_ci[1] - p.accuracy) for p in with_ci if p.accuracy_ci]])  # fmt: skip
        axes.scatter(xs, ys, s=42 if pareto else 30, marker="o" if measured else "D", facecolors=colour if measured else "white",
                     edgecolors=colour, linewidths=1.4, zorder=3)  # fmt: skip


MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
OVERLAID = 12  # entries drawn on one axis of lines (levels, token distributions): the board's first twelve


def level_key(level: str) -> tuple[float, str]:
    """`Level 10` after `Level 9`: by the number in the name, then by the name."""
    digits = "".join(ch for ch in level if ch.isdigit())
    return (float(digits) if digits else float("inf"), level)


def level_plot(task: str, points: list[Point], stem: Path) -> list[str]:
    """Accuracy and mean tokens by difficulty level, a line per measured entry, on two aligned panels: does an
    entry spend fewer tokens on easier problems, and where does it lose accuracy?"""
    with_levels = [p for p in points if p.levels and not p.curve][:OVERLAID]  # a sweep: its own figure, by budget
    levels = sorted({level for p in with_levels for level in p.levels or {}}, key=level_key)
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(8.2, 5.6), sharex=True)
    for index, point in enumerate(with_levels):
        table = point.levels or {}
        xs = [i for i, level in enumerate(levels) if level in table]
        style = {"color": OKABE_ITO[index % len(OKABE_ITO)], "marker": MARKERS[index % len(MARKERS)], "markersize": 4,
                 "linestyle": LINE_STYLES[index // len(OKABE_ITO) % len(LINE_STYLES)], "linewidth": 1.2}  # fmt: skip
        top.plot(xs, [100 * table[levels[i]].accuracy for i in xs], label=point.entry, **style)
        tokens = [table[levels[i]].mean_tokens for i in xs]
        if all(t is not None for t in tokens):
            bottom.plot(xs, tokens, **style)
    top.set_ylabel("accuracy (%)")
    top.set_ylim(-3, 103)
    bottom.set_ylabel("mean tokens")
    bottom.set_xticks(range(len(levels)), [level.replace("Level ", "L") for level in levels], fontsize=7)
    bottom.set_xlabel("difficulty level")
    top.set_title(f"{task}: by difficulty level")
    for axes in (top, bottom):
        axes.grid(alpha=0.3, linewidth=0.5)
    top.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    figure.subplots_adjust(left=0.08, right=0.78, top=0.93, bottom=0.1, hspace=0.15)  # fixed: "tight" draws twice more
    return save(figure, stem, tight=False)


def series_plot(entry: str, task: str, checkpoints, stem: Path) -> list[str]:
    """Accuracy (with its interval) and mean tokens of a training run's checkpoints against the step, on two
    aligned axes; a checkpoint whose tokens fell beyond noise while its accuracy held is marked ★ on both."""
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(8.2, 5.0), sharex=True)
    steps = [c.step for c in checkpoints]
    accuracy = [100 * c.accuracy for c in checkpoints]
    intervals = [(100 * c.accuracy_ci95[0], 100 * c.accuracy_ci95[1]) if c.accuracy_ci95 else (a, a)
                 for a, c in zip(accuracy, checkpoints, strict=True)]  # fmt: skip
    errors = [[a - low for a, (low, _) in zip(accuracy, intervals, strict=True)],
              [high - a for a, (_, high) in zip(accuracy, intervals, strict=True)]]  # fmt: skip
    top.errorbar(steps, accuracy, yerr=errors, color=OKABE_ITO[0], marker="o", markersize=4, linewidth=1.2, capsize=2)
    marked = [c for c in checkpoints if c.compressed_and_held]
    top.scatter([c.step for c in marked], [100 * c.accuracy for c in marked], marker="*", s=120, color=OKABE_ITO[4],
                zorder=4, label="tokens fell, accuracy held")  # fmt: skip
    counted = [c for c in checkpoints if c.mean_tokens is not None]
    bottom.plot([c.step for c in counted], [c.mean_tokens for c in counted], color=OKABE_ITO[1], marker="s", markersize=4,
                linewidth=1.2)  # fmt: skip
    shorter = [c for c in marked if c.mean_tokens is not None]
    bottom.scatter([c.step for c in shorter], [c.mean_tokens for c in shorter], marker="*", s=120, color=OKABE_ITO[4], zorder=4)
    low, high = min(low for low, _ in intervals), max(high for _, high in intervals)
    span = max(high - low, 10.0)
    top.set_ylim(max(-2.0, (low + high) / 2 - span / 2 - 5), min(102.0, (low + high) / 2 + span / 2 + 5))
    top.set_ylabel("accuracy (%)")
    bottom.set_ylabel("mean tokens")
    bottom.set_xlabel("training step")
    top.set_title(f"{entry} on {task}: accuracy and tokens by checkpoint")
    for axes in (top, bottom):
        axes.grid(alpha=0.3, linewidth=0.5)
    if marked:
        top.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    figure.subplots_adjust(left=0.08, right=0.78, top=0.92, bottom=0.1, hspace=0.15)  # fixed: "tight" draws twice more
    return save(figure, stem, tight=False)


def budget_plot(task: str, points: list[Point], stem: Path) -> list[str]:
    """Accuracy against the token budget of each sweep entry (its runs at each budget, a solid line), beside the
    accuracy its longest run would have had cut at each budget (from its stored lengths, dotted): forcing an
    answer at a budget shows as the gap between a forced sweep and the cut."""
    figure, axes = plt.subplots(figsize=(8.2, 4.2))
    sweeps = [p for p in points if p.curve and p.over is None]  # budget sweeps: a sweep over a key's values has no budgets
    for index, point in enumerate(sweeps):
        colour, curve = OKABE_ITO[index % len(OKABE_ITO)], point.curve or []
        axes.plot([q.budget or 0 for q in curve], [100 * q.accuracy for q in curve], color=colour, marker="o", markersize=4,
                  linewidth=1.4, label=f"{point.entry}: run at each budget")  # fmt: skip
        cut = point.cut_curve or {}
        first = curve[0].budget or 0 if curve else 0
        budgets = sorted(int(b) for b in cut if int(b) >= first / 2)
        if budgets:
            axes.plot(budgets, [100 * cut[str(b)] for b in budgets], color=colour, linestyle=(0, (1, 1.5)), linewidth=1.2,
                      label=f"{point.entry}: its longest run, cut at the budget")  # fmt: skip
    axes.set_xscale("log", base=2)
    ticks = sorted({q.budget for p in sweeps for q in p.curve or [] if q.budget})
    axes.set_xticks(ticks, [str(t) for t in ticks])
    axes.minorticks_off()
    axes.set_xlabel("token budget")
    axes.set_ylabel("accuracy (%)")
    axes.set_ylim(-3, 103)
    axes.set_title(f"{task}: accuracy against the token budget")
    axes.grid(alpha=0.3, linewidth=0.5)
    axes.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    figure.subplots_adjust(left=0.08, right=0.62, top=0.92, bottom=0.12)
    return save(figure, stem, tight=False)


STEPS = 100  # points of a drawn cumulative distribution


def token_plot(task: str, runs: list[tuple[str, Path]], stem: Path) -> list[str]:
    """The distribution of completion tokens of several entries on one axis, as cumulative shares (the share of
    completions at most that long): the first OVERLAID entries of the board that have counts."""
    from effbench.store.folder import RunStore

    figure, axes = plt.subplots(figsize=(8.2, 4.2))
    drawn = 0
    for entry, folder in runs:
        if drawn == OVERLAID:
            break
        counts = sorted(t for _, _, tokens in RunStore(folder).read_outcomes(task) for t in tokens if t is not None)
        if not counts:
            continue
        if len(counts) > STEPS:  # the curve at STEPS evenly spaced shares: the same picture, a tenth of the file
            counts = [counts[round(i * (len(counts) - 1) / (STEPS - 1))] for i in range(STEPS)]
        style = LINE_STYLES[drawn // len(OKABE_ITO) % len(LINE_STYLES)]
        axes.step(counts, [100 * (i + 1) / len(counts) for i in range(len(counts))], where="post", linewidth=1.3,
                  color=OKABE_ITO[drawn % len(OKABE_ITO)], linestyle=style, label=entry)  # fmt: skip
        drawn += 1
    axes.set_xlabel("completion tokens")
    axes.set_ylabel("completions at most that long (%)")
    axes.set_ylim(-2, 102)
    axes.set_title(f"{task}: token distributions")
    axes.grid(alpha=0.3, linewidth=0.5)
    if drawn:
        axes.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    figure.subplots_adjust(left=0.08, right=0.72, top=0.92, bottom=0.12)
    return save(figure, stem, tight=False)
