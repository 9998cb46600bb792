"""The tables the `effbench` command prints in the terminal (rich)."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from effbench.analysis.compare import Comparison
from effbench.analysis.cost import PriceTable
from effbench.analysis.thinking import sweep_budget_control
from effbench.analysis.token_split import sweep_token_split
from effbench.report.compare_output import percent
from effbench.store.records import Results
from effbench.store.runs import KeySweep, Sweep
from effbench.text import for_terminal


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def results_table(results: Results, timings: dict[str, Any]) -> Table:
    table = Table(title=for_terminal(results.model))
    for column in (
        "task",
        "samples",
        "n",
        "accuracy %",
        "95% CI",
        "mean tok",
        "median",
        "p90",
        "reasoning tok",
        "truncated %",
        "no answer",
        "timeouts",
        "gen s",
    ):
        table.add_column(column, justify="left" if column == "task" else "right")
    for task, entry in results.tasks.items():
        m = entry.metrics
        verdicts = m.verdicts
        seconds = (timings.get(task) or {}).get("generate_s")  # until its last sample: tasks are generated together
        table.add_row(
            for_terminal(task),
            str(m.samples),
            str(entry.sampling.n),
            percent(m.accuracy),
            _interval(m.accuracy_ci95),
            _num(m.tokens.mean if m.tokens else None),
            _num(m.tokens.median if m.tokens else None),
            _num(m.tokens.p90 if m.tokens else None),
            _num(m.reasoning_tokens.mean if m.reasoning_tokens else None) + (" hidden" if m.reasoning_hidden else ""),
            percent(m.truncation_rate),
            str(verdicts.get("no_answer", 0) + verdicts.get("unfinished", 0)),
            str(verdicts.get("timeout", 0)),
            "-" if seconds is None else f"{seconds:.1f}",
        )
    return table


def cost_lines(results: Results) -> list[str]:
    """Each priced task's cost per problem, per solved problem and in all, and how it was priced."""
    lines = []
    for task, entry in results.tasks.items():
        cost = entry.metrics.cost
        if cost is None:
            continue
        if cost.missing:
            lines.append(f"{task}: no cost: {cost.missing}")
            continue
        solved = "-" if cost.per_solved_usd is None else f"${cost.per_solved_usd:.4g}"
        figures = f"${cost.per_problem_usd:.4g} per problem, {solved} per solved problem, ${cost.total_usd:.4g} in all"
        lines.append(f"{task}: {figures}; priced by {cost.basis}")
    return [for_terminal(line) for line in lines]


def grading_lines(results: Results) -> list[str]:
    """Per task: the answers found only by the last-number fallback, and where a judge was named, accuracy by the rules
    and by rules + judge with what the judge said."""
    lines = []
    for task, entry in results.tasks.items():
        m = entry.metrics
        if m.fallback_answers:
            lines.append(
                f"{task}: {m.fallback_answers} answers found only by the last-number fallback ({m.fallback_correct} correct)"
            )
        if (judge := m.judge) is not None:
            said = ", ".join(f"{verdict} {count}" for verdict, count in judge.verdicts.items()) or "nothing"
            lines.append(
                f"{task}: accuracy by rules {percent(m.accuracy)}% {_interval(m.accuracy_ci95)}, by rules + judge "
                f"{percent(judge.accuracy)}% {_interval(judge.accuracy_ci95)}; judge {judge.model} (prompt {judge.prompt}) "
                f"on {judge.judged} of {judge.unsettled} completions the rules could not settle: {said}"
            )
    return [for_terminal(line) for line in lines]


def throughput_line(generation: dict[str, Any]) -> str | None:
    """What was generated, how fast, and each engine's share where there were several (or one failed)."""
    speed = generation.get("tokens_per_s")
    if not generation.get("generated_samples") or speed is None:
        return None
    line = f"generated {generation['generated_tokens']:,} tokens in {generation['generate_s']:.1f} s: {speed:,.0f} tok/s"
    engines = generation.get("engines") or []
    if len(engines) > 1 or any(e.get("lost") for e in engines):
        shares = []
        for engine in engines:
            rate = engine.get("tokens_per_s")
            share = f"{engine['engine']} {'-' if rate is None else f'{rate:,.0f}'} tok/s over {engine['requests']} requests"
            shares.append(share + (f" (failed: {engine['lost']})" if engine.get("lost") else ""))
        line += "; " + ", ".join(shares)
    return for_terminal(line)


def _interval(ci: tuple[float, float] | None) -> str:
    return "-" if not ci else f"{100 * ci[0]:.1f}–{100 * ci[1]:.1f}"


