"""`effbench import lm-eval PATH`: an lm-evaluation-harness sample log, made into an ordinary effbench run.

Each lm-eval task is mapped onto the effbench task whose questions its documents hold (matched by
a hash of the whitespace-normalised question text, so any field name and any copy of the data
works); documents that match nothing are reported by line. The generated texts are graded by
effbench's extractors and grader and counted with the model's tokenizer: the counts are
re-tokenized from the logged text, which lm-eval cut at its stop strings (and whose special tokens
its HF backend strips), and finish reasons are inferred from those counts against max_gen_toks.
The run records all of that in run.json's "import".
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from effbench.backends.codec import Codec, load_codec
from effbench.config import at_most_the_cores, comma_separated, plain_run_name
from effbench.errors import ConfigError
from effbench.grading.pool import GradingPool
from effbench.imports.matching import QuestionIndex, question_key
from effbench.imports.writing import Imported, ImportedTask, add_to_import, counted, new_store, write_run
from effbench.lmeval.logs import LmEvalLog, LoggedDoc, LoggedTask, read_log
from effbench.schema import Strict
from effbench.store.records import Results
from effbench.tasks.data import Dataset
from effbench.tasks.spec import TaskSpec, task_names
from effbench.types import Grade, Sample, Sampling

SPECIAL_TOKENS = {
    "hf": "stripped: lm-eval's hf backend decodes with skip_special_tokens=True",
    "vllm": "kept: lm-eval's vllm backend decodes with skip_special_tokens=False",
}


@dataclass(frozen=True)
class ImportOutcome:
    folder: Path
    results: Results
    mapping: dict[str, str]  # lm-eval task -> effbench task
    problems: list[str]
    scores: dict[str, dict[str, float]]  # lm-eval task -> its own accuracy by "metric,filter", from its results JSON
    disagreements: list[str]  # documents where lm-eval's own verdict and effbench's differ


@dataclass
class Matched:
    spec: TaskSpec
    dataset: Dataset
    docs: list[tuple[Sample, LoggedDoc]]  # (effbench sample, the logged document)


def doc_keys(doc: LoggedDoc) -> set[str]:
    """The question keys of every text field of a logged document: its question is one of them, whatever its name."""
    return {question_key(value) for value in doc.doc.values() if isinstance(value, str)}


class ImportKeys(Strict):
    """`effbench import lm-eval`'s keys."""

    tokenizer: str | None = Field(None, description="tokenizer that counts the logged texts (default: the model lm-eval ran)")
    name: str | None = Field(None, description="the run's folder name (default: <model>-lm-eval)")
    out: Path = Field(Path("runs"), description="folder that holds run folders")
    tasks: tuple[str, ...] | None = Field(None, description="effbench tasks to search for the logged questions (default: all)")
    data_dir: Path | None = Field(None, description="folder of local test sets (default: $EFFBENCH_DATA_DIR, else the hub)")
    workers: int = Field(2, ge=1, description="grading worker processes (at most the cores this process may use)")

    _workers = field_validator("workers")(at_most_the_cores)
    grade_timeout: float = Field(10.0, gt=0, description="seconds before a stuck grading worker is killed")

    _tasks = field_validator("tasks", mode="before")(comma_separated)
    _name = field_validator("name")(plain_run_name)


