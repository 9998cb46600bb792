"""The `effbench` command: parse `key=value` words, call one function, print. Errors end as one line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from effbench import __version__
from effbench.backends import BACKENDS, backend_module
from effbench.config import EvalConfig, build, keys_help, parse_words, split_keys
from effbench.errors import ConfigError, EffbenchError
from effbench.report.tables import results_table, sweep_table

stdout = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
stderr = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 160)


def _eval_epilog() -> str:
    sections = ["\b\nKeys (key=value):\n" + keys_help(EvalConfig)]
    for name in BACKENDS:
        sections.append(f"\b\nbackend={name} keys:\n" + keys_help(backend_module(name).Options))
    return "\n\n".join(sections)


class KeysHelp(click.Command):
    """Lists every key with its default under --help, built only when asked (it imports every backend's options)."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self.epilog = _eval_epilog()
        super().format_epilog(ctx, formatter)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="effbench")
def cli() -> None:
    """effbench: accuracy and tokens spent by reasoning models, against a baseline."""


def load_eval_config(words: tuple[str, ...], **defaults: Any) -> tuple[EvalConfig, Any]:
    return eval_config({**defaults, **parse_words(words)})


def eval_config(values: dict[str, Any]) -> tuple[EvalConfig, Any]:
    """The common config and the backend's options from `key=value` values; a key in the wrong place is one error line."""
    name = values.get("backend", "vllm")
    module = backend_module(name)
    common, backend_values = split_keys(values, module.Options)
    for key in common:
        if key not in EvalConfig.model_fields:
            owner = next((b for b in BACKENDS if b != name and key in backend_module(b).Options.model_fields), None)
            if owner:
                raise ConfigError(f"key {key!r} belongs to backend={owner}, not backend={name}")
    config = build(EvalConfig, common, what="eval")
    options = build(module.Options, backend_values, what=f"backend={name}")
    return config, options


@cli.command("eval", cls=KeysHelp)
@click.argument("words", nargs=-1)
def eval_command(words: tuple[str, ...]) -> None:
    """Evaluate a model on tasks: effbench eval model=M tasks=gsm8k,math500 [key=value ...]

    Re-running the same command resumes: only samples not yet stored are generated.
    """
    config, options = load_eval_config(words)
    run_and_report(config, options)


def with_progress(work: Any) -> Any:
    """Call `work(progress)` with progress bars on stderr, one per task."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description:<14}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=stderr, transient=False) as bars:
        ids: dict[str, Any] = {}

        def progress(task: str, stored: int, total: int) -> None:
            if task not in ids:
                ids[task] = bars.add_task(task, total=total)
            bars.update(ids[task], completed=stored)

        return work(progress)


def run_and_report(config: EvalConfig, options: Any) -> None:
    from effbench.run.evaluate import evaluate

    outcome = with_progress(lambda progress: evaluate(config, options, progress=progress))
    stdout.print(results_table(outcome.results, outcome.timings))
    stdout.print(f"run stored in {outcome.folder}")


SWEEP_KEYS = ("budgets", "mode", "derive")


@cli.command("sweep", cls=KeysHelp)
@click.argument("words", nargs=-1)
def sweep_command(words: tuple[str, ...]) -> None:
    """Evaluate a model at several token budgets: effbench sweep model=M tasks=T budgets=256,512,1024
    [mode=truncate|force] [derive=true] [key=value ...]

    One ordinary run per budget, grouped in runs/<name>/ with a sweep.json. mode=truncate grades what
    was written within the budget; mode=force ends the thinking at the budget, appends force_cue and
    lets the model answer in force_tokens more. derive=true generates once, at the largest budget, and
    derives the others from the stored token ids (token for token under greedy decoding); derive=false
    generates each budget. Every eval key applies, except max_tokens and force, which the sweep sets.
    """
    from effbench.store.runs import open_sweep
    from effbench.run.sweep import parse_budgets, sweep

    values = parse_words(words)  # a config=FILE.yaml may hold the sweep's keys too
    sweep_values = {key: str(values.pop(key)) for key in SWEEP_KEYS if key in values}
    if "budgets" not in sweep_values:
        raise ConfigError("missing key budgets= for sweep, e.g. budgets=256,512,1024")
    derive = sweep_values.get("derive", "true").lower()
    if derive not in ("true", "false"):
        raise ConfigError(f"derive={derive} must be true or false")
    config, options = eval_config(values)
    outcome = with_progress(lambda progress: sweep(config, options, parse_budgets(sweep_values["budgets"]),
                                                   mode=sweep_values.get("mode", "truncate"), derive=derive == "true",
                                                   progress=progress))
    tasks = list(next(iter(outcome.runs.values())).results["tasks"])
    table = sweep_table(open_sweep(outcome.folder), tasks, config.model)
    stdout.print(table)
    stdout.print(f"sweep stored in {outcome.folder}")


def key_values(words: tuple[str, ...], command: str, keys: tuple[str, ...]) -> dict[str, str]:
    """A command's `key=value` words; a key it does not take is an error that lists those it does."""
    values = parse_words(words)
    unknown = set(values) - set(keys)
    if unknown:
        raise ConfigError(f"unknown key {sorted(unknown)[0]!r} for {command}; keys: {', '.join(keys)}")
    return values


