"""`effbench import jsonl FILE`: any file of generations, made into an ordinary effbench run.

Each record is read through a field map (`imports.generation`), matched onto an effbench sample (by
task and id, else by its question, exactly or inside a longer prompt), and graded by effbench against
effbench's own gold; a gold or a score in the file that disagrees is listed, not used. Token counts
come from the file, else from a tokenizer; with neither they are absent, and the run says so.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from effbench.backends.codec import Codec, load_codec
from effbench.errors import ConfigError
from effbench.grading.extract import extract
from effbench.grading.pool import GradingPool
from effbench.grading.reasoning import reasoning_format
from effbench.grading.scoring import Rules
from effbench.imports.generation import BadRecord, FieldMap, Generation, read_generation
from effbench.imports.matching import QuestionIndex, question_key
from effbench.imports.reading import Record
from effbench.imports.writing import Imported, ImportedTask, add_to_import, counted, new_store, write_run
from effbench.run.grade_file import gold_as_task_reads_it
from effbench.store.records import Results
from effbench.tasks.spec import TaskSpec, task_names
from effbench.types import Completion, Grade, Sample, Sampling


@dataclass(frozen=True)
class Settings:
    """How to make the run: what the file does not say."""

    kind: str = "jsonl"
    model: str | None = None
    name: str | None = None
    out: Path = Path("runs")
    tasks: tuple[str, ...] | None = None
    data_dir: Path | None = None
    tokenizer: str | None = None
    reasoning: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    workers: int = 2
    grade_timeout: float = 10.0
    notes: tuple[str, ...] = ()  # what a named format learnt from the files beside it


@dataclass(frozen=True)
class ImportOutcome:
    folder: Path
    results: Results
    problems: list[str]  # records not imported, each with where it is
    disagreements: list[str]  # golds and scores of the file that effbench's grading does not share
    file_accuracy: dict[str, float] = field(default_factory=dict)  # by task, from the file's own scores
    notes: tuple[str, ...] = ()  # what a named format learnt from the files beside it


@dataclass
class Matched:
    spec: TaskSpec
    items: list[tuple[Sample, Generation]]


def import_generations(
    path: Path, records: list[Record], fields: FieldMap, settings: Settings, problems: list[str]
) -> ImportOutcome:
    generations = []
    for raw in records:
        try:
            generations.append(read_generation(raw, fields))
        except BadRecord as exc:
            problems.append(f"{raw.where}: {exc}")
    index = QuestionIndex(settings.data_dir, list(settings.tasks or task_names()))
    unread = len(problems)
    matched = match(generations, index, problems)
    if not matched:
        why = problems[unread] if len(problems) > unread else problems[-1] if problems else None  # why readable ones failed
        first = f"; {len(problems)} records not imported, such as {why}" if why else ""
        raise ConfigError(f"{path}: no record matches an effbench sample ({index.searched()}){first}; nothing to import")
    codec = load_codec(settings.tokenizer) if settings.tokenizer else None
    store = new_store(settings.out, settings.name or _default_name(settings, path))
    tasks = [_task(found, index, codec, settings) for found in matched.values()]
    model = settings.model or path.stem
    with GradingPool(settings.workers, settings.grade_timeout) as pool:
        disagreements = _gold_disagreements(matched, pool)
        record = _record(path, fields, settings, matched, problems, disagreements, model)
        results, grades = write_run(store, model, tasks, pool, record)
    scores = _score_disagreements(matched, grades)
    file_accuracy = {
        name: sum(sum(g.scores) / len(g.scores) for _, g in found.items if g.scores) / len(found.items)
        for name, found in matched.items()
        if all(g.scores for _, g in found.items)
    }
    if scores or file_accuracy:  # known once graded: added to run.json's import
        add_to_import(store, {"score_disagreements": scores, "file_accuracy": file_accuracy})
    return ImportOutcome(store.folder, results, problems, disagreements + scores, file_accuracy, settings.notes)


def match(generations: list[Generation], index: QuestionIndex, problems: list[str]) -> dict[str, Matched]:
    """Each generation's sample: by task and id where both are known, else by question; where a question is in
    several tasks, the task that holds the most records (MATH-500 before all of MATH on a tie)."""
    options = [_candidates(g, index, problems) for g in generations]
    counts = Counter(name for found in options for name in found)
    matched: dict[str, Matched] = {}
    first: dict[tuple[str, str], str] = {}
    for generation, found in zip(generations, options, strict=True):
        if not found:
            continue
        name = max(found, key=lambda t: (counts[t], -len(index.tasks[t][1].samples)))
        sample = found[name]
        if (name, sample.id) in first:
            problems.append(f"{generation.where}: {name} sample {sample.id} was imported already, from {first[name, sample.id]}")
            continue
        first[name, sample.id] = generation.where
        matched.setdefault(name, Matched(index.tasks[name][0], [])).items.append((sample, generation))
    return matched


def _candidates(generation: Generation, index: QuestionIndex, problems: list[str]) -> dict[str, Sample]:
    where = generation.where
    if generation.task is not None:
        name = generation.task
        if name not in index.tasks:
            problems.append(f"{where}: task {name!r} is not among the tasks searched ({index.searched()})")
            return {}
        names = [name]
    else:
        names = list(index.tasks)
    if generation.id is not None and len(names) == 1:
        sample = index.by_id[names[0]].get(generation.id)
        if sample is None:
            problems.append(f"{where}: id {generation.id!r} is not a sample of {names[0]}")
            return {}
        return {names[0]: sample}
    if generation.question is None:
        problems.append(f"{where}: no question to match, and no id within one task (give question=, or id= with tasks=)")
        return {}
    key = {question_key(generation.question)}
    found = {name: s for name in names if (s := index.find(name, key)) is not None}
    found = found or {name: s for name in names if (s := index.find_within(name, generation.question)) is not None}
    if not found:
        problems.append(f"{where}: its question is not one of {_listed(names)}'s ({index.searched()})")
    return found


def _task(found: Matched, index: QuestionIndex, codec: Codec | None, settings: Settings) -> ImportedTask:
    spec, dataset, _ = index.tasks[found.spec.name]
    sizes = {len(g.texts) for _, g in found.items}
    if len(sizes) > 1:
        raise ConfigError(f"{spec.name}: the records have {sorted(sizes)} completions each; import them apart")
    rules = spec.rules()
    if settings.reasoning:
        rules = replace(rules, reasoning=reasoning_format(settings.reasoning))
    sampling = Sampling(
        n=sizes.pop(),
        temperature=spec.generation.temperature if settings.temperature is None else settings.temperature,
        top_p=spec.generation.top_p,
        top_k=spec.generation.top_k,
        max_tokens=settings.max_tokens or spec.generation.max_tokens,
    )
    items = [
        Imported(
            sample, g.prompt or sample.question, tuple(_completion(g, j, codec, rules, settings) for j in range(len(g.texts)))
        )
        for sample, g in found.items
    ]
    template = "imported:" + hashlib.sha256(f"{settings.kind}:{spec.name}".encode()).hexdigest()
    return ImportedTask(spec, dataset, items, sampling, template, rules, codec)


def _completion(g: Generation, j: int, codec: Codec | None, rules: Rules, settings: Settings) -> Completion:
    text, reasoning = g.texts[j], g.reasoning_texts[j] if g.reasoning_texts else None
    if codec is not None:
        completion = replace(counted(text, codec, rules), reasoning=reasoning)
    else:
        completion = Completion(text=text, tokens=None, finish_reason="unknown", reasoning=reasoning, token_count_source="none")
    if g.tokens is not None:
        completion = replace(completion, tokens=g.tokens[j], token_ids=None, token_count_source="file")
    if g.reasoning_tokens is not None:
        completion = replace(completion, reasoning_tokens=g.reasoning_tokens[j])
    if g.finish is not None:
        return replace(completion, finish_reason=g.finish[j])
    if settings.max_tokens and completion.tokens is not None:
        return replace(completion, finish_reason="length" if completion.tokens >= settings.max_tokens else "stop")
    return completion


def _gold_disagreements(matched: dict[str, Matched], pool: GradingPool) -> list[str]:
    """The file's golds that are not equivalent to effbench's (effbench's is used)."""
    pending = []
    for found in matched.values():
        rules = found.spec.rules()
        for sample, g in found.items:
            if g.gold is None:
                continue
            given = gold_as_task_reads_it(found.spec, g.gold)
            if "\\boxed" in given:
                given = extract(given, "last_boxed")[0] or given
            pending.append((found.spec.name, sample, g, pool.submit(rules.against(sample.gold, sample.metadata).job(given))))
    return [
        f"{g.where}: the file's gold {(g.gold or '')[:80]!r} is not {name}'s gold {sample.gold!r} for sample {sample.id}; "
        f"effbench's is used"
        for name, sample, g, future in pending
        if future.result()[0] != "correct"
    ]


def _score_disagreements(matched: dict[str, Matched], grades: dict[str, dict[str, tuple[Grade, ...]]]) -> list[str]:
    found = []
    for name, task in matched.items():
        for sample, g in task.items:
            for j, (said, grade) in enumerate(zip(g.scores or (), grades[name][sample.id], strict=False)):
                if said != grade.correct:
                    found.append(
                        f"{g.where} completion {j}: the file scores it {'correct' if said else 'wrong'}, effbench "
                        f"{grade.verdict} (answer {grade.answer!r}, gold {sample.gold!r})"
                    )
    return found


def _record(
    path: Path,
    fields: FieldMap,
    settings: Settings,
    matched: dict[str, Matched],
    problems: list[str],
    disagreements: list[str],
    model: str,
) -> dict[str, Any]:
    return {
        "config": {
            "model": model,
            "tasks": sorted(matched),
            "backend": "import",
            "backend_options": {"format": settings.kind, "tokenizer": settings.tokenizer},
        },
        "backend": {"engine": f"{settings.kind} import"},
        "import": {
            "from": str(path.resolve()),
            "format": settings.kind,
            "fields": fields.given(),
            "records": {name: len(found.items) for name, found in matched.items()},
            "token_counts": _token_counts(fields, settings),
            "finish_reasons": (
                f"from the file's {fields.finish}"
                if fields.finish
                else f"inferred: length where the count reaches max_tokens={settings.max_tokens}"
                if settings.max_tokens
                else "unknown (give finish= or max_tokens=): no truncation rate"
            ),
            "sampling": "not read from the file: the task's defaults, or temperature= and max_tokens= as given",
            "prompt": f"the file's {fields.prompt}" if fields.prompt else "not in the file: the question stands for it",
            "notes": list(settings.notes),
            "problems": problems,
            "gold_disagreements": disagreements,
        },
    }


def _token_counts(fields: FieldMap, settings: Settings) -> str:
    if fields.tokens:
        return f"from the file's {fields.tokens}" + (
            f"; reasoning tokens counted with the tokenizer of {settings.tokenizer}" if settings.tokenizer else ""
        )
    if settings.tokenizer:
        return f"re-tokenized from the text with the tokenizer of {settings.tokenizer}, without adding special tokens"
    return "absent: the file has no counts (tokens=) and no tokenizer was given (tokenizer=), so no token metrics"


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else "any task"


def _default_name(settings: Settings, path: Path) -> str:
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", (settings.model and Path(settings.model).name) or path.stem).strip(".-")
    return f"{base or 'generations'}-{settings.kind}"[:128]
