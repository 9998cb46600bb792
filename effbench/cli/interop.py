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
    from effbench.imports.command import GenerationKeys
    from effbench.lmeval.importer import ImportKeys

    return [("Keys of import lm-eval", ImportKeys), ("Keys of import jsonl and the named formats", GenerationKeys)]


IMPORT_KINDS = ("lm-eval", "jsonl", "qwen-math", "lighteval", "evalscope", "openai-batch")


@cli.command("import", cls=KeysHelp, keys=import_sections)
@click.argument("kind")
@click.argument("path", type=click.Path(path_type=Path))
@click.argument("words", nargs=-1)
def import_command(kind: str, path: Path, words: tuple[str, ...]) -> None:
    """Make an effbench run from generations made elsewhere: effbench import KIND PATH [key=value ...]

    \b
    lm-eval PATH       the --output_path of `lm_eval ... --log_samples` (or its results_*.json)
    jsonl FILE         any JSON Lines, JSON array or Parquet file: question=FIELD completion=FIELD
                       [gold= id= task= tokens= score= finish= ...], dotted paths such as code.0
    qwen-math FILE     the Qwen2.5-Math evaluation's output .jsonl (SkyThought, simpleRL-reason)
    lighteval FILE     lighteval's details_*.parquet
    evalscope PATH     evalscope's reviews/<model>/ folder or one of its .jsonl files
    openai-batch FILE  an OpenAI (or vLLM run_batch) batch output file [requests=INPUT_FILE]

    Each record is matched onto an effbench sample (by its question, or by task and id) and graded by
    effbench against effbench's gold; records that match nothing, repeat a sample or cannot be read are
    listed with their line numbers, and golds and scores of the file that disagree are listed. Token
    counts come from the file, else from tokenizer=; with neither, the run has no token metrics.
    """
    from effbench.report.tables import results_table

    if kind not in IMPORT_KINDS:
        raise ConfigError(f"cannot import {kind!r}: effbench imports {', '.join(IMPORT_KINDS)} (effbench import KIND PATH)")
    if kind == "lm-eval":
        folder, results, problems, disagreements, mapping = _import_lmeval(path, words)
        for source, target in mapping.items():
            stdout.print(printable(f"lm-eval task {source} -> effbench task {target}"), markup=False)
    else:
        from effbench.imports.command import GenerationKeys, import_file

        outcome = import_file(kind, path, parse_keys(GenerationKeys, words, what="import"))
        folder, results, problems, disagreements = outcome.folder, outcome.results, outcome.problems, outcome.disagreements
        for note in outcome.notes:
            stdout.print(printable(f"note: {note}"), markup=False, soft_wrap=True)
        for task, accuracy in outcome.file_accuracy.items():
            ours = results.tasks[task].metrics.accuracy
            stdout.print(f"{task}: the file's own scores give {100 * accuracy:.1f}%, effbench's grading {100 * (ours or 0):.1f}%")
    for problem in problems:
        stderr.print(printable(f"not imported: {problem}"), markup=False, soft_wrap=True)
    for disagreement in disagreements:
        stderr.print(printable(f"disagrees: {disagreement}"), markup=False, soft_wrap=True)
    stdout.print(results_table(results, {}))
    what = "lines or tasks" if kind == "lm-eval" else "record" if len(problems) == 1 else "records"
    missed = f"; {len(problems)} {what} not imported (listed above)" if problems else ""
    stdout.print(f"run stored in {for_terminal(folder)}{missed}")


def _import_lmeval(path: Path, words: tuple[str, ...]):
    from effbench.lmeval.importer import ImportKeys, import_lmeval

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
    for task, scores in outcome.scores.items():
        said = ", ".join(f"{key} {100 * value:.1f}%" for key, value in scores.items()) or "no score"
        ours = outcome.results.tasks[outcome.mapping[task]].metrics.accuracy
        stdout.print(printable(f"{task}: lm-eval's own {said}; effbench's grading {100 * (ours or 0):.1f}%"), markup=False)
    return outcome.folder, outcome.results, outcome.problems, outcome.disagreements, outcome.mapping


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
    exported = export_lmeval(
        out,
        tasks=list(keys.tasks) if keys.tasks else None,
        prompt=keys.prompt,
        n=keys.n,
        max_tokens=keys.max_tokens,
        data_dir=keys.data_dir,
    )
    for path in exported.written:
        stdout.print(printable(f"wrote {path}"), markup=False)
    for task, reason in exported.skipped.items():
        stderr.print(printable(f"skipped {task}: {reason}"), markup=False, soft_wrap=True)
    if exported.described:
        stdout.print(printable(f"system messages as lm-eval's description: {', '.join(exported.described)}"), markup=False)
    names = ",".join(p.stem for p in exported.written)
    stdout.print(
        printable(f"run: lm_eval --include_path {out} --tasks {names} --model ... --log_samples --output_path OUT"), markup=False
    )