def import_lmeval(
    path: Path,
    *,
    tokenizer: str | None = None,
    name: str | None = None,
    out: Path = Path("runs"),
    tasks: list[str] | None = None,
    data_dir: Path | None = None,
    workers: int = 2,
    grade_timeout: float = 10.0,
) -> ImportOutcome:
    """`tasks` limits the effbench tasks searched for the logged questions (default: the tasks that an
    `effbench export` named in the logs' metadata, else every task)."""
    log = read_log(path)
    problems = [p for task in log.tasks for p in task.problems]
    exported = [(t.config.get("metadata") or {}).get("effbench_task") for t in log.tasks]
    named = sorted({name for name in exported if isinstance(name, str)})
    index = QuestionIndex(data_dir, tasks or (named if all(isinstance(name, str) for name in exported) else task_names()))
    matched, mapping = _match(log.tasks, index, problems)
    if not matched:
        raise ConfigError(
            f"{log.results_file}: no logged document matches an effbench task's questions ({index.searched()}); nothing to import"
        )
    store = new_store(out, name or _default_name(log))
    codec = load_codec(tokenizer or log.model)
    imported = [_task(found, codec, log, mapping) for found in matched.values()]
    with GradingPool(workers, grade_timeout) as pool:
        record = _record(log, path, tokenizer or log.model, mapping, problems)
        results, grades = write_run(store, log.model, imported, pool, record)
    scores = {task.name: _accuracy(log, task.name) for task in log.tasks if task.name in mapping}
    disagreements = _disagreements(matched, mapping, grades, log)
    add_to_import(store, {"lm_eval_scores": scores, "verdict_disagreements": disagreements})
    return ImportOutcome(store.folder, results, mapping, problems, scores, disagreements)


def _accuracy(log: LmEvalLog, task: str) -> dict[str, float]:
    """The task's own scores in lm-eval's results JSON ("exact_match,strict-match": 0.25), without their stderr."""
    found = (log.results.get("results") or {}).get(task) or {}
    return {
        key: float(value)
        for key, value in found.items()
        if "," in key and "_stderr," not in key and isinstance(value, int | float) and not isinstance(value, bool)
    }


def _disagreements(
    matched: dict[str, Matched], mapping: dict[str, str], grades: dict[str, dict[str, tuple[Grade, ...]]], log: LmEvalLog
) -> list[str]:
    """Where lm-eval's own verdict on a document (1 or 0 under a metric and filter, on its first completion) is not
    effbench's verdict on the same completion."""
    found = []
    names = {id(doc): task.name for task in log.tasks for doc in task.docs}
    for target, entry in matched.items():
        for sample, doc in entry.docs:
            grade = grades[target][sample.id][0]
            for key, value in doc.verdicts.items():
                if value in (0.0, 1.0) and (value == 1.0) != grade.correct:
                    found.append(
                        f"{names[id(doc)]} doc {doc.doc_id} ({target} sample {sample.id}): lm-eval's {key} is {value:g}, "
                        f"effbench's verdict {grade.verdict} (answer {grade.answer!r}, gold {sample.gold!r})"
                    )
    return found


def _match(tasks: list[LoggedTask], index: QuestionIndex, problems: list[str]) -> tuple[dict[str, Matched], dict[str, str]]:
    matched: dict[str, Matched] = {}
    mapping = {}
    for task in tasks:
        if not task.docs:
            continue
        keys = [doc_keys(doc) for doc in task.docs]  # hashed once per document, then looked up in every task
        target = index.best_task(keys, prefer=(task.config.get("metadata") or {}).get("effbench_task"))
        if target is None:
            problems.append(
                f"{task.name}: none of its {len(task.docs)} documents matches an effbench task's questions ({index.searched()})"
            )
            continue
        mapping[task.name] = target
        spec, dataset, _ = index.tasks[target]
        entry = matched.setdefault(target, Matched(spec, dataset, []))
        taken = {sample.id for sample, _ in entry.docs}
        for doc, doc_key in zip(task.docs, keys, strict=True):
            sample = index.find(target, doc_key)
            where = f"{task.samples_file.name if task.samples_file else task.name} line {doc.line} (doc_id {doc.doc_id})"
            if sample is None:
                problems.append(f"{where}: its question is not one of {target}'s")
            elif sample.id in taken:
                problems.append(f"{where}: {target} sample {sample.id} was imported already")
            else:
                taken.add(sample.id)
                entry.docs.append((sample, doc))
    return matched, mapping


