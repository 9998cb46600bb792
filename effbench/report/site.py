"""Write a leaderboard's static site: index.html, one page per run, the plots, and local CSS and JS.

Everything that comes from a model or a dataset goes through jinja2's autoescaping, so a
completion holding `<script>` shows as text. The site works from `file://`, offline.
"""

from __future__ import annotations

import json
import logging
import multiprocessing as mp
import os
import re
import shutil
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from pydantic import Field

from effbench.analysis.compare import AESWeights
from effbench.report.gather import Pair, ReportData, cost_points, plotted
from effbench.report.pages import render
from effbench.report.paired import write_pair_page
from effbench.report.place import built_in_place
from effbench.report.svg import histogram, level_bars
from effbench.schema import Strict
from effbench.store.runs import Run, TaskSamples

log = logging.getLogger(__name__)
SAMPLES_PER_TASK = 15
REASONING_SHOWN = 1600  # characters of a long reasoning shown on a run page: its first and its last 800


class ReportKeys(Strict):
    """`effbench report`'s keys."""

    out: Path | None = Field(None, description="the site's folder (default: reports/<leaderboard file name>)")
    samples_per_task: int = Field(SAMPLES_PER_TASK, ge=0, description="samples per task in each run page's browser")
    prices: str | None = Field(None, description="price the measured entries: a price table's name (effbench prices) or file")
    price_model: str | None = Field(None, description="the price table's entry to price by (default: each run's model)")
    gpu_hour_usd: float | None = Field(None, gt=0, description="price self-hosted runs by their generation time instead")


PARALLEL_FROM = 6  # runs; fewer are not worth starting worker processes


def write_site(data: ReportData, out: Path, *, samples_per_task: int = SAMPLES_PER_TASK) -> Path:
    """The site, built in a temporary folder beside `out` and renamed into place when whole: a report killed halfway
    leaves `out` as it was."""
    with built_in_place(out, ours=is_report_file) as building:
        _write_site(data, building, samples_per_task)
    return out.resolve() / "index.html"


def is_report_file(name: str) -> bool:
    """The names a report writes into its folder."""
    return name.endswith(".html") or name in ("style.css", "site.js", "plots")


def _write_site(data: ReportData, out: Path, samples_per_task: int) -> None:
    """The index first, then every figure and page, spread over the cores where there are many."""
    from effbench.report.plots import budget_plot, level_plot, pareto_plot, series_plot, token_plot

    (out / "plots").mkdir()
    _say_left_out(data)
    for asset in ("style.css", "site.js"):
        shutil.copyfile(Path(__file__).parent / "templates" / asset, out / asset)
    jobs: list[tuple[Any, ...]] = []
    by_level: list[str] = []
    overlaid: list[str] = []
    budgeted: list[str] = []
    placed: list[str] = []
    costed: list[str] = []
    for task, points in ((t, p) for t, p in data.tasks.items() if p):  # a task of checkpoint series alone: no plot
        if plotted(points):  # a paper's table without token counts places nothing
            jobs.append((pareto_plot, task, [p for p in points if p.mean_tokens is not None], out / "plots" / f"pareto-{task}"))
            placed.append(task)
        if len(priced := cost_points(points)) > 1:
            jobs.append((pareto_plot, task, priced, out / "plots" / f"cost-{task}", "cost per problem (USD)"))
            costed.append(task)
        if any(p.levels and not p.curve for p in points):
            jobs.append((level_plot, task, points, out / "plots" / f"levels-{task}"))
            by_level.append(task)
        measured = [(p.entry, p.folder) for p in points if p.folder is not None and not p.curve]
        if len(measured) > 1:
            jobs.append((token_plot, task, measured, out / "plots" / f"tokens-{task}"))
            overlaid.append(task)
        if any(p.curve and p.over is None for p in points):
            jobs.append((budget_plot, task, points, out / "plots" / f"budgets-{task}"))
            budgeted.append(task)
    for entry, by_task in data.series.items():
        for task, checkpoints in by_task.items():
            jobs.append((series_plot, entry, task, checkpoints, out / "plots" / f"series-{_file_part(entry)}-{task}"))
    _write_index(data, out, {"pareto": placed, "cost": costed, "levels": by_level, "tokens": overlaid, "budgets": budgeted})
    page_of = {run.folder: page for page, run in data.runs.items()}
    pair_of = {pair.run.folder: pair for pair in data.pairs}
    for page, run in data.runs.items():
        pair = pair_of.get(run.folder)
        pages = {"run": page, "baseline": page_of[pair.baseline_run.folder]} if pair else {}
        jobs.append((write_run_pages, run, page, out, data.board.title, samples_per_task, pair, data.board.aes_weights, pages))
    if len(data.runs) < PARALLEL_FROM:
        for job in jobs:
            _run(job)
    else:  # figures and pages: spread over the cores
        with ProcessPoolExecutor(os.cpu_count(), mp_context=_context()) as pool:
            list(pool.map(_run, jobs, chunksize=1))


def _say_left_out(data: ReportData) -> None:
    """One line for the characters of the plotted names that no installed font draws (they are left out)."""
    from effbench.report.glyphs import left_out

    names = [*data.tasks, *data.series] + [n for ps in data.tasks.values() for p in ps for n in (p.entry, p.model, p.method)]
    if missing := left_out(names):
        shown = " ".join(missing[:20]) + (f" and {len(missing) - 20} more" if len(missing) > 20 else "")
        log.warning(f"the plots leave out {shown}: no installed font has them (a CJK font: apt-get install fonts-noto-cjk)")


def _context() -> Any:
    """Forked workers where the platform forks safely (Linux): they start with matplotlib and the templates loaded,
    where spawned ones would import them again; spawned elsewhere."""
    return mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")


