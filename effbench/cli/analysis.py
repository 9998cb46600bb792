"""Commands that read stored runs: compare, gate, report."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import click

from effbench.cli.app import KeysHelp, cli, paths_and_values, stderr, stdout, write_output
from effbench.config import build, parse_keys, parse_words
from effbench.errors import ConfigError
from effbench.text import for_terminal, printable


def compare_sections() -> list[tuple[str, Any]]:
    from effbench.report.compare_output import CompareKeys

    return [("Keys", CompareKeys)]


@cli.command("compare", cls=KeysHelp, keys=compare_sections)
@click.argument("words", nargs=-1)
def compare_command(words: tuple[str, ...]) -> None:
    """Compare runs against a baseline: effbench compare BASELINE RUN [RUN ...] [format=table|json|csv]
    [alpha=1 beta=3 gamma=5]

    BASELINE and RUN are run folders (or their results.json). Per task: accuracy with its interval,
    mean tokens, compression, AES (the paper's formula, and the variant O1-Pruner's table used), the
    accuracy difference with its paired bootstrap interval and exact McNemar p-value, and the token
    ratio with its interval; then each run's thinking-efficiency figures. `effbench compare LEADERBOARD.yaml`
    recomputes a published table's derived numbers (AES, ACU, compression, its average column) from its own
    inputs and says which agree within their rounding; its CSV is those checks.
    """
    from effbench.analysis.leaderboard import is_board, load_leaderboard
    from effbench.report.compare_output import CompareKeys, as_csv, board_outputs, run_outputs
    from effbench.store.runs import open_run

    paths, words = paths_and_values(words)
    keys = parse_keys(CompareKeys, words, what="compare")
    if len(paths) == 1 and is_board(paths[0]):
        result, tables, csv_rows = board_outputs(load_leaderboard(paths[0]))
    else:
        if len(paths) < 2:
            raise ConfigError("compare needs a baseline run and at least one run: effbench compare BASELINE RUN [RUN ...]")
        result, tables, csv_rows = run_outputs([open_run(p) for p in paths], keys)
    if keys.format == "json":
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
    elif keys.format == "csv":
        sys.stdout.write(as_csv(csv_rows))
    else:
        for table in tables:
            stdout.print(table)


def gate_sections() -> list[tuple[str, Any]]:
    from effbench.analysis.gate import GateOutputs, GateSettings, Rules

    return [
        ("Rules (global, or per task: gsm8k.max_accuracy_drop=1)", Rules),
        ("Settings", GateSettings),
        ("Outputs", GateOutputs),
    ]


@cli.command("gate", cls=KeysHelp, keys=gate_sections)
@click.argument("words", nargs=-1)
def gate_command(words: tuple[str, ...]) -> None:
    """Pass or fail candidates against BASELINE: effbench gate BASELINE RUN [RUN ...] [rule=value ...]
    [rules=gate.yaml] [confidence=0.95] [strict=true] [junit=FILE] [markdown=FILE] [format=table|json]

    Every RUN is judged against BASELINE with the same rules, globally or per task
    (gsm8k.max_accuracy_drop=1): max_accuracy_drop (points), max_token_increase (0.1 = 10%),
    min_compression, min_aes, max_truncation_rate, min_accuracy (points). Without rules:
    max_accuracy_drop=0 max_token_increase=0, judged on paired intervals. Exit 0 when every rule
    holds for every run, 1 when one fails, 2 when the runs cannot be compared.
    """
    from effbench.analysis.gate import (
        GateOutputs,
        checks_json,
        failed_candidates,
        gate_spec,
        junit_xml,
        label,
        markdown,
        run_gate,
    )
    from effbench.report.tables import gate_table
    from effbench.store.runs import open_run

    paths, words = paths_and_values(words)
    values = parse_words(words)  # rule keys are checked by gate_spec
    outputs = build(GateOutputs, {k: values.pop(k) for k in GateOutputs.model_fields if k in values}, what="gate")
    if len(paths) < 2:
        raise ConfigError(
            "gate needs a baseline and at least one candidate run: effbench gate BASELINE RUN [RUN ...] [rule=value ...]"
        )
    spec = gate_spec(values)
    baseline, candidates = open_run(paths[0]), [open_run(p) for p in paths[1:]]
    checks = run_gate(baseline, candidates, spec)
    names = [c.name for c in candidates]
    summary_text = markdown(checks, baseline.name, names)
    if outputs.junit is not None:
        write_output(outputs.junit, junit_xml(checks, baseline.name, names), what="junit")
    if outputs.markdown is not None:
        write_output(outputs.markdown, summary_text, what="markdown")
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        _add_to_step_summary(Path(os.environ["GITHUB_STEP_SUMMARY"]), summary_text)
    if outputs.format == "json":
        sys.stdout.write(json.dumps(checks_json(checks, baseline.name, names), indent=2) + "\n")
    else:
        stdout.print(gate_table(checks, baseline.name, ", ".join(names)))
    failed = [c for c in checks if not c.passed]
    for check in failed:
        stderr.print(printable(f"FAIL {label(check, many=len(names) > 1)}: {check.why}"), markup=False, soft_wrap=True)
    losers = f"; failing: {', '.join(failed_candidates(checks))}" if failed and len(names) > 1 else ""
    verdict = f"gate: {'PASS' if not failed else 'FAIL'} ({len(checks) - len(failed)} of {len(checks)} checks hold{losers})"
    stderr.print(printable(verdict), markup=False, soft_wrap=True)
    sys.exit(1 if failed else 0)


def _add_to_step_summary(path: Path, text: str) -> None:
    """Append to the CI's job summary; one that cannot be written is a warning: the gate's verdict is its exit code."""
    try:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        line = f"effbench: warning: GITHUB_STEP_SUMMARY={path} cannot be written ({exc.strerror or type(exc).__name__}); "
        stderr.print(printable(line + "the summary is not added to the job's page"), markup=False, soft_wrap=True)


def report_sections() -> list[tuple[str, Any]]:
    from effbench.report.site import ReportKeys

    return [("Keys", ReportKeys)]


@cli.command("report", cls=KeysHelp, keys=report_sections)
@click.argument("leaderboard", type=click.Path(path_type=Path))
@click.argument("words", nargs=-1)
def report_command(leaderboard: Path, words: tuple[str, ...]) -> None:
    """Write a leaderboard's static site: effbench report LEADERBOARD.yaml|NAME [out=DIR] [samples_per_task=100]

    NAME is a shipped leaderboard (the literature's tables): c3ot, cot_valve, kimi_k15, lapo, matharena_aime25,
    o1_pruner, ockbench, s1.

    DIR (default reports/<leaderboard name>) gets index.html (a sortable table per task and overall,
    Pareto plots, frontier and reported entries marked), one page per run with a sample browser,
    and the plots as SVG and PNG. It works offline, from file://.
    """
    from effbench.analysis.cost import Pricing
    from effbench.analysis.leaderboard import load_leaderboard
    from effbench.report.gather import gather, repriced
    from effbench.report.site import ReportKeys, write_site

    keys = parse_keys(ReportKeys, words, what="report")
    started = time.perf_counter()
    out = keys.out or Path("reports") / Path(leaderboard).stem
    pricing = Pricing.of(keys.prices, keys.price_model, keys.gpu_hour_usd)
    data = gather(load_leaderboard(leaderboard))
    index = write_site(repriced(data, pricing) if pricing else data, out, samples_per_task=keys.samples_per_task)
    stdout.print(f"report written to {for_terminal(index)} in {time.perf_counter() - started:.1f} s")