def _task(found: Matched, codec: Codec, log: LmEvalLog, mapping: dict[str, str]) -> ImportedTask:
    """The task's documents as imported completions, counted again and with finish reasons inferred from the counts."""
    sizes = {len(doc.texts) for _, doc in found.docs}
    if len(sizes) > 1:
        raise ConfigError(f"{found.spec.name}: the logged documents have {sorted(sizes)} completions each; import them apart")
    sampling = _sampling(found.docs[0][1].gen_kwargs, sizes.pop())
    rules = found.spec.rules()
    items = []
    for sample, doc in found.docs:
        completions = []
        for text in doc.texts:
            completion = counted(text, codec, rules)
            finish = "length" if (completion.tokens or 0) >= sampling.max_tokens else "stop"
            completions.append(replace(completion, finish_reason=finish))
        items.append(Imported(sample, doc.prompt, tuple(completions)))
    configs = [log.results["configs"][task] for task, target in mapping.items() if target == found.spec.name]
    return ImportedTask(found.spec, found.dataset, items, sampling, _template_hash(found.spec, configs, log), codec=codec)


def _sampling(gen_kwargs: dict[str, Any], n: int) -> Sampling:
    sampled = bool(gen_kwargs.get("do_sample")) or float(gen_kwargs.get("temperature") or 0) > 0
    return Sampling(
        n=n,
        temperature=float(gen_kwargs.get("temperature") or 0) if sampled else 0.0,
        top_p=float(gen_kwargs.get("top_p") or 1.0),
        top_k=int(gen_kwargs.get("top_k") or -1),
        max_tokens=int(gen_kwargs.get("max_gen_toks") or 256),
    )  # lm-eval's default max_gen_toks


def _default_name(log: LmEvalLog) -> str:
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(log.model.rstrip("/")).name).strip(".-") or "lm-eval"
    return f"{base}-lm-eval"[:128]


def _template_hash(spec: TaskSpec, configs: list[dict[str, Any]], log: LmEvalLog) -> str:
    """effbench's own template hash where the logs come from an exported effbench task run with its prompt
    (the chat template applied for prompt=chat, not for prompt=plain), so the run compares with effbench's;
    else a hash of lm-eval's prompt settings, which compare reports as another prompt."""
    exported = {(c.get("metadata") or {}).get("effbench_template_sha256") for c in configs}
    modes = {(c.get("metadata") or {}).get("effbench_prompt") for c in configs}
    chat = log.results.get("chat_template") is not None
    if exported == {spec.template_hash()} and modes == {"chat" if chat else "plain"}:
        return spec.template_hash()
    settings = [(c.get("doc_to_text"), c.get("description"), c.get("num_fewshot")) for c in configs]
    return "lm-eval:" + hashlib.sha256(repr((settings, chat, log.results.get("system_instruction"))).encode()).hexdigest()


def _record(log: LmEvalLog, path: Path, tokenizer: str, mapping: dict[str, str], problems: list[str]) -> dict[str, Any]:
    backend = str((log.results.get("config") or {}).get("model", "unknown"))
    return {
        "config": {
            "model": log.model,
            "tasks": sorted(set(mapping.values())),
            "backend": "lm-eval",
            "backend_options": {"lm_eval_model": backend, "model_args": log.model_args},
        },
        "backend": {"engine": "lm-eval import", "lm_eval_version": log.results.get("lm_eval_version"), "model": backend},
        "import": {
            "from": str(log.results_file),
            "given": str(path),
            "tasks": mapping,
            "token_counts": f"re-tokenized from the logged text with the tokenizer of {tokenizer}, without adding special tokens",
            "special_tokens": SPECIAL_TOKENS.get(backend, f"unknown for lm-eval's {backend} backend"),
            "stop_strings": "lm-eval cut each text at its `until` strings; what followed is neither stored nor counted",
            "finish_reasons": "inferred: length where the re-tokenized count reaches max_gen_toks, stop otherwise",
            "problems": problems,
        },
    }
