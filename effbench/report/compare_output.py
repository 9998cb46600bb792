"""`effbench compare` output: flat rows, shown as a table, JSON or CSV."""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Literal

from pydantic import Field
from rich.table import Table

from effbench.analysis.compare import AESWeights, Comparison, compare_runs
from effbench.analysis.cost import Pricing, run_costs
from effbench.analysis.leaderboard import Leaderboard
from effbench.analysis.published import Check, published_efficiency, recompute
from effbench.analysis.scores import score_rows
from effbench.schema import Strict
from effbench.store.records import CostMetrics
from effbench.store.runs import Run
from effbench.text import for_terminal


class CompareKeys(Strict):
    """`effbench compare`'s keys."""

    format: Literal["table", "json", "csv"] = Field("table", description="how to print the comparison")
    prices: str | None = Field(None, description="price the runs: a price table's name (effbench prices) or a YAML/JSON file")
    price_model: str | None = Field(None, description="the price table's entry to price by (default: each run's model)")
    gpu_hour_usd: float | None = Field(None, gt=0, description="price self-hosted runs by their generation time instead")
    alpha: float = Field(1.0, description="AES weight of shorter output")
    beta: float = Field(3.0, description="AES weight of higher accuracy")
    gamma: float = Field(5.0, description="AES penalty of lower accuracy")

    @property
    def weights(self) -> AESWeights:
        return AESWeights(self.alpha, self.beta, self.gamma)


def comparison_rows(result: Comparison) -> list[dict[str, Any]]:
    """One flat row per run and task, then the run's average row: the table's and the CSV's lines."""
    rows: list[dict[str, Any]] = []
    for run, comparison in result.runs.items():
        for task, t in comparison.tasks.items():
            rows.append({
                "run": run, "method": comparison.method, "task": task,
                "baseline_accuracy": t.baseline.accuracy, "baseline_accuracy_ci95": t.baseline.accuracy_ci95,
                "accuracy": t.run.accuracy, "accuracy_ci95": t.run.accuracy_ci95,
                "baseline_mean_tokens": t.baseline.mean_tokens, "mean_tokens": t.run.mean_tokens,
                "compression": t.compression, "aes": t.aes, "aes_as_published": t.aes_as_published,
                "accuracy_delta": t.accuracy_delta, "accuracy_delta_ci95": t.accuracy_delta_ci95, "mcnemar_p": t.mcnemar_p,
                "token_ratio": t.token_ratio, "token_ratio_ci95": t.token_ratio_ci95, "samples": t.samples,
                "notes": "; ".join(t.notes),
            })  # fmt: skip
        a = comparison.average
        rows.append({
            "run": run, "method": comparison.method, "task": "average",
            "baseline_accuracy": a.baseline_accuracy, "accuracy": a.run_accuracy,
            "baseline_mean_tokens": a.baseline_mean_tokens, "mean_tokens": a.run_mean_tokens,
            "compression": a.compression_of_means, "aes": a.aes_mean_of_tasks,
            "aes_as_published": a.aes_as_published_mean_of_tasks, "aes_of_means": a.aes_of_means,
            "notes": "AES: mean of the tasks' AES; compression: of the mean lengths",
        })  # fmt: skip
    return rows


def percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def _interval(ci: list[float] | None, scale: float = 100, digits: int = 1) -> str:
    return "" if not ci else f" [{scale * ci[0]:.{digits}f}, {scale * ci[1]:.{digits}f}]"


def _num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _p_value(p: float | None) -> str:
    return "-" if p is None else "<0.001" if p < 0.001 else f"{p:.3f}"