def comma_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def paths_and_values(words: tuple[str, ...]) -> tuple[list[str], tuple[str, ...]]:
    """Split a command's words into paths and `key=value` words."""
    return [w for w in words if "=" not in w], tuple(w for w in words if "=" in w)


@cli.command("tasks")
def tasks_command() -> None:
    """List the tasks, their size, and where their data comes from."""
    from effbench.report.tables import tasks_table

    stdout.print(tasks_table())


@cli.command("grade")
@click.argument("path", type=click.Path(path_type=Path))
@click.argument("words", nargs=-1)
def grade_command(path, words: tuple[str, ...]) -> None:
    """Grade model outputs: effbench grade FILE.jsonl [task=NAME] [reasoning=FORMAT] [out=FILE] [workers=2] [timeout=10]

    Each line needs `gold` and `completion`, and may name its `task` and `reasoning` format; the gold may be
    the task's own answer field (GSM8K's worked solution ending in #### N). Each line comes back with
    `pred`, `correct` and `status` (graded, no_answer, unfinished, timeout, error).
    """
    import json

    from effbench.run.grade_file import GradeOptions, grade_outputs, read_outputs, summary

    options = build(GradeOptions, parse_words(words), what="grade")
    graded = list(grade_outputs(read_outputs(path), task=options.task, workers=options.workers, timeout=options.timeout,
                                reasoning=options.reasoning))
    lines = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in graded)
    if options.out is not None:
        options.out.write_text(lines, encoding="utf-8")
    else:
        sys.stdout.write(lines)
    stderr.print(summary(graded))


@cli.command("compare")
@click.argument("words", nargs=-1)
def compare_command(words: tuple[str, ...]) -> None:
    """Compare runs against a baseline: effbench compare BASELINE RUN [RUN ...] [format=table|json|csv]
    [alpha=1 beta=3 gamma=5]

    BASELINE and RUN are run folders (or their results.json). Per task: accuracy with its interval,
    mean tokens, compression, AES (the paper's formula, and the variant O1-Pruner's table used), the
    accuracy difference with its paired bootstrap interval and exact McNemar p-value, and the token
    ratio with its interval. `effbench compare LEADERBOARD.yaml` recomputes a published table's AES.
    """
    import json

    from effbench.analysis.compare import AESWeights, compare_runs
    from effbench.report.compare_output import as_csv, comparison_rows, comparison_table, published_table
    from effbench.analysis.leaderboard import load_leaderboard, published_efficiency
    from effbench.store.runs import open_run

    paths, keys = paths_and_values(words)
    values = key_values(keys, "compare", ("format", "alpha", "beta", "gamma"))
    form = values.get("format", "table")
    if form not in ("table", "json", "csv"):
        raise ConfigError(f"format={form} is not one of table, json, csv")
    if len(paths) == 1 and paths[0].endswith((".yaml", ".yml")):
        board = load_leaderboard(paths[0])
        rows = published_efficiency(board)
        result: Any = {"leaderboard": board.title, "rows": rows}
        table = published_table(rows, board.title)
    else:
        if len(paths) < 2:
            raise ConfigError("compare needs a baseline run and at least one run: effbench compare BASELINE RUN [RUN ...]")
        try:
            weights = AESWeights(**{k: float(values[k]) for k in ("alpha", "beta", "gamma") if k in values})
        except ValueError:
            raise ConfigError("alpha, beta and gamma must be numbers") from None
        result = compare_runs(open_run(paths[0]), [open_run(p) for p in paths[1:]], weights)
        rows = comparison_rows(result)
        table = comparison_table(rows, result["baseline"])
    if form == "json":
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
    elif form == "csv":
        sys.stdout.write(as_csv(rows))
    else:
        stdout.print(table)


