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
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from effbench import __version__
from effbench.backends.codec import Codec, TokenizerCodec
from effbench.config import comma_separated, plain_run_name
from effbench.errors import ConfigError, EffbenchError, StoreError
from effbench.grading.pool import GradingPool
from effbench.grading.scoring import Rules, score
from effbench.lmeval.logs import LmEvalLog, LoggedDoc, LoggedTask, read_log
from effbench.run.environment import environment
from effbench.run.evaluate import TaskPlan, collect_results, iso, now, task_info
from effbench.schema import Strict
from effbench.store.folder import RunStore
from effbench.store.lock import RunLock
from effbench.store.records import Identity, Results, RunRecord, TaskIdentity, write_record
from effbench.tasks.data import Dataset, load_dataset
from effbench.tasks.spec import TaskSpec, load_task, task_names
from effbench.types import Completion, Sample, Sampling, Scored

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


@dataclass
class Matched:
    spec: TaskSpec
    dataset: Dataset
    docs: list[tuple[Sample, LoggedDoc]]  # (effbench sample, the logged document)


def question_key(text: str) -> str:
    return hashlib.sha256(re.sub(r"\s+", " ", text).strip().encode()).hexdigest()


def doc_keys(doc: LoggedDoc) -> set[str]:
    """The question keys of every text field of a logged document: its question is one of them, whatever its name."""
    return {question_key(value) for value in doc.doc.values() if isinstance(value, str)}


class QuestionIndex:
    """Every effbench task's samples by question hash, for the tasks whose data is at hand."""

    def __init__(self, data_dir: Path | None, names: list[str]):
        self.tasks: dict[str, tuple[TaskSpec, Dataset, dict[str, Sample]]] = {}
        self.unavailable: list[str] = []  # searched for nothing: said with every document that matches no task
        for name in names:
            spec = load_task(name)
            try:
                dataset = load_dataset(spec, root=data_dir)
            except EffbenchError:
                self.unavailable.append(name)
                continue
            self.tasks[name] = (spec, dataset, {question_key(s.question): s for s in dataset.samples})

    def best_task(self, keys: list[set[str]]) -> str | None:
        """The task that holds the most documents; on a tie, the smallest (MATH-500 before all of MATH)."""
        counts = Counter(name for doc in keys for name in self.tasks if self.find(name, doc) is not None)
        if not counts:
            return None
        return max(counts, key=lambda name: (counts[name], -len(self.tasks[name][1].samples)))

    def find(self, name: str, keys: set[str]) -> Sample | None:
        by_key = self.tasks[name][2]
        return next((by_key[k] for k in keys if k in by_key), None)

    def searched(self) -> str:
        missing = f"; not at hand, so not searched: {', '.join(self.unavailable)}" if self.unavailable else ""
        return f"searched {', '.join(self.tasks) or 'no task'}{missing}"


class ImportKeys(Strict):
    """`effbench import lm-eval`'s keys."""

    tokenizer: str | None = Field(None, description="tokenizer that counts the logged texts (default: the model lm-eval ran)")
    name: str | None = Field(None, description="the run's folder name (default: <model>-lm-eval)")
    out: Path = Field(Path("runs"), description="folder that holds run folders")
    tasks: tuple[str, ...] | None = Field(None, description="effbench tasks to search for the logged questions (default: all)")
    data_dir: Path | None = Field(None, description="folder of local test sets (default: $EFFBENCH_DATA_DIR, else the hub)")
    workers: int = Field(2, ge=1, description="grading worker processes")
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
    store = RunStore.open(out, name or _default_name(log))
    if store.folder.exists():
        raise StoreError(f"{store.folder} exists already; choose another name= or remove it")
    codec = _codec(tokenizer or log.model)
    started = time.time()
    plans = []
    with RunLock(store.folder), GradingPool(workers, grade_timeout) as pool:
        for found in matched.values():
            plans.append(_write_task(store, found, codec, pool))
        results = collect_results(log.model, "lm-eval", store, plans)
        write_record(store.results_file, results)
        write_record(store.run_file, _run_record(log, path, tokenizer or log.model, plans, mapping, problems, started))
    return ImportOutcome(store.folder, results, mapping, problems)


def _match(tasks: list[LoggedTask], index: QuestionIndex, problems: list[str]) -> tuple[dict[str, Matched], dict[str, str]]:
    matched: dict[str, Matched] = {}
    mapping = {}
    for task in tasks:
        if not task.docs:
            continue
        keys = [doc_keys(doc) for doc in task.docs]  # hashed once per document, then looked up in every task
        target = index.best_task(keys)
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