def comparison_table(rows: list[dict[str, Any]], baseline: str) -> Table:
    table = Table(title=for_terminal(f"against {baseline}"), title_justify="left")
    for column in (
        "run",
        "task",
        "base acc %",
        "acc % [95% CI]",
        "Δacc pts [95% CI]",
        "p (McNemar)",
        "base tok",
        "tok",
        "tok ratio [95% CI]",
        "compression %",
        "AES",
        "AES as published",
        "OckScore",
        *(["$ per solved"] if any("cost_per_solved_usd" in r for r in rows) else []),
    ):
        table.add_column(column, justify="left" if column in ("run", "task") else "right")
    for r in rows:
        table.add_row(
            for_terminal(r["run"] + (f" ({r['method']})" if r.get("method") else "")),
            for_terminal(r["task"]),
            percent(r["baseline_accuracy"]),
            percent(r["accuracy"]) + _interval(r.get("accuracy_ci95")),
            percent(r.get("accuracy_delta")) + _interval(r.get("accuracy_delta_ci95")),
            _p_value(r.get("mcnemar_p")),
            _num(r["baseline_mean_tokens"], 0),
            _num(r["mean_tokens"], 0),
            _num(r.get("token_ratio")) + _interval(r.get("token_ratio_ci95"), scale=1, digits=2),
            percent(r["compression"]),
            _num(r["aes"]),
            _num(r["aes_as_published"]),
            _num(r.get("ock_score"), 1),
            *([_usd(r.get("cost_per_solved_usd"))] if any("cost_per_solved_usd" in row for row in rows) else []),
        )
    notes = [f"{r['run']} / {r['task']}: {r['notes']}" for r in rows if r.get("notes")]
    table.caption = for_terminal("\n".join(notes))
    table.caption_justify = "left"
    return table


def with_costs(rows: list[dict[str, Any]], costs: dict[str, dict[str, CostMetrics]]) -> list[dict[str, Any]]:
    """Comparison rows with the run's cost for the task beside them."""
    return [{**r, **_cost_columns(costs.get(r["run"], {}).get(r["task"]))} for r in rows]


def _cost_columns(cost: CostMetrics | None) -> dict[str, Any]:
    if cost is None:
        return {}
    return {"cost_per_problem_usd": cost.per_problem_usd, "cost_per_solved_usd": cost.per_solved_usd, "cost_usd": cost.total_usd}


