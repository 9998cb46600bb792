"""A published table's derived numbers recomputed from its own inputs: AES, ACU, compression and the average column.

A recomputed number agrees with the published one when some value within the rounding of its inputs
rounds to it: each input may lie half a unit of its last printed digit either way, the recomputed
value's range is taken over those corners, and the published value may itself lie half a unit of its
last digit from it. (YAML drops a trailing zero, 0.40 reads as 0.4: the rounding is then that of the
digits given, which is wider.) Where they differ the check says why, with the transcription's note
where the cell has one.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any

from effbench.analysis.compare import aes, compression
from effbench.analysis.leaderboard import AVERAGE, Entry, Leaderboard, Reported
from effbench.analysis.scores import ock_score
from effbench.analysis.stats import mean_or_none
from effbench.analysis.thinking import acu


@dataclass(frozen=True)
class Check:
    """One published derived number beside the value recomputed from the table's own inputs."""

    entry: str
    task: str
    quantity: str
    published: float
    recomputed: float
    low: float
    high: float
    agrees: bool
    why: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def half_unit(value: float) -> float:
    """Half a unit of the last digit `value` is written with."""
    text = repr(float(value))
    if "e" in text:
        return 0.0
    digits = len(text.split(".")[1].rstrip("0")) if "." in text else 0
    return 0.5 * 10**-digits


def value_range(formula: Callable[..., float | None], inputs: Sequence[float]) -> tuple[float, float] | None:
    """The formula's least and greatest value over the corners of its inputs' rounding; None where it is undefined."""
    values = []
    for signs in itertools.product((-1, 1), repeat=len(inputs)):
        try:
            value = formula(*(x + sign * half_unit(x) for x, sign in zip(inputs, signs, strict=True)))
        except ZeroDivisionError:
            value = None
        if value is not None:
            values.append(value)
    return (min(values), max(values)) if values else None


def check(
    entry: str,
    task: str,
    quantity: str,
    published: float,
    formula: Callable[..., float | None],
    inputs: Sequence[float],
    note: str | None,
) -> Check | None:
    """The published value beside `formula` of `inputs`; `note` (the cell's) is the reason given where they differ."""
    exact, bounds = formula(*inputs), value_range(formula, inputs)
    if exact is None or bounds is None:
        return None
    low, high = bounds
    margin = half_unit(published) + 1e-9 * max(1.0, abs(published))
    agrees = low - margin <= published <= high + margin
    why = (
        "within the rounding of its inputs"
        if agrees
        else note or f"differs beyond the rounding of its inputs (recomputed {low:.4g} to {high:.4g})"
    )
    return Check(entry, task, quantity, published, exact, low, high, agrees, why)


def recompute(board: Leaderboard) -> list[Check]:
    """Every derived number the table publishes that its own inputs determine."""
    checks: list[Check | None] = []
    for entry in board.entries:
        cells = entry.reported or {}
        base_cells = (board.entry(entry.baseline).reported or {}) if entry.baseline else {}
        for task, cell in cells.items():
            base = base_cells.get(task)
            if cell.acu is not None and entry.parameters and cell.mean_tokens:
                per_parameter = partial(acu, parameters_billions=entry.parameters)
                inputs_acu = (cell.accuracy, cell.mean_tokens)
                checks.append(check(entry.name, task, "ACU", cell.acu, per_parameter, inputs_acu, cell.note))
            if base is not None and cell.mean_tokens is not None and base.mean_tokens is not None:
                inputs = (base.accuracy, cell.accuracy, base.mean_tokens, cell.mean_tokens)
                if cell.compression is not None:
                    checks.append(
                        check(entry.name, task, "compression %", cell.compression, _compression_percent, inputs[2:], cell.note)
                    )
                if cell.aes is not None and task != AVERAGE:
                    as_published = partial(aes, weights=board.aes_weights, as_published=True)
                    checks.append(check(entry.name, task, "AES", cell.aes, as_published, inputs, cell.note))
            checks.extend(_scores(entry.name, task, cell))
        checks.extend(_averages(board, entry))
    return [c for c in checks if c is not None]