def _codec(tokenizer: str) -> Codec:
    try:
        return TokenizerCodec.load(tokenizer)
    except Exception as exc:
        raise ConfigError(
            f"the tokenizer {tokenizer!r} could not be loaded ({str(exc).splitlines()[0][:200]}); "
            "give the model's tokenizer with tokenizer=NAME_OR_PATH"
        ) from None


def _write_task(store: RunStore, found: Matched, codec: Codec, pool: GradingPool) -> TaskPlan:
    """Grade and store the task's documents in the effbench task's order; the plan that describes them."""
    order = {s.id: i for i, s in enumerate(found.dataset.samples)}
    docs = sorted(found.docs, key=lambda item: order[item[0].id])
    sizes = {len(doc.texts) for _, doc in docs}
    if len(sizes) > 1:
        raise ConfigError(f"{found.spec.name}: the logged documents have {sorted(sizes)} completions each; import them apart")
    sampling = _sampling(docs[0][1].gen_kwargs, sizes.pop())
    rules = found.spec.rules()
    pending = []
    with store.appender(found.spec.name) as out:
        for sample, doc in docs:
            completions = [_completion(text, codec, sampling.max_tokens, rules) for text in doc.texts]
            grades = [score(pool, c, sample.gold, rules) for c in completions]
            pending.append((sample, doc.prompt, completions, grades))
        for sample, prompt, completions, grades in pending:
            out.append(Scored(sample, prompt, tuple(completions), tuple(g.result() for g in grades)).to_json())
    return TaskPlan(found.spec, found.dataset, sampling, (), {sample.id: sample for sample, _ in docs}, rules)


def _sampling(gen_kwargs: dict[str, Any], n: int) -> Sampling:
    sampled = bool(gen_kwargs.get("do_sample")) or float(gen_kwargs.get("temperature") or 0) > 0
    return Sampling(
        n=n,
        temperature=float(gen_kwargs.get("temperature") or 0) if sampled else 0.0,
        top_p=float(gen_kwargs.get("top_p") or 1.0),
        top_k=int(gen_kwargs.get("top_k") or -1),
        max_tokens=int(gen_kwargs.get("max_gen_toks") or 256),
    )  # lm-eval's default max_gen_toks


def _completion(text: str, codec: Codec, max_tokens: int, rules: Rules) -> Completion:
    ids = codec.encode(text)
    return Completion(
        text=text,
        tokens=len(ids),
        finish_reason="length" if len(ids) >= max_tokens else "stop",
        token_ids=ids,
        reasoning_tokens=codec.reasoning_tokens(ids, text, rules.reasoning),
        token_count_source="retokenized",
    )


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


def _run_record(
    log: LmEvalLog,
    path: Path,
    tokenizer: str,
    plans: list[TaskPlan],
    mapping: dict[str, str],
    problems: list[str],
    started: float,
) -> RunRecord:
    backend = str((log.results.get("config") or {}).get("model", "unknown"))
    configs = defaultdict(list)
    for task, target in mapping.items():
        configs[target].append(log.results["configs"][task])
    identity_tasks = {
        p.spec.name: TaskIdentity(
            version=p.spec.version,
            samples_sha256=p.dataset.fingerprint["samples_sha256"],
            template_sha256=_template_hash(p.spec, configs[p.spec.name], log),
            sampling=vars(p.sampling),
        )
        for p in plans
    }
    return RunRecord(
        effbench_version=__version__,
        created=now(),
        config={
            "model": log.model,
            "tasks": [p.spec.name for p in plans],
            "backend": "lm-eval",
            "backend_options": {"lm_eval_model": backend, "model_args": log.model_args},
        },
        identity=Identity(model=log.model, tasks=identity_tasks),
        tasks={p.spec.name: task_info(p) for p in plans},
        environment=environment(),
        backend={"engine": "lm-eval import", "lm_eval_version": log.results.get("lm_eval_version"), "model": backend},
        imported={
            "from": str(log.results_file),
            "given": str(path),
            "tasks": mapping,
            "token_counts": f"re-tokenized from the logged text with the tokenizer of {tokenizer}, without adding special tokens",
            "special_tokens": SPECIAL_TOKENS.get(backend, f"unknown for lm-eval's {backend} backend"),
            "stop_strings": "lm-eval cut each text at its `until` strings; what followed is neither stored nor counted",
            "finish_reasons": "inferred: length where the re-tokenized count reaches max_gen_toks, stop otherwise",
            "problems": problems,
        },
        invocations=[{"started": iso(started), "finished": now(), "wall_s": round(time.time() - started, 3), "tasks": {}}],
        status="complete",
    )
