"""`effbench export lm-eval OUTDIR`: effbench's tasks as lm-evaluation-harness tasks.

Per task, OUTDIR gets effbench_<task>.yaml and effbench_<task>.jsonl, the samples effbench evaluates
(id, question, gold and the breakdown fields, after its field mapping and exclusions), so lm-eval
reads the same problems without a network. The prompt is effbench's template (`prompt=chat`: the
user message, for `lm_eval --apply_chat_template`; `prompt=plain`: the plain-text prompt), the
generation parameters are the task's, and OUTDIR/effbench_lmeval.py grades each completion with
effbench's extractor and grader (so effbench must be installed where lm_eval runs). The YAML's
metadata names the effbench task, prompt and template hash, so that `effbench import lm-eval`
maps the logs back onto the task and compares them with effbench's own runs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, field_validator

from effbench.config import comma_separated
from effbench.errors import ConfigError
from effbench.grading.equivalence import GRADERS
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


def export_lmeval(
    out: Path,
    *,
    tasks: list[str] | None = None,
    prompt: str = "chat",
    n: int = 1,
    max_tokens: int | None = None,
    data_dir: Path | None = None,
) -> list[Path]:
    """Write the tasks' YAMLs, their samples and the grading hooks into `out`; the YAML paths."""
    if prompt not in ("chat", "plain"):
        raise ConfigError(f"prompt={prompt} is not one of chat, plain")
    specs = [load_task(name) for name in (tasks or task_names())]
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for spec in specs:
        dataset = load_dataset(spec, root=data_dir)
        samples_file = out / f"{lmeval_task_name(spec.name)}.jsonl"
        samples_file.write_text(
            "".join(
                json.dumps(
                    {**{k: str(v) for k, v in s.metadata.items()}, "id": s.id, "question": s.question, "gold": s.gold},
                    ensure_ascii=False,
                )
                + "\n"
                for s in dataset.samples
            ),
            encoding="utf-8",
        )
        task_file = out / f"{lmeval_task_name(spec.name)}.yaml"
        task_file.write_text(
            _header(spec, dataset.fingerprint) + _yaml(_task_config(spec, samples_file, prompt, n, max_tokens)), encoding="utf-8"
        )
        written.append(task_file)
    (out / f"{HOOKS}.py").write_text(_hooks(specs), encoding="utf-8")
    return written


def _task_config(spec: TaskSpec, samples_file: Path, prompt: str, n: int, max_tokens: int | None) -> dict[str, Any]:
    g = spec.generation
    return {
        "task": lmeval_task_name(spec.name),
        "dataset_path": "json",
        "dataset_kwargs": {"data_files": {"test": str(samples_file.resolve())}},
        "test_split": "test",
        "output_type": "generate_until",
        "doc_to_text": _prompt_template(spec, prompt),
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


def _prompt_template(spec: TaskSpec, prompt: str) -> str:
    if prompt == "plain":
        return spec.prompt.plain
    if [m["role"] for m in spec.prompt.chat] != ["user"]:
        raise ConfigError(
            f"{spec.name}: its chat prompt is not one user message, which lm-eval's doc_to_text cannot hold; "
            "export it with prompt=plain"
        )
    return spec.prompt.chat[0]["content"]


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
        found = answer_of(Completion(results[0], tokens=0, finish_reason="unknown", token_count_source="none"), rules)
        return {METRIC: float(not isinstance(found, Grade) and GRADERS[spec.grader](found[0], doc["gold"]))}

    return process_results
