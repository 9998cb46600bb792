"""`effbench export lm-eval OUTDIR`: effbench's tasks as lm-evaluation-harness tasks.

Per task, OUTDIR gets effbench_<task>.yaml and effbench_<task>.jsonl, the samples effbench evaluates
(id, question, gold and the breakdown fields, after its field mapping and exclusions), so lm-eval
reads the same problems without a network. The prompt is effbench's template (`prompt=chat`: the
user message, for `lm_eval --apply_chat_template`, with a system message as the task's
`description`, which lm-eval makes the system turn under a chat template; `prompt=plain`: the
plain-text prompt), the generation parameters are the task's, and OUTDIR/effbench_lmeval.py grades
each completion with effbench's extractor, grader and the task's gold conventions (so effbench must
be installed where lm_eval runs). The YAML's metadata names the effbench task, prompt and template
hash, so that `effbench import lm-eval` maps the logs back onto the task and compares them with
effbench's own runs. A task that cannot be exported is skipped, with its reason; the rest are written,
and OUTDIR/README.md says what was written, how, and what was skipped.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, field_validator

from effbench.config import comma_separated
from effbench.errors import ConfigError, EffbenchError
from effbench.grading.equivalence import GRADERS
from effbench.grading.gold import grade_by
from effbench.grading.scoring import answer_of
from effbench.schema import Strict
from effbench.tasks.data import load_dataset
from effbench.tasks.spec import TaskSpec, load_task, task_names
from effbench.types import Completion, Grade

HOOKS = "effbench_lmeval"
METRIC = "effbench_accuracy"


class ExportKeys(Strict):
    """`effbench export lm-eval`'s keys."""

    tasks: tuple[str, ...] | None = Field(None, description="effbench tasks to export (default: all)")
    prompt: Literal["chat", "plain"] = Field("chat", description="the chat template's user message, or the plain prompt")
    n: int = Field(1, ge=1, description="completions per problem (lm-eval's repeats)")
    max_tokens: int | None = Field(None, ge=1, description="completion token limit (default: the task's)")
    data_dir: Path | None = Field(None, description="folder of local test sets (default: $EFFBENCH_DATA_DIR, else the hub)")

    _tasks = field_validator("tasks", mode="before")(comma_separated)


def _identifier(task: str) -> str:
    return task.replace("-", "_")


def lmeval_task_name(task: str) -> str:
    return "effbench_" + _identifier(task)


@dataclass
class Exported:
    """What `export_lmeval` wrote: the task YAMLs, the tasks whose system message became lm-eval's `description`,
    and the tasks skipped with the reason."""

    written: list[Path] = field(default_factory=list)
    described: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def export_lmeval(
    out: Path,
    *,
    tasks: list[str] | None = None,
    prompt: str = "chat",
    n: int = 1,
    max_tokens: int | None = None,
    data_dir: Path | None = None,
) -> Exported:
    """Write the tasks' YAMLs, their samples and the grading hooks into `out`; a task that cannot be exported (its
    data not at hand, a chat prompt lm-eval cannot carry) is skipped with its reason."""
    if prompt not in ("chat", "plain"):
        raise ConfigError(f"prompt={prompt} is not one of chat, plain")
    specs = [load_task(name) for name in (tasks or task_names())]
    out.mkdir(parents=True, exist_ok=True)
    exported = Exported()
    for spec in specs:
        try:
            text, description = _prompt_template(spec, prompt)
            dataset = load_dataset(spec, root=data_dir)
        except EffbenchError as exc:
            exported.skipped[spec.name] = str(exc)
            continue
        samples_file = out / f"{lmeval_task_name(spec.name)}.jsonl"
        samples_file.write_text("".join(_document(s) + "\n" for s in dataset.samples), encoding="utf-8")
        task_file = out / f"{lmeval_task_name(spec.name)}.yaml"
        config = _task_config(spec, samples_file, (text, description), prompt, n, max_tokens)
        task_file.write_text(_header(spec, dataset.fingerprint) + _yaml(config), encoding="utf-8")
        exported.written.append(task_file)
        if description is not None:
            exported.described.append(spec.name)
    if not exported.written:
        raise ConfigError(f"nothing exported: {'; '.join(exported.skipped.values())}")
    (out / f"{HOOKS}.py").write_text(_hooks([s for s in specs if s.name not in exported.skipped]), encoding="utf-8")
    (out / "README.md").write_text(_readme(exported, prompt), encoding="utf-8")
    return exported


def _document(sample) -> str:
    """One sample as lm-eval reads it: its metadata fields (the breakdown, the gold's conventions) beside id, question
    and gold."""
    return json.dumps({**sample.metadata, "id": sample.id, "question": sample.question, "gold": sample.gold}, ensure_ascii=False)


