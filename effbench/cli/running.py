"""Commands that generate or grade: eval, sweep, demo, rescore, grade, tasks."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from effbench.backends import BACKENDS, backend_module
from effbench.cli.app import KeysHelp, cli, stderr, stdout, write_output
from effbench.config import EvalConfig, build, parse_keys, parse_words
from effbench.run.configure import eval_config
from effbench.text import for_terminal, printable, without_surrogates


def eval_sections() -> list[tuple[str, Any]]:
    return [("Keys", EvalConfig), *((f"backend={name} keys", backend_module(name).Options) for name in BACKENDS)]


def with_progress(work: Any) -> Any:
    """Call `work(progress)` with a progress bar on stderr for each run (problems stored, tokens per second over all
    engines), where stderr is a terminal (a log gets the results table, not a bar drawn once at the end)."""
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    if not stderr.is_terminal:
        return work(None)

    with Progress(
        TextColumn("{task.description:<14}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[speed]}"),
        TimeElapsedColumn(),
        console=stderr,
        transient=False,
    ) as bars:
        ids: dict[str, Any] = {}
        began: dict[str, float] = {}

        def progress(run: str, stored: int, total: int, tokens: int) -> None:
            if run not in ids:
                ids[run], began[run] = bars.add_task(for_terminal(run), total=total, speed=""), time.monotonic()
            elapsed = time.monotonic() - began[run]
            speed = f"{tokens / elapsed:,.0f} tok/s" if tokens and elapsed > 0 else ""
            bars.update(ids[run], completed=stored, speed=speed)

        return work(progress)


def run_and_report(config: EvalConfig, options: Any) -> None:
    from effbench.report.tables import cost_lines, grading_lines, results_table, throughput_line
    from effbench.run.evaluate import evaluate

    outcome = with_progress(lambda progress: evaluate(config, options, progress=progress))
    stdout.print(results_table(outcome.results, outcome.timings))
    if outcome.generation and (line := throughput_line(outcome.generation)):
        stdout.print(line)
    for line in [*grading_lines(outcome.results), *cost_lines(outcome.results)]:
        stdout.print(line, markup=False)
    stdout.print(f"run stored in {for_terminal(outcome.folder)}")
    log_runs(config, [(config.step or 0, outcome.folder)], config.run_name)


def log_runs(config: EvalConfig, runs: list[tuple[int, Path]], series: str) -> None:
    """Each run at its step, to the trackers of `log_to=` (nothing where none is named)."""
    if not config.log_to:
        return
    from effbench.store.runs import open_run
    from effbench.trackers import log, logged

    baseline = open_run(config.log_baseline) if config.log_baseline else None
    for step, folder in runs:
        log(config.log_to, logged(open_run(folder), config.log_name or series, step, config.out, baseline))
    stdout.print(f"logged to {', '.join(config.log_to)} as {for_terminal(config.log_name or series)}")


@cli.command("eval", cls=KeysHelp, keys=eval_sections)
@click.argument("words", nargs=-1)
def eval_command(words: tuple[str, ...]) -> None:
    """Evaluate a model on tasks: effbench eval model=M tasks=gsm8k,math500 [key=value ...]

    Re-running the same command resumes: only samples not yet stored are generated.
    """
    run_and_report(*eval_config(parse_words(words)))


def sweep_sections() -> list[tuple[str, Any]]:
    from effbench.run.sweep import SweepKeys

    return [("Sweep keys", SweepKeys), *eval_sections()]


@cli.command("sweep", cls=KeysHelp, keys=sweep_sections)
@click.argument("words", nargs=-1)
def sweep_command(words: tuple[str, ...]) -> None:
    """Evaluate a model at several token budgets, or at several values of any key:
    effbench sweep model=M tasks=T budgets=256,512,1024 [mode=truncate|force] [derive=true] [key=value ...]
    effbench sweep model=M tasks=T over=reasoning_effort values=low,medium,high [key=value ...]

    One ordinary run per budget (or value), grouped in runs/<name>/ with a sweep.json, drawn on a leaderboard
    as one line. mode=truncate grades what was written within the budget; mode=force ends the thinking at the
    budget, appends force_cue and lets the model answer in force_tokens more. derive=true generates once, at the
    largest budget, and derives the others from the stored token ids (token for token under greedy decoding);
    derive=false generates each budget. over=KEY takes values= (comma-separated) or values_file= (a YAML list, or
    one a line: system prompts); where the key does not change how the engine starts, one engine serves every
    value. Every eval key applies, except those the sweep sets.
    """
    from effbench.run.sweep import SweepKeys

    values = parse_words(words)  # a config=FILE.yaml may hold the sweep's keys too
    keys = build(SweepKeys, {k: values.pop(k) for k in SweepKeys.model_fields if k in values}, what="sweep")
    if keys.over is not None:
        sweep_over_values(values, keys)
    else:
        sweep_budgets(values, keys)


def sweep_budgets(values: dict[str, Any], keys: Any) -> None:
    from effbench.report.tables import sweep_table
    from effbench.run.sweep import sweep
    from effbench.store.runs import Sweep, open_sweep

    config, options = eval_config(values)
    outcome = with_progress(
        lambda progress: sweep(config, options, keys.budgets, mode=keys.mode, derive=keys.derive, progress=progress)
    )
    tasks = list(next(iter(outcome.runs.values())).results.tasks)
    found = open_sweep(outcome.folder)
    assert isinstance(found, Sweep)
    stdout.print(sweep_table(found, tasks, config.model))
    stdout.print(f"sweep stored in {for_terminal(outcome.folder)}")
    log_runs(config, [(budget, run.folder) for budget, run in outcome.runs.items()], outcome.folder.name)


def sweep_over_values(values: dict[str, Any], keys: Any) -> None:
    from effbench.report.tables import key_sweep_table
    from effbench.run.sweep_over import sweep_over, sweep_values
    from effbench.store.runs import KeySweep, open_sweep

    settings = sweep_values(keys.values, keys.values_file)
    outcome = with_progress(lambda progress: sweep_over(values, keys.over, settings, progress=progress))
    tasks = list(next(iter(outcome.runs.values())).results.tasks)
    found = open_sweep(outcome.folder)
    assert isinstance(found, KeySweep)
    stdout.print(key_sweep_table(found, tasks, str(next(iter(outcome.runs.values())).results.model)))
    stdout.print(f"sweep stored in {for_terminal(outcome.folder)}")


@cli.command("demo", cls=KeysHelp, keys=eval_sections)
@click.argument("words", nargs=-1)
def demo_command(words: tuple[str, ...]) -> None:
    """Show what effbench measures, offline: effbench demo [key=value ...]

    effbench's tiny reasoning model, trained on the arith task (chains of one to four operations), answers
    its 400 problems in three chain styles selected by its system message: explicit (every operation a
    step), composed (two per step) and implicit (the answer only), through the real vLLM engine. The demo
    prints the shorter styles against the explicit one (accuracy with intervals, tokens, compression, AES)
    and accuracy by difficulty, and writes the report with its Pareto plot to reports/<name>/.
    """
    from effbench.demo import demo_defaults, run_demo
    from effbench.report.tables import level_table, styles_table

    config, options = eval_config({**demo_defaults(), **parse_words(words)})
    stderr.print("effbench demo: a tiny model trained here answers 400 arithmetic chains in three styles, "
                 "through the real vLLM engine.")  # fmt: skip
    outcome = with_progress(lambda progress: run_demo(config, options, progress))
    runs = {style: run.folder.name for style, run in outcome.runs.items() if style != "explicit"}
    stdout.print(styles_table(outcome.comparison, outcome.runs["explicit"].results, runs, "explicit"))
    stdout.print(level_table({style: run.results for style, run in outcome.runs.items()}))
    stdout.print("Shorter chains cost accuracy where problems are harder: the implicit style answers in a few tokens, and "
                 "loses most on four operations; ρ says whether a style spends more tokens on harder problems. "
                 "effbench measures a real model the same way.")  # fmt: skip
    stdout.print(f"runs stored in {for_terminal(outcome.runs['explicit'].folder.parent)}; report: {for_terminal(outcome.report)}")


def rescore_sections() -> list[tuple[str, Any]]:
    from effbench.run.rescore import RescoreOptions

    return [("Keys", RescoreOptions)]


@cli.command("rescore", cls=KeysHelp, keys=rescore_sections)
@click.argument("run", type=click.Path(path_type=Path))
@click.argument("words", nargs=-1)
def rescore_command(run: Path, words: tuple[str, ...]) -> None:
    """Grade a stored run again with the current grader, without the model: effbench rescore RUN [name=NEW]
    [workers=N] [grade_timeout=S] [reasoning=FORMAT] [judge_base_url=URL judge_model=M | judge=vllm:MODEL]

    Writes a new run (RUN-rescored beside it) and lists every completion whose verdict changed; an
    interrupted rescore resumes. With a judge, the completions the rules could not settle are put to it
    (verdicts the run holds already are reused) and the results give accuracy by rules and by rules + judge.
    """
    from effbench.report.tables import grading_lines
    from effbench.run.rescore import RescoreOptions, rescore

    outcome, changes, compared = rescore(run, parse_keys(RescoreOptions, words, what="rescore"))
    for c in changes:
        stdout.print(
            printable(
                f"{c.task} {c.sample_id} #{c.completion}: {c.old_verdict} -> {c.new_verdict} "
                f"(answer {c.old_answer!r} -> {c.new_answer!r})"
            ),
            markup=False,
            soft_wrap=True,
        )
    for line in grading_lines(outcome.results):
        stdout.print(line, markup=False)
    stdout.print(f"rescored {compared} completions into {for_terminal(outcome.folder)}: {len(changes)} verdicts changed")


def grade_sections() -> list[tuple[str, Any]]:
    from effbench.run.grade_file import GradeOptions

    return [("Keys", GradeOptions)]


@cli.command("grade", cls=KeysHelp, keys=grade_sections)
@click.argument("path", type=click.Path(path_type=Path))
@click.argument("words", nargs=-1)
def grade_command(path: Path, words: tuple[str, ...]) -> None:
    """Grade model outputs: effbench grade FILE.jsonl [task=NAME] [reasoning=FORMAT] [out=FILE] [workers=2] [timeout=10]

    Each line needs `gold` and `completion`, and may name its `task`, `reasoning` format and `question`; the
    gold may be the task's own answer field (GSM8K's worked solution ending in #### N). Each line comes back
    with `pred`, `correct`, `status` (graded, no_answer, unfinished, timeout, error) and `rule`. With a judge
    (judge_base_url= with judge_model=, or judge=vllm:MODEL), the lines the rules could not settle get `judge`
    and every line `correct_with_judge`; the verdicts are kept in OUT.judge.jsonl, so none is asked twice.
    """
    from effbench.run.grade_file import GradeOptions, grade_outputs, read_outputs, summary
    from effbench.run.judging import Judge

    options = parse_keys(GradeOptions, words, what="grade")
    kept = options.out or path  # the judge's verdicts are kept beside the output (or the input), so none is asked twice
    graded = list(
        grade_outputs(
            read_outputs(path),
            task=options.task,
            workers=options.workers,
            timeout=options.timeout,
            reasoning=options.reasoning,
            judge=Judge.of(options),
            judge_file=kept.parent / f"{kept.name}.judge.jsonl",
        )
    )
    lines = "".join(json.dumps(without_surrogates(row), ensure_ascii=False) + "\n" for row in graded)
    if options.out is not None:
        write_output(options.out, lines, what="out")
    else:
        sys.stdout.write(lines)
    stderr.print(summary(graded))


@cli.command("judge")
@click.option("--show-prompt", is_flag=True, help="print the judge's prompt template, its version and hash")
def judge_command(show_prompt: bool) -> None:
    """The judge cascade's prompt: effbench judge --show-prompt

    eval, rescore and grade ask a judge (judge_base_url= with judge_model=, or judge=vllm:MODEL) about the
    completions their rules could not settle; this is what it is asked. Each verdict is stored with the hash.
    """
    from effbench.grading.judge_prompt import JUDGE_PROMPT_VERSION, RESPONSE_CHARS, SYSTEM, TEMPLATE, prompt_hash

    if not show_prompt:
        raise click.UsageError("give --show-prompt")
    sys.stdout.write(f"# judge prompt version {JUDGE_PROMPT_VERSION}, hash {prompt_hash()}\n")
    sys.stdout.write(f"# the response is the end of the completion's answer part: its last {RESPONSE_CHARS} characters\n\n")
    sys.stdout.write(f"[system]\n{SYSTEM}\n\n[user]\n{TEMPLATE}\n")


@cli.command("prices")
@click.argument("name", required=False)
def prices_command(name: str | None) -> None:
    """List a price table's prices (USD per million tokens, with each row's source and date): effbench prices [NAME]

    NAME is a shipped table (default: matharena) or a YAML/JSON file; eval, compare, report and gate take it as prices=.
    """
    from effbench.analysis.cost import load_prices, shipped_tables
    from effbench.report.tables import prices_table

    table = load_prices(name or shipped_tables()[0])
    stdout.print(prices_table(table))
    stdout.print(f"shipped price tables: {', '.join(shipped_tables())}")


@cli.command("methods")
def methods_command() -> None:
    """List the inference-time methods (method=): what each does, the exact text it adds, and its source."""
    from effbench.report.tables import methods_table

    stdout.print(methods_table())


@cli.command("leaderboards")
def leaderboards_command() -> None:
    """List the shipped leaderboards: their paper, tasks and entries, and what is recomputed from their inputs."""
    from effbench.report.tables import leaderboards_table

    stdout.print(leaderboards_table())


@cli.command("tasks")
def tasks_command() -> None:
    """List the tasks, their size, and where their data comes from."""
    from effbench.report.tables import tasks_table

    stdout.print(tasks_table())
