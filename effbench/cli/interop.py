"""Commands between effbench and other harnesses: import, export."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from effbench.cli.app import KeysHelp, cli, stderr, stdout
from effbench.config import parse_keys
from effbench.errors import ConfigError
from effbench.text import for_terminal, printable


def import_sections() -> list[tuple[str, Any]]:
    from effbench.lmeval.importer import ImportKeys

    return [("Keys", ImportKeys)]


@cli.command("import", cls=KeysHelp, keys=import_sections)
@click.argument("kind")
@click.argument("path", type=click.Path(path_type=Path))
@click.argument("words", nargs=-1)
def import_command(kind: str, path: Path, words: tuple[str, ...]) -> None:
    """Make an effbench run from another harness's logs: effbench import lm-eval PATH [tokenizer=NAME_OR_PATH]
    [name=RUN] [out=runs] [tasks=gsm8k,math500] [data_dir=DIR] [workers=2] [grade_timeout=10]

    PATH is the --output_path of `lm_eval ... --log_samples` (or its results_*.json). Each lm-eval task
    is mapped onto the effbench task whose questions it holds; the texts are graded by effbench and
    re-tokenized with the model's tokenizer (default: the model lm-eval ran). Documents that match
    nothing and malformed lines are listed with their line numbers. tasks= limits the effbench tasks
    searched (each is loaded, from the hub where EFFBENCH_DATA_DIR is not set).
    """
    from effbench.lmeval.importer import ImportKeys, import_lmeval
    from effbench.report.tables import results_table

    if kind != "lm-eval":
        raise ConfigError(f"cannot import {kind!r}: effbench imports lm-eval logs (effbench import lm-eval PATH)")
    keys = parse_keys(ImportKeys, words, what="import")
    outcome = import_lmeval(
        path,
        tokenizer=keys.tokenizer,
        name=keys.name,
        out=keys.out,
        tasks=list(keys.tasks) if keys.tasks else None,
        data_dir=keys.data_dir,
        workers=keys.workers,
        grade_timeout=keys.grade_timeout,
    )
    for problem in outcome.problems:
        stderr.print(printable(f"not imported: {problem}"), markup=False, soft_wrap=True)
    for source, target in outcome.mapping.items():
        stdout.print(printable(f"lm-eval task {source} -> effbench task {target}"), markup=False)
    stdout.print(results_table(outcome.results, {}))
    missed = f"; {len(outcome.problems)} lines or tasks not imported (listed above)" if outcome.problems else ""
    stdout.print(f"run stored in {for_terminal(outcome.folder)}{missed}")


def export_sections() -> list[tuple[str, Any]]:
    from effbench.lmeval.export import ExportKeys

    return [("Keys", ExportKeys)]


@cli.command("export", cls=KeysHelp, keys=export_sections)
@click.argument("kind")
@click.argument("out", type=click.Path(path_type=Path))
@click.argument("words", nargs=-1)
def export_command(kind: str, out: Path, words: tuple[str, ...]) -> None:
    """Write effbench's tasks for another harness: effbench export lm-eval OUTDIR [tasks=gsm8k,math500]
    [prompt=chat|plain] [n=1] [max_tokens=N] [data_dir=DIR]

    OUTDIR gets effbench_<task>.yaml and the task's samples per task, and effbench_lmeval.py, which
    grades with effbench. Run them with lm_eval --include_path OUTDIR --tasks effbench_gsm8k --log_samples
    (and --apply_chat_template for prompt=chat); effbench import lm-eval reads the logs back.
    """
    from effbench.lmeval.export import ExportKeys, export_lmeval

    if kind != "lm-eval":
        raise ConfigError(f"cannot export to {kind!r}: effbench exports lm-eval tasks (effbench export lm-eval OUTDIR)")
    keys = parse_keys(ExportKeys, words, what="export")
    written = export_lmeval(
        out,
        tasks=list(keys.tasks) if keys.tasks else None,
        prompt=keys.prompt,
        n=keys.n,
        max_tokens=keys.max_tokens,
        data_dir=keys.data_dir,
    )
    for path in written:
        stdout.print(printable(f"wrote {path}"), markup=False)
    names = ",".join(p.stem for p in written)
    stdout.print(
        printable(f"run: lm_eval --include_path {out} --tasks {names} --model ... --log_samples --output_path OUT"), markup=False
    )