def _scores(entry: str, task: str, cell: Reported) -> list[Check | None]:
    """A leaderboard's own derived columns: accuracy from its counts, OckScore, and its cost from tokens and prices."""
    found: list[Check | None] = []
    if cell.solved is not None and cell.problems:
        solved, problems = cell.solved, cell.problems
        found.append(check(entry, task, "accuracy %", cell.accuracy, lambda: 100 * solved / problems, (), cell.note))
    if cell.ock_score is not None and cell.mean_tokens is not None:
        found.append(check(entry, task, "OckScore", cell.ock_score, _ock_percent, (cell.accuracy, cell.mean_tokens), cell.note))
    tokens = (cell.input_tokens, cell.mean_tokens)
    if cell.cost_usd is not None and tokens[0] is not None and tokens[1] is not None and cell.input_price is not None:
        cost = partial(_table_cost, cell=cell)
        found.append(check(entry, task, "cost USD", cell.cost_usd, cost, (tokens[0], tokens[1]), cell.note))
    return found


def _ock_percent(accuracy_percent: float, tokens: float) -> float | None:
    return ock_score(accuracy_percent / 100, tokens)


def _table_cost(input_tokens: float, output_tokens: float, *, cell: Reported) -> float:
    """Every problem's every run at the table's prices (MathArena's cost column)."""
    completions = (cell.problems or 1) * (cell.runs or 1)
    return completions * (input_tokens * (cell.input_price or 0) + output_tokens * (cell.output_price or 0)) / 1_000_000


def _compression_percent(base_tokens: float, tokens: float) -> float | None:
    value = compression(base_tokens, tokens)
    return None if value is None else 100 * value


def _averages(board: Leaderboard, entry: Entry) -> list[Check | None]:
    """The paper's average column: the mean of the entry's task cells (and of their AES, as O1-Pruner averages it)."""
    cells = entry.reported or {}
    average, tasks = cells.get(AVERAGE), [cells[t] for t in board.tasks if t in cells]
    if average is None or len(tasks) != len([t for t in board.tasks if t != AVERAGE]):
        return []
    found: list[Check | None] = []
    columns = (
        ("average accuracy", average.accuracy, [c.accuracy for c in tasks]),
        ("average tokens", average.mean_tokens, [c.mean_tokens for c in tasks if c.mean_tokens is not None]),
        ("average AES", average.aes, [c.aes for c in tasks if c.aes is not None]),
    )
    for quantity, published, values in columns:
        if published is not None and len(values) == len(tasks):  # every task gives it
            found.append(check(entry.name, AVERAGE, quantity, published, _mean, values, average.note))
    return found


def _mean(*values: float) -> float:
    return sum(values) / len(values)


def published_efficiency(board: Leaderboard) -> list[dict[str, Any]]:
    """Per entry with a baseline and per task: the published AES beside AES recomputed from the published
    accuracy and length, both as the paper's formula and as the variant its table used. The average
    column's AES is the mean of the per-task values, as the paper computes it."""
    weights = board.aes_weights
    rows: list[dict[str, Any]] = []
    for entry in board.entries:
        base = board.entry(entry.baseline).reported if entry.baseline else None
        if entry.reported is None or base is None:
            continue
        per_task: list[dict[str, Any]] = []
        for task in board.tasks:
            mine, theirs = entry.reported.get(task), base.get(task)
            if mine is None or theirs is None or mine.mean_tokens is None or theirs.mean_tokens is None:
                continue
            args = (theirs.accuracy, mine.accuracy, theirs.mean_tokens, mine.mean_tokens, weights)
            row = {
                "entry": entry.name,
                "baseline": entry.baseline,
                "task": task,
                "accuracy": mine.accuracy,
                "mean_tokens": mine.mean_tokens,
                "compression": compression(theirs.mean_tokens, mine.mean_tokens),
                "aes_published": mine.aes,
                "aes": aes(*args),
                "aes_as_published": aes(*args, as_published=True),
            }
            per_task.append(row)
            rows.append(row)
        mine_average, their_average = entry.reported.get(AVERAGE), base.get(AVERAGE)
        if mine_average is not None and per_task:
            rows.append(
                {
                    "entry": entry.name,
                    "baseline": entry.baseline,
                    "task": AVERAGE,
                    "accuracy": mine_average.accuracy,
                    "mean_tokens": mine_average.mean_tokens,
                    "compression": compression(their_average.mean_tokens, mine_average.mean_tokens)
                    if their_average is not None and their_average.mean_tokens and mine_average.mean_tokens is not None
                    else None,
                    "aes_published": mine_average.aes,
                    "aes": mean_or_none([r["aes"] for r in per_task]),
                    "aes_as_published": mean_or_none([r["aes_as_published"] for r in per_task]),
                }
            )
    return rows