def sweep_table(sweep: Sweep, tasks: list[str], model: str) -> Table:
    """Per task and budget: accuracy, its interval, tokens, truncation and forcing; then the task's budget AUC."""
    table = Table(title=for_terminal(f"{model}: {sweep.info.mode} sweep"))
    split_columns = ("beyond need %", "unsolved %", "lost")  # where the tokens went (token_split)
    for column in ("task", "budget", "accuracy %", "95% CI", "mean tok", "truncated %", "forced %", *split_columns, "run"):
        table.add_column(column, justify="left" if column in ("task", "run") else "right")
    for task in tasks:
        curve = sweep.curve(task)
        splits = {s.budget: s for s in sweep_token_split(sweep, task) or []}
        for budget, m in curve:
            split = splits.get(budget)
            went = (
                [percent(split.beyond_need / split.tokens), percent(split.on_unsolved / split.tokens), str(split.lost)]
                if split and split.tokens
                else ["-"] * 3
            )
            table.add_row(
                for_terminal(task),
                str(budget),
                percent(m.accuracy),
                _interval(m.accuracy_ci95),
                _num(m.mean_tokens),
                percent(m.truncation_rate),
                percent(m.forced_rate),
                *went,
                for_terminal(sweep.runs[budget].name),
            )
        blank = [""] * len(split_columns)
        table.add_row(
            for_terminal(task),
            "AUC",
            percent(sweep.auc(task)),
            "",
            "",
            "",
            "",
            *blank,
            f"over {curve[0][0]}–{curve[-1][0]} tokens",
        )
        s1 = sweep_budget_control(curve)
        table.add_row(
            for_terminal(task),
            "s1",
            "-" if s1 is None else f"{s1.performance:.1f}",
            "",
            "",
            "",
            "",
            *blank,
            "thinking tokens not counted"
            if s1 is None
            else f"performance; control {100 * s1.control:.0f}%, scaling "
            + ("-" if s1.scaling is None else f"{s1.scaling:+.1f} points per doubling of thinking"),
            end_section=True,
        )
    return table


def key_sweep_table(sweep: KeySweep, tasks: list[str], model: str) -> Table:
    """Per task and value of the key swept over: accuracy, its interval, tokens and reasoning tokens, the run."""
    table = Table(title=for_terminal(f"{model}: a sweep over {sweep.over}"))
    for column in ("task", sweep.over, "accuracy %", "95% CI", "mean tok", "reasoning tok", "truncated %", "run"):
        table.add_column(column, justify="left" if column in ("task", sweep.over, "run") else "right", overflow="fold")
    for task in tasks:
        for value, m in sweep.curve(task):
            table.add_row(
                for_terminal(task),
                for_terminal(value),
                percent(m.accuracy),
                _interval(m.accuracy_ci95),
                _num(m.mean_tokens),
                _num(m.reasoning_tokens.mean if m.reasoning_tokens else None) + (" hidden" if m.reasoning_hidden else ""),
                percent(m.truncation_rate),
                for_terminal(sweep.runs[value].name),
                end_section=value == sweep.curve(task)[-1][0],
            )
    return table


def styles_table(comparison: Comparison, baseline: Results, runs: dict[str, str], baseline_label: str) -> Table:
    """Each run of `runs` (a label -> its run name) against the baseline: accuracy with its interval, mean tokens,
    compression, AES and the paired accuracy difference; the baseline's own row first."""
    table = Table(title=f"against {for_terminal(comparison.baseline)}", title_justify="left")
    for column in ("run", "accuracy % [95% CI]", "mean tokens", "compression %", "AES", "Δacc pts [95% CI]", "p (McNemar)"):
        table.add_column(column, justify="left" if column == "run" else "right")
    task, metrics = next(iter(baseline.tasks.items()))
    ci = metrics.metrics.accuracy_ci95
    table.add_row(for_terminal(baseline_label), f"{percent(metrics.metrics.accuracy)} {_bracket(ci)}",
                  _num(metrics.metrics.mean_tokens), "-", "-", "-", "-")  # fmt: skip
    for label, name in runs.items():
        t = comparison.runs[name].tasks[task]
        table.add_row(for_terminal(label), f"{percent(t.run.accuracy)} {_bracket(t.run.accuracy_ci95)}", _num(t.run.mean_tokens),
                      percent(t.compression), "-" if t.aes is None else f"{t.aes:.2f}",
                      f"{100 * t.accuracy_delta:+.1f} {_bracket(t.accuracy_delta_ci95)}",
                      "<0.001" if t.mcnemar_p < 0.001 else f"{t.mcnemar_p:.3f}")  # fmt: skip
    return table


def _bracket(ci: tuple[float, float] | None) -> str:
    return "" if ci is None else f"[{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]"


def level_table(results: dict[str, Results], field: str = "level") -> Table:
    """Accuracy and mean tokens of several runs per value of a breakdown field (difficulty), side by side, and Spearman's
    ρ between the task's difficulty and tokens (does the run think less on easy problems?)."""
    tasks = {task for r in results.values() for task in r.tasks}
    table = Table(title=f"accuracy % and mean tokens by {field}", title_justify="left")
    table.add_column("run", justify="left")
    values = sorted({v for r in results.values() for t in r.tasks.values() for v in t.metrics.breakdown.get(field, {})})
    for value in values:
        table.add_column(f"{field} {for_terminal(value)}", justify="right")
    table.add_column("ρ(difficulty, tok)", justify="right")
    for name, result in results.items():
        for task in sorted(tasks & set(result.tasks)):
            metrics = result.tasks[task].metrics
            groups = metrics.breakdown.get(field, {})
            cells = [f"{percent(g.accuracy)} · {_num(g.mean_tokens)} tok" if (g := groups.get(v)) else "-" for v in values]
            rho = metrics.thinking.difficulty_spearman if metrics.thinking else None
            label = for_terminal(name if len(tasks) == 1 else f"{name} {task}")
            table.add_row(label, *cells, "-" if rho is None else f"{rho:.2f}")
    return table