@cli.command("gate")
@click.argument("words", nargs=-1)
def gate_command(words: tuple[str, ...]) -> None:
    """Pass or fail CANDIDATE against BASELINE: effbench gate BASELINE CANDIDATE [rule=value ...]
    [rules=gate.yaml] [confidence=0.95] [strict=true] [junit=FILE] [markdown=FILE] [format=table|json]

    Rules, globally or per task (gsm8k.max_accuracy_drop=1): max_accuracy_drop (points),
    max_token_increase (0.1 = 10%), min_compression, min_aes, max_truncation_rate, min_accuracy
    (points). Without rules: max_accuracy_drop=0 max_token_increase=0, judged on paired intervals.
    Exit 0 when every rule holds, 1 when one fails, 2 when the runs cannot be compared.
    """
    import json
    import os

    from effbench.analysis.gate import checks_json, gate_spec, junit_xml, markdown, run_gate
    from effbench.report.tables import gate_table
    from effbench.store.runs import open_run

    paths, keys = paths_and_values(words)
    values = parse_words(keys)  # rule keys are checked by gate_spec
    outputs = {key: values.pop(key) for key in ("junit", "markdown", "format") if key in values}
    form = outputs.get("format", "table")
    if form not in ("table", "json"):
        raise ConfigError(f"format={form} is not one of table, json")
    if len(paths) != 2:
        raise ConfigError("gate needs two runs: effbench gate BASELINE CANDIDATE [rule=value ...]")
    spec = gate_spec(values)
    baseline, candidate = open_run(paths[0]), open_run(paths[1])
    checks = run_gate(baseline, candidate, spec)
    summary_text = markdown(checks, baseline.name, candidate.name)
    if "junit" in outputs:
        Path(outputs["junit"]).write_text(junit_xml(checks, baseline.name, candidate.name), encoding="utf-8")
    if "markdown" in outputs:
        Path(outputs["markdown"]).write_text(summary_text, encoding="utf-8")
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        with open(os.environ["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as handle:
            handle.write(summary_text)
    if form == "json":
        sys.stdout.write(json.dumps(checks_json(checks, baseline.name, candidate.name), indent=2) + "\n")
    else:
        stdout.print(gate_table(checks, baseline.name, candidate.name))
    failed = [c for c in checks if not c.passed]
    for check in failed:
        stderr.print(f"FAIL {check.task} {check.rule}: {check.why}", markup=False, soft_wrap=True)
    stderr.print(f"gate: {'PASS' if not failed else 'FAIL'} ({len(checks) - len(failed)} of {len(checks)} checks hold)")
    sys.exit(1 if failed else 0)


@cli.command("rescore")
@click.argument("run", type=click.Path(path_type=Path))
@click.argument("words", nargs=-1)
def rescore_command(run: Path, words: tuple[str, ...]) -> None:
    """Grade a stored run again with the current grader, without the model: effbench rescore RUN [name=NEW]
    [workers=N] [grade_timeout=S] [reasoning=FORMAT]

    Writes a new run (RUN-rescored beside it) and lists every completion whose verdict changed.
    """
    from effbench.run.rescore import RescoreOptions, rescore

    options = build(RescoreOptions, parse_words(words), what="rescore")
    outcome, changes, compared = rescore(run, options)
    for c in changes:
        stdout.print(f"{c.task} {c.sample_id} #{c.completion}: {c.old_verdict} -> {c.new_verdict} "
                     f"(answer {c.old_answer!r} -> {c.new_answer!r})", markup=False, soft_wrap=True)
    stdout.print(f"rescored {compared} completions into {outcome.folder}: {len(changes)} verdicts changed")


@cli.command("report")
@click.argument("leaderboard", type=click.Path(path_type=Path))
@click.argument("words", nargs=-1)
def report_command(leaderboard: Path, words: tuple[str, ...]) -> None:
    """Write a leaderboard's static site: effbench report LEADERBOARD.yaml [out=DIR] [samples_per_task=100]

    DIR (default reports/<leaderboard name>) gets index.html (a sortable table per task and overall,
    Pareto plots, frontier and reported entries marked), one page per run with a sample browser,
    and the plots as SVG and PNG. It works offline, from file://.
    """
    import time

    from effbench.analysis.leaderboard import load_leaderboard
    from effbench.report.gather import gather
    from effbench.report.site import SAMPLES_PER_TASK, write_site

    values = key_values(words, "report", ("out", "samples_per_task"))
    try:
        per_task = int(values.get("samples_per_task", SAMPLES_PER_TASK))
    except ValueError:
        raise ConfigError("samples_per_task must be an integer") from None
    started = time.perf_counter()
    out = Path(values.get("out") or Path("reports") / leaderboard.stem)
    index = write_site(gather(load_leaderboard(leaderboard)), out, samples_per_task=per_task)
    stdout.print(f"report written to {index} in {time.perf_counter() - started:.1f} s")


@cli.command("import")
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
    from effbench.lmeval.importer import import_lmeval

    if kind != "lm-eval":
        raise ConfigError(f"cannot import {kind!r}: effbench imports lm-eval logs (effbench import lm-eval PATH)")
    values = key_values(words, "import", ("tokenizer", "name", "out", "tasks", "data_dir", "workers", "grade_timeout"))
    try:
        workers, timeout = int(values.get("workers", 2)), float(values.get("grade_timeout", 10))
    except ValueError:
        raise ConfigError("workers must be an integer and grade_timeout a number of seconds") from None
    data = values.get("data_dir")
    tasks = comma_list(values["tasks"]) if "tasks" in values else None
    outcome = import_lmeval(path, tokenizer=values.get("tokenizer"), name=values.get("name"), out=Path(values.get("out", "runs")),
                            tasks=tasks, data_dir=Path(data) if data else None, workers=workers, grade_timeout=timeout)
    for problem in outcome.problems:
        stderr.print(f"not imported: {problem}", markup=False, soft_wrap=True)
    for source, target in outcome.mapping.items():
        stdout.print(f"lm-eval task {source} -> effbench task {target}", markup=False)
    stdout.print(results_table(outcome.results, {}))
    stdout.print(f"run stored in {outcome.folder}" + (f"; {len(outcome.problems)} lines or tasks not imported (listed above)"
                                                      if outcome.problems else ""))


@cli.command("export")
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
    from effbench.lmeval.export import export_lmeval

    if kind != "lm-eval":
        raise ConfigError(f"cannot export to {kind!r}: effbench exports lm-eval tasks (effbench export lm-eval OUTDIR)")
    values = key_values(words, "export", ("tasks", "prompt", "n", "max_tokens", "data_dir"))
    try:
        n = int(values.get("n", 1))
        max_tokens = int(values["max_tokens"]) if "max_tokens" in values else None
    except ValueError:
        raise ConfigError("n and max_tokens must be integers") from None
    if n < 1 or (max_tokens is not None and max_tokens < 1):
        raise ConfigError("n and max_tokens must be at least 1")
    tasks = comma_list(values["tasks"]) if "tasks" in values else None
    data = values.get("data_dir")
    written = export_lmeval(out, tasks=tasks, prompt=values.get("prompt", "chat"), n=n, max_tokens=max_tokens,
                            data_dir=Path(data) if data else None)
    for path in written:
        stdout.print(f"wrote {path}", markup=False)
    names = ",".join(p.stem for p in written)
    stdout.print(f"run: lm_eval --include_path {out} --tasks {names} --model ... --log_samples --output_path OUT", markup=False)


@cli.command("demo", cls=KeysHelp)
@click.argument("words", nargs=-1)
def demo_command(words: tuple[str, ...]) -> None:
    """Run the whole pipeline offline on a tiny random-weight model built on the spot."""
    from effbench.demo import demo_defaults

    config, options = load_eval_config(words, **demo_defaults())
    stderr.print("effbench demo: a tiny random-weight model, built here, answers 20 arithmetic problems "
                 "through the real vLLM engine.")
    run_and_report(config, options)
    stdout.print("The demo model has random weights, so accuracy near 0 is expected: the point is that "
                 "generation, storage, grading and metrics all ran.")


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except EffbenchError as exc:
        stderr.print(f"effbench: error: {exc}", markup=False, soft_wrap=True)
        sys.exit(2)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        sys.exit(130)
    except KeyboardInterrupt:
        stderr.print("effbench: interrupted; the samples finished so far are stored: run the same command to resume")
        sys.exit(130)