def _task_config(
    spec: TaskSpec, samples_file: Path, template: tuple[str, str | None], prompt: str, n: int, max_tokens: int | None
) -> dict[str, Any]:
    g = spec.generation
    text, description = template
    return {
        "task": lmeval_task_name(spec.name),
        "dataset_path": "json",
        "dataset_kwargs": {"data_files": {"test": str(samples_file.resolve())}},
        "test_split": "test",
        "output_type": "generate_until",
        **({"description": description} if description is not None else {}),
        "doc_to_text": text,
        "doc_to_target": "{{gold}}",
        "num_fewshot": 0,
        "repeats": n,
        "generation_kwargs": {
            "until": [],
            "do_sample": g.temperature > 0,
            "temperature": g.temperature,
            **({"top_p": g.top_p} if g.top_p < 1 else {}),
            "max_gen_toks": max_tokens or g.max_tokens,
        },
        "process_results": Function(f"{HOOKS}.{_identifier(spec.name)}"),
        "metric_list": [{"metric": METRIC, "aggregation": "mean", "higher_is_better": True}],
        "metadata": {
            "version": spec.version,
            "effbench_task": spec.name,
            "effbench_prompt": prompt,
            "effbench_template_sha256": spec.template_hash(),
        },
    }


def _prompt_template(spec: TaskSpec, prompt: str) -> tuple[str, str | None]:
    """(doc_to_text, description): the user message, and the system message where there is one (lm-eval makes its
    `description` the system turn under a chat template); or the plain prompt."""
    if prompt == "plain":
        return spec.prompt.plain, None
    roles = [m["role"] for m in spec.prompt.chat]
    if roles == ["user"]:
        return spec.prompt.chat[0]["content"], None
    if roles == ["system", "user"]:
        return spec.prompt.chat[1]["content"], spec.prompt.chat[0]["content"]
    raise ConfigError(
        f"{spec.name}: its chat prompt is {' + '.join(roles)} messages, which lm-eval carries only as one user message "
        "after an optional system one; export it with prompt=plain"
    )


def _readme(exported: Exported, prompt: str) -> str:
    lines = [
        "# effbench tasks for lm-evaluation-harness",
        "",
        "Written by `effbench export lm-eval`. Run: `lm_eval --include_path THIS_FOLDER --tasks "
        + ",".join(p.stem for p in exported.written)
        + " --model ... --log_samples --output_path OUT`"
        + (" `--apply_chat_template`" if prompt == "chat" else "")
        + "; read back with `effbench import lm-eval OUT`. `effbench_lmeval.py` grades with effbench (install it).",
        "",
        f"Prompt: {prompt}. " + ("Tasks: " + ", ".join(p.stem.removeprefix("effbench_") for p in exported.written) + "."),
    ]
    if exported.described:
        lines += [
            "",
            f"The system message of {', '.join(exported.described)} is the task's `description`: lm-eval makes it the system "
            "turn under `--apply_chat_template` (without a chat template it is written before the question).",
        ]
    if exported.skipped:
        lines += ["", "Skipped:", *(f"- {task}: {reason}" for task, reason in exported.skipped.items())]
    return "\n".join(lines) + "\n"


def _header(spec: TaskSpec, fingerprint: dict[str, Any]) -> str:
    return (
        f"# effbench task {spec.name} v{spec.version}, written by `effbench export lm-eval`.\n"
        f"# Samples: {fingerprint.get('source')} (sha256 {fingerprint.get('sha256')}), as effbench maps them.\n"
        "# Run: lm_eval --include_path THIS_FOLDER --tasks " + lmeval_task_name(spec.name) + " --log_samples ...\n"
        "# (add --apply_chat_template when exported with prompt=chat); import: effbench import lm-eval OUTPUT_PATH\n"
    )


class Function(str):
    """A value lm-eval reads as `!function module.name`."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(Function, lambda dumper, value: dumper.represent_scalar("!function", str(value)))
_Dumper.add_representer(
    str,
    lambda dumper, value: dumper.represent_scalar(  # prompts read as written: a literal block
        "tag:yaml.org,2002:str", value, style="|" if "\n" in value else None
    ),
)


def _yaml(config: dict[str, Any]) -> str:
    return yaml.dump(config, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1000)


def _hooks(specs: list[TaskSpec]) -> str:
    lines = [
        '"""Written by `effbench export lm-eval`: lm-eval calls these; effbench grades."""',
        "",
        "from effbench.lmeval.export import grader_for",
        "",
    ]
    lines += [f"{_identifier(spec.name)} = grader_for({spec.name!r})" for spec in specs]
    return "\n".join(lines) + "\n"


def grader_for(task: str) -> Callable[[dict[str, Any], list[str]], dict[str, float]]:
    """lm-eval's process_results for an exported task: effbench's verdict on the (first) completion."""
    spec = load_task(task)
    rules = spec.rules()

    def process_results(doc: dict[str, Any], results: list[str]) -> dict[str, float]:
        completion = Completion(results[0], tokens=0, finish_reason="unknown", token_count_source="none")
        found = answer_of(completion, rules, str(doc.get("question") or ""))
        if isinstance(found, Grade):
            return {METRIC: 0.0}
        conventions = rules.against(doc["gold"], doc).conventions
        return {METRIC: float(grade_by(GRADERS[spec.grader], found[0], doc["gold"], conventions) is True)}

    return process_results