def leaderboards_table() -> Table:
    """Every shipped leaderboard: its paper, its tasks and entries, and the derived numbers recomputed from its own
    inputs, with how many agree (`effbench compare NAME` lists each)."""
    from effbench.analysis.leaderboard import load_leaderboard, shipped_boards
    from effbench.analysis.published import recompute

    table = Table(title="shipped leaderboards: effbench report NAME, effbench compare NAME", title_justify="left")
    for column in ("name", "table", "tasks", "entries", "recomputed"):
        table.add_column(column, overflow="fold", no_wrap=column in ("name", "entries"))
    for name in shipped_boards():
        board = load_leaderboard(name)
        checks = recompute(board)
        quantities = ", ".join(sorted({c.quantity for c in checks}))
        measured = any(e.run or e.sweep or e.series for e in board.entries)
        nothing = "its entries are runs measured here" if measured else "the table publishes no derived number"
        recomputed = f"{sum(c.agrees for c in checks)} of {len(checks)} agree ({quantities})" if checks else nothing
        tasks = ", ".join(board.tasks)
        table.add_row(name, for_terminal(board.citation or board.title), tasks, str(len(board.entries)), recomputed)
    return table


def tasks_table() -> Table:
    """Every task: its size, version, extractor and grader, where its data comes from, and whether it is at hand."""
    from effbench.tasks.data import describe_source
    from effbench.tasks.spec import load_task, task_names

    table = Table()
    for column in ("task", "records", "version", "sha256", "extractor", "grader", "data", "available"):
        table.add_column(column, overflow="fold", no_wrap=column != "data")
    notes = []
    for name in task_names():
        spec = load_task(name)
        where, available = describe_source(spec)
        table.add_row(
            name,
            str(spec.source.records),
            str(spec.version),
            spec.source.sha256[:12],
            spec.extractor,
            spec.grader + (" + grading:" if spec.grading else ""),
            for_terminal(where),
            "yes" if available else ("needs the hub" if where.startswith("hub") else "file missing"),
        )
        if spec.grading:
            notes.append(f"{name} grading: {spec.grading.describe()}")
        if spec.source.unverified:
            notes.append(f"{name} answers not checked apart: {spec.source.unverified}")
    table.caption, table.caption_justify = (for_terminal("\n".join(notes)) if notes else None), "left"
    return table


def prices_table(table: PriceTable) -> Table:
    """Every entry of a price table: its model, its prices in USD per million tokens, and its source and date."""
    out = Table(title=for_terminal(f"prices={table.name}: USD per million tokens"))
    for column in ("entry", "model", "input", "cached input", "output", "reasoning", "as of", "source"):
        out.add_column(column, justify="right" if column in ("input", "cached input", "output", "reasoning") else "left",
                       overflow="fold")  # fmt: skip
    for key, price in table.prices.items():
        optional = [_price(price.cached_input), _price(price.output), _price(price.reasoning)]
        out.add_row(for_terminal(key), for_terminal(price.model or "-"), _price(price.input), *optional,
                    for_terminal(price.as_of), for_terminal(price.source))  # fmt: skip
    return out


def _price(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def methods_table() -> Table:
    """Every method of `method=`: what it does, the texts it adds (prefill markers as the task's format writes them),
    what it needs, and the paper it comes from."""
    from effbench.grading.reasoning import THINK
    from effbench.tasks.methods import METHODS

    table = Table()
    for column in ("method", "what it does", "what it adds", "needs", "from"):
        table.add_column(column, overflow="fold")
    for method in METHODS.values():
        added = method.describe(THINK, None)
        texts = [f"{where}: {added[where]!r}" for where in ("system", "before_user", "after_user", "prefill") if where in added]
        table.add_row(
            method.name,
            method.what,
            for_terminal("\n".join(texts) or "force=true"),
            ", ".join(method.needs) or "-",
            for_terminal(f"{method.citation}; {method.source}"),
        )
    return table


def gate_table(checks: list[Any], baseline: str, candidate: str) -> Table:
    from effbench.analysis.gate import HEADER, rows

    table = Table(title=for_terminal(f"{candidate} against {baseline}"), title_justify="left")
    for column in HEADER:
        table.add_column(column, justify="left" if column in ("candidate", "task", "rule") else "right")
    for row in rows(checks):
        table.add_row(*map(for_terminal, row[:-1]), f"[green]{row[-1]}[/]" if row[-1] == "PASS" else f"[bold red]{row[-1]}[/]")
    return table
