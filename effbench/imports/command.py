"""`effbench import jsonl|qwen-math|lighteval|evalscope|openai-batch FILE`: its keys, and the import they make."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from pydantic import Field, field_validator

from effbench.config import at_most_the_cores, comma_separated, known_reasoning_format, plain_run_name
from effbench.errors import ConfigError
from effbench.imports.formats import read_format
from effbench.imports.generation import FieldMap
from effbench.imports.generations import ImportOutcome, Settings, import_generations
from effbench.imports.reading import read_records
from effbench.schema import Strict

FIELD_KEYS = ("question", "completion", "gold", "id", "task", "tokens", "reasoning_tokens", "reasoning_text", "score", "finish",
              "prompt")  # fmt: skip


class GenerationKeys(Strict):
    """`effbench import`'s keys for files of generations. The field keys (question= … prompt=) are for `import jsonl`:
    dotted paths with integer indices; a named format knows its own."""

    question: str | None = Field(None, description="field of the question (default: question)")
    completion: str | None = Field(
        None, description="field of the completion, or of a list of n completions (default: completion)"
    )
    gold: str | None = Field(None, description="field of the file's gold, checked against effbench's (effbench's is used)")
    id: str | None = Field(None, description="field of the sample id: matched within the task (task= or one of tasks=)")
    task: str | None = Field(None, description="field naming each record's effbench task")
    tokens: str | None = Field(None, description="field of the completion token count (a list for n completions)")
    reasoning_tokens: str | None = Field(None, description="field of the reasoning token count")
    reasoning_text: str | None = Field(None, description="field of the reasoning kept apart from the completion")
    score: str | None = Field(None, description="field of the file's own verdict (true/false, 1/0): disagreements are listed")
    finish: str | None = Field(None, description="field of the finish reason (stop, length)")
    prompt: str | None = Field(None, description="field of the prompt the model was given")
    tokenizer: str | None = Field(None, description="tokenizer that counts the completions where the file has no counts")
    reasoning: str | None = Field(None, description="reasoning format of the completions (default: the task's, think)")
    model: str | None = Field(None, description="the model's name (default: the file's name)")
    tasks: tuple[str, ...] | None = Field(None, description="effbench tasks to match the records onto (default: all)")
    name: str | None = Field(None, description="the run's folder name (default: <model>-<format>)")
    out: Path = Field(Path("runs"), description="folder that holds run folders")
    data_dir: Path | None = Field(None, description="folder of local test sets (default: $EFFBENCH_DATA_DIR, else the hub)")
    requests: Path | None = Field(None, description="openai-batch: the batch's input file, whose messages hold the questions")
    temperature: float | None = Field(
        None, ge=0, description="the sampling temperature (default: from the file's name, else the task's)"
    )
    max_tokens: int | None = Field(None, gt=0, description="the generation limit: a count that reaches it is a truncation")
    workers: int = Field(2, ge=1, description="grading worker processes (at most the cores this process may use)")

    _workers = field_validator("workers")(at_most_the_cores)
    grade_timeout: float = Field(10.0, gt=0, description="seconds before a stuck grading worker is killed")

    _tasks = field_validator("tasks", mode="before")(comma_separated)
    _name = field_validator("name")(plain_run_name)
    _known_format = field_validator("reasoning")(known_reasoning_format)


def import_file(kind: str, path: Path, keys: GenerationKeys) -> ImportOutcome:
    problems: list[str] = []
    notes: tuple[str, ...] = ()
    temperature: float | None = None
    given = {k: getattr(keys, k) for k in FIELD_KEYS if getattr(keys, k) is not None}
    if kind == "jsonl":
        records, fields = read_records(path, problems), FieldMap(**given)
    else:
        if given:
            named = ", ".join(f"{k}=" for k in given)
            raise ConfigError(f"{named} name fields for `effbench import jsonl`; {kind} files have fields of their own")
        read = read_format(kind, path, problems, keys.requests)
        records, fields, notes, temperature = read.records, read.fields, read.notes, read.temperature
    if keys.requests and kind != "openai-batch":
        raise ConfigError("requests= is the input file of an OpenAI batch; it is for `effbench import openai-batch`")
    given_settings = {
        f.name: getattr(keys, f.name) for f in dataclasses.fields(Settings) if f.name in GenerationKeys.model_fields
    }
    if keys.temperature is None:
        given_settings["temperature"] = temperature  # the file's name may say it
    settings = Settings(**given_settings, kind=kind, notes=notes)
    return import_generations(path, records, fields, settings, problems)
