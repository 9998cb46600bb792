"""One record of a file of generations, read through its field map: its question, completions, gold, counts, scores."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from effbench.imports.reading import Record
from effbench.tasks.data import lookup

FINISH_REASONS = {"length": "length", "max_tokens": "length", "stop": "stop", "eos": "stop", "end_turn": "stop"}


@dataclass(frozen=True)
class FieldMap:
    """Where a record holds each part: dotted paths with integer indices (`code.0`, `output.choices.1.text`)."""

    question: str | None = "question"
    completion: str = "completion"
    gold: str | None = None
    id: str | None = None
    task: str | None = None
    tokens: str | None = None
    reasoning_tokens: str | None = None
    reasoning_text: str | None = None
    score: str | None = None
    finish: str | None = None
    prompt: str | None = None

    def given(self) -> dict[str, str]:
        return {name: path for name, path in vars(self).items() if path is not None}


@dataclass(frozen=True)
class Generation:
    """What one record says: n completions of one question, and what the file knows of them."""

    where: str
    question: str | None
    texts: tuple[str, ...]
    gold: str | None = None
    id: str | None = None
    task: str | None = None
    tokens: tuple[int, ...] | None = None
    reasoning_tokens: tuple[int, ...] | None = None
    reasoning_texts: tuple[str | None, ...] | None = None
    scores: tuple[bool, ...] | None = None
    finish: tuple[str, ...] | None = None
    prompt: str | None = None


class BadRecord(ValueError):
    """A record that cannot be imported; the message says why, without where (the caller adds it)."""


def read_generation(record: Record, fields: FieldMap) -> Generation:
    data = record.data
    texts = _texts(fields.completion, lookup(data, fields.completion))
    n = len(texts)
    return Generation(
        where=record.where,
        question=_text(fields.question, data),
        texts=texts,
        gold=_text(fields.gold, data, numbers=True),
        id=_text(fields.id, data, numbers=True),
        task=_text(fields.task, data),
        tokens=_per_completion(fields.tokens, data, n, _count),
        reasoning_tokens=_per_completion(fields.reasoning_tokens, data, n, _count),
        reasoning_texts=_per_completion(fields.reasoning_text, data, n, _optional_text),
        scores=_per_completion(fields.score, data, n, _score),
        finish=_per_completion(fields.finish, data, n, _finish),
        prompt=_text(fields.prompt, data),
    )


def _texts(path: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    if value is None:
        raise BadRecord(f"no completion at {path}")
    raise BadRecord(f"{path} holds {_kind(value)}, not a completion's text or a list of them")


def _text(path: str | None, data: dict[str, Any], *, numbers: bool = False) -> str | None:
    if path is None:
        return None
    value = lookup(data, path)
    if value is None:
        raise BadRecord(f"no value at {path}")
    if isinstance(value, str):
        return value
    if numbers and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise BadRecord(f"{path} holds {_kind(value)}, not text")


def _per_completion(path: str | None, data: dict[str, Any], n: int, read) -> tuple | None:
    """One value per completion: a list of n, or a single value where there is one completion."""
    if path is None:
        return None
    value = lookup(data, path)
    values = value if isinstance(value, list) else [value]
    if len(values) != n:
        raise BadRecord(f"{path} holds {len(values)} values for {n} completions")
    try:
        return tuple(read(v) for v in values)
    except (TypeError, ValueError) as exc:
        raise BadRecord(f"{path}: {exc}") from None


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{_kind(value)} is not a token count")
    return value


def _score(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    raise ValueError(f"{_kind(value)} is not a score (true/false, 1/0)")


def _finish(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{_kind(value)} is not a finish reason")
    return FINISH_REASONS.get(value, value)


def _optional_text(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{_kind(value)} is not text")
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return f"the text {value[:40]!r}"
    if isinstance(value, bool):
        return f"the value {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    return "a list" if isinstance(value, list) else "an object" if isinstance(value, dict) else f"a {type(value).__name__}"