def with_scores(rows: list[dict[str, Any]], scores: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Comparison rows with the run's OckScore, efficiency score and O_g for the task beside them."""
    figures = {(r["run"], r["task"]): r for r in scores}
    keys = ("ock_score", "efficiency_score", "overthinking_tokens", "accuracy_finished", "truncated_no_answer_rate")
    return [
        {**r, **{k: figures[(r["run"], r["task"])][k] for k in keys}} if (r["run"], r["task"]) in figures else r for r in rows
    ]


def scores_table(scores: list[dict[str, Any]], costs: dict[str, dict[str, CostMetrics]]) -> Table:
    """Every run of the comparison, the baseline's first: the scores leaderboards publish, and the cost where priced."""
    table = Table(title="efficiency scores (OckScore, LLMThinkBench's efficiency, THOUGHTTERMINATOR's O_g)", title_justify="left")
    columns = ["run", "task", "acc %", "acc finished %", "cut, no answer %", "mean tok", "OckScore", "efficiency", "O_g tok"]
    for column in columns + (["$ per problem", "$ per solved"] if costs else []):
        table.add_column(column, justify="left" if column in ("run", "task") else "right")
    for r in scores:
        cost = costs.get(r["run"], {}).get(r["task"])
        money = [_usd(cost.per_problem_usd if cost else None), _usd(cost.per_solved_usd if cost else None)] if costs else []
        table.add_row(
            for_terminal(r["run"]), for_terminal(r["task"]), percent(r["accuracy"]), percent(r["accuracy_finished"]),
            percent(r["truncated_no_answer_rate"]), _num(r["mean_tokens"], 0), _num(r["ock_score"], 1),
            _num(r["efficiency_score"], 3), _num(r["overthinking_tokens"], 0), *money,
        )  # fmt: skip
    return table


def cost_table(costs: dict[str, dict[str, CostMetrics]]) -> Table:
    table = Table(title="cost", title_justify="left")
    for column in ("run", "task", "$ per problem", "$ per solved problem", "$ in all", "priced by"):
        table.add_column(column, justify="left" if column in ("run", "task", "priced by") else "right", overflow="fold")
    for run, tasks in costs.items():
        for task, cost in tasks.items():
            money = [_usd(cost.per_problem_usd), _usd(cost.per_solved_usd), _usd(cost.total_usd)]
            table.add_row(for_terminal(run), for_terminal(task), *money, for_terminal(cost.missing or cost.basis))
    return table


def _usd(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def beside(rows: list[dict[str, Any]], figures: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Comparison rows with the compared run's figures for the task (its thinking, its timings) beside them."""
    by_row = {(r["run"], r["task"]): r for r in figures}
    return [{**r, **by_row.get((r["run"], r["task"]), {})} for r in rows]


LATENCIES = (("wall", "wall_s"), ("first token", "first_token_s"), ("first answer token", "first_answer_s"))


def latency_rows(runs: list[Run]) -> list[dict[str, Any]]:
    """Each run's timings per task where it was timed: p50 / p90 / p99 seconds of the wall time, the first token and
    the first answer token."""
    rows = []
    for run in runs:
        for task, entry in run.tasks.items():
            if (latency := entry.metrics.latency) is None:
                continue
            row: dict[str, Any] = {"run": run.name, "task": task, "timed": latency.timed, "timing_estimated": latency.estimated}
            for _, key in LATENCIES:
                figures = getattr(latency, key)
                row |= {f"{key}_{p}": getattr(figures, p) if figures else None for p in ("p50", "p90", "p99")}
            rows.append(row)
    return rows


def latency_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="time (seconds from each request: p50 / p90 / p99)", title_justify="left")
    for column in ("run", "task", "timed", *(name for name, _ in LATENCIES)):
        table.add_column(column, justify="left" if column in ("run", "task") else "right")
    for r in rows:
        spans = [" / ".join(_num(r[f"{key}_{p}"], 3) for p in ("p50", "p90", "p99")) for _, key in LATENCIES]
        table.add_row(for_terminal(r["run"]), for_terminal(r["task"]), str(r["timed"]), *spans)
    estimated = [f"{r['run']} / {r['task']}" for r in rows if r["timing_estimated"]]
    if estimated:
        where = ", ".join(estimated)
        table.caption = for_terminal(f"first answer tokens of {where} placed by their token position, not seen arrive")
    return table


def thinking_rows(runs: list[Run]) -> list[dict[str, Any]]:
    """Each run's thinking-efficiency figures per task, the baseline's first (`TaskMetrics.thinking_columns`)."""
    return [
        {"run": run.name, "task": task, **entry.metrics.thinking_columns()} for run in runs for task, entry in run.tasks.items()
    ]


THINKING_COLUMNS = (
    ("ξ_O %", "outcome_efficiency", percent),
    ("first-correct tok", "first_correct_tokens", lambda v: _num(v, 0)),
    ("reflection tok", "reflection_tokens", lambda v: _num(v, 0)),
    ("answer-first tok", "answer_first_tokens", lambda v: _num(v, 0)),
    ("after-settled %", "after_settled_share", percent),
    ("ξ_UT %", "underthinking", percent),
    ("harmful overthinking", "harmful_overthinking", lambda v: "-" if v is None else str(v)),
    ("markers / completion", "reflection_markers", _num),
    ("tok / marker", "tokens_per_marker", lambda v: _num(v, 0)),
    ("acc % completed", "completed_accuracy", percent),
    ("cap hit %", "truncation_rate", percent),
    ("ρ(difficulty, tok)", "difficulty_spearman", _num),
    ("AUC_OAA %", "auc_oaa", percent),
    ("ACU", "acu", lambda v: "-" if v is None else f"{v:.4g}"),
)


def thinking_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="thinking efficiency", title_justify="left")
    for column in ("run", "task", *(name for name, _, _ in THINKING_COLUMNS)):
        table.add_column(column, justify="left" if column in ("run", "task") else "right")
    for r in rows:
        table.add_row(for_terminal(r["run"]), for_terminal(r["task"]), *(show(r[key]) for _, key, show in THINKING_COLUMNS))
    in_characters = [f"{r['run']} / {r['task']}" for r in rows if r["positions"] == "characters"]
    if in_characters:
        table.caption = for_terminal(
            f"ξ_O and ξ_UT of {', '.join(in_characters)} are shares of characters: their token ids or tokenizer were missing"
        )
        table.caption_justify = "left"
    return table


def published_table(rows: list[dict[str, Any]], title: str) -> Table:
    table = Table(title=for_terminal(title), title_justify="left")
    for column in (
        "entry",
        "baseline",
        "task",
        "acc %",
        "tok",
        "compression %",
        "AES published",
        "AES recomputed as published",
        "AES (the paper's formula)",
    ):
        table.add_column(column, justify="left" if column in ("entry", "baseline", "task") else "right")
    for r in rows:
        table.add_row(
            for_terminal(r["entry"]),
            for_terminal(r["baseline"]),
            for_terminal(r["task"]),
            f"{r['accuracy']:.1f}",
            f"{r['mean_tokens']:.0f}",
            percent(r["compression"]),
            _num(r["aes_published"]),
            _num(r["aes_as_published"]),
            _num(r["aes"]),
        )
    return table


def checks_table(checks: list[Check], title: str) -> Table:
    """Each derived number the table publishes, beside the value recomputed from its own inputs."""
    table = Table(title=for_terminal(f"{title}: its derived numbers recomputed"), title_justify="left")
    for column in ("entry", "task", "quantity", "published", "recomputed", "agrees", "why"):
        table.add_column(column, justify="right" if column in ("published", "recomputed") else "left")
    for c in checks:
        table.add_row(
            for_terminal(c.entry),
            for_terminal(c.task),
            c.quantity,
            f"{c.published:g}",
            f"{c.recomputed:.4g}",
            "yes" if c.agrees else "NO",
            for_terminal(c.why),
        )
    agreed = sum(c.agrees for c in checks)
    table.caption = f"{agreed} of {len(checks)} agree within the rounding of their inputs" if checks else "nothing to recompute"
    table.caption_justify = "left"
    return table


def as_csv(rows: list[dict[str, Any]]) -> str:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: json.dumps(v) if isinstance(v, list) else v for k, v in row.items()})
    return out.getvalue()