def _run(job: tuple[Any, ...]) -> None:
    function, *arguments = job
    function(*arguments)


def _write_index(data: ReportData, out: Path, figures: dict[str, list[str]]) -> None:
    weights = data.board.aes_weights
    page = render(
        "index.html.j2",
        board=data.board,
        tasks=data.tasks,
        overall=data.overall if len(data.tasks) > 1 else [],
        show_published=any(p.aes_published is not None for points in data.tasks.values() for p in points),
        show_auc=any(p.curve and p.over is None for points in data.tasks.values() for p in points),
        show_acu=any(p.acu is not None or p.acu_published is not None for points in data.tasks.values() for p in points),
        show_cost=any(p.cost_per_problem is not None for points in data.tasks.values() for p in points),
        show_finished=any(p.accuracy_finished is not None for points in data.tasks.values() for p in points),
        figures=figures,
        series=data.series,
        series_file={entry: _file_part(entry) for entry in data.series},
        page_of_run={run.name: page for page, run in data.runs.items()},
        weights=f"α={weights.alpha:g}, β={weights.beta:g}, γ={weights.gamma:g}",
    )
    (out / "index.html").write_text(page, encoding="utf-8")


def shown(reasoning: str | None) -> str | None:
    """A reasoning as a run page shows it: whole up to REASONING_SHOWN characters, else its beginning and its end."""
    if reasoning is None or len(reasoning) <= REASONING_SHOWN:
        return reasoning
    half = REASONING_SHOWN // 2
    left_out = len(reasoning) - REASONING_SHOWN
    gap = f"[… {left_out:,} characters not shown here: the whole text is in the run's samples file …]"
    return f"{reasoning[:half]}\n\n{gap}\n\n{reasoning[-half:]}"


def _where(tokens: int | None, characters: int | None) -> str | None:
    """A position in a completion as a run page says it (where it first stated the correct answer, where its answer
    settled): in tokens where it was located in tokens; None where it was not located."""
    if tokens is not None:
        return f"{tokens:,} tokens"
    if characters is not None:
        return f"{characters:,} characters"
    return None


def _file_part(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name)


def write_run_pages(
    run: Run, page: str, out: Path, title: str, samples_per_task: int, pair: Pair | None, weights: AESWeights,
    pages: dict[str, str],
) -> None:  # fmt: skip
    """A run's page, and the page of its entry against its baseline where it has one: its samples read once for both."""
    outcomes = write_run_page(run, page, out, title, samples_per_task)
    if pair is not None:
        write_pair_page(pair, weights, out, title, pages, outcomes)


def write_run_page(run: Run, page: str, out: Path, title: str, samples_per_task: int) -> dict[str, TaskSamples]:
    """The run's page; returns its samples' outcomes, by task."""
    sample_lists, tokens, levels, outcomes = _samples(run, samples_per_task)
    charts = {
        task: [histogram(tokens[task], f"{task}: completion tokens")]
        + ([level_bars([(n, g.accuracy, g.mean_tokens) for n, g in levels[task].items()], f"{task}: by level")]
           if levels[task] else [])
        for task in tokens
    }  # fmt: skip
    (out / f"run-{page}.html").write_text(
        render(
            "run.html.j2",
            run=run,
            page=page,
            title=title,
            sample_lists=sample_lists,
            charts=charts,
            config=json.dumps(run.info.config, indent=2, ensure_ascii=False),
            environment=json.dumps(run.info.environment, indent=2, ensure_ascii=False),
        ),
        encoding="utf-8",
    )
    return outcomes


def _samples(run: Run, limit: int) -> tuple[dict[str, Any], dict[str, list[int]], dict[str, Any], dict[str, TaskSamples]]:
    """Per task: the first `limit` samples for the browser; every completion's tokens; the per-level table; the
    samples' outcomes."""
    lists, tokens, levels, outcomes = {}, {}, {}, {}
    for task, entry in run.tasks.items():
        items, total, reasoning = [], 0, run.reasoning(task)
        task_tokens: list[int] = []
        rows = []
        for scored in run.scored(task):
            total += 1
            task_tokens.extend(c.tokens for c in scored.completions if c.tokens is not None)
            rows.append((scored.sample.id, [g.correct for g in scored.grades], [c.tokens for c in scored.completions]))
            if total > limit:
                continue
            for index, (completion, grade) in enumerate(zip(scored.completions, scored.grades, strict=True)):
                split = reasoning.split(completion.text, completion.reasoning)
                status = (
                    [grade.verdict]
                    + (["truncated"] if completion.finish_reason == "length" else [])
                    + (["forced"] if completion.forced else [])
                )
                items.append(
                    {
                        "id": scored.sample.id,
                        "index": index,
                        "question": scored.sample.question,
                        "gold": scored.sample.gold,
                        "answer": grade.answer,
                        "verdict": grade.verdict,
                        "rule": grade.rule,
                        "tokens": completion.tokens,
                        "first_correct": _where(grade.first_correct_tokens, grade.first_correct_at),
                        "settled": _where(grade.answer_settled_tokens, grade.answer_settled_at),
                        "truncated": completion.finish_reason == "length",
                        "forced": completion.forced,
                        "status": " ".join(status),
                        "reasoning": shown(split.reasoning),
                        "reasoning_chars": len(split.reasoning or ""),
                        "answer_text": split.answer if split.answer is not None else "(the reasoning never ended)",
                    }
                )
        lists[task] = {"rows": items, "shown": min(total, limit), "total": total, "forced": any(i["forced"] for i in items)}
        tokens[task] = task_tokens
        levels[task] = entry.metrics.breakdown.get("level", {})
        outcomes[task] = TaskSamples.from_rows(rows)
    return lists, tokens, levels, outcomes