Outputs = tuple[dict[str, Any], list[Table], list[dict[str, Any]]]  # (the JSON, the tables, the CSV's rows)


def board_outputs(board: Leaderboard) -> Outputs:
    """A published leaderboard's derived numbers recomputed from its own inputs: its CSV is those checks."""
    rows = published_efficiency(board)
    checks = recompute(board)
    recomputed = [c.to_json() for c in checks]
    tables = ([published_table(rows, board.title)] if rows else []) + [checks_table(checks, board.title)]
    return {"leaderboard": board.title, "rows": rows, "checks": recomputed}, tables, recomputed


def run_outputs(runs: list[Run], keys: CompareKeys) -> Outputs:
    """The runs against the first: the comparison, the thinking figures, the scores, and the cost where priced."""
    pricing = Pricing.of(keys.prices, keys.price_model, keys.gpu_hour_usd)
    comparison = compare_runs(runs[0], runs[1:], keys.weights)
    thinking, scores, latency = thinking_rows(runs), score_rows(runs), latency_rows(runs)
    costs = run_costs(runs, pricing) if pricing else {}
    costed = {run: {task: cost.model_dump() for task, cost in tasks.items()} for run, tasks in costs.items()}
    result: dict[str, Any] = {**comparison.to_json(), "thinking": thinking, "scores": scores}
    result |= ({"latency": latency} if latency else {}) | ({"costs": costed} if costs else {})
    csv_rows = with_costs(with_scores(beside(beside(comparison_rows(comparison), thinking), latency), scores), costs)
    method = f" ({comparison.baseline_method})" if comparison.baseline_method else ""
    tables = [comparison_table(csv_rows, comparison.baseline + method), thinking_table(thinking), scores_table(scores, costs)]
    return result, tables + ([latency_table(latency)] if latency else []) + ([cost_table(costs)] if costs else []), csv_rows
