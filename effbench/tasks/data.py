"""A task's dataset as Samples: local JSONL under EFFBENCH_DATA_DIR, or the Hugging Face hub."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from effbench.errors import DataError
from effbench.grading.extract import extract
from effbench.structured import load_json
from effbench.tasks.prompts import render_text
from effbench.tasks.spec import Fields, FieldSpec, TaskSpec
from effbench.types import Sample

DATA_DIR_ENV = "EFFBENCH_DATA_DIR"


@dataclass(frozen=True)
class Dataset:
    samples: tuple[Sample, ...]
    fingerprint: dict[str, Any]
    excluded: tuple[dict[str, str], ...] = field(default_factory=tuple)


def data_dir() -> Path | None:
    value = os.environ.get(DATA_DIR_ENV)
    return Path(value) if value else None


def describe_source(spec: TaskSpec, root: Path | None = None) -> tuple[str, bool]:
    """Where the task's data comes from, and whether it is available without a network."""
    root = root or data_dir()
    if root is not None:
        path = root / spec.source.local
        return str(path), path.is_file()
    hub = spec.source.hub
    return (f"hub {hub.path}" if hub else f"local only: {spec.source.origin or spec.source.local}"), False


def load_dataset(spec: TaskSpec, *, root: Path | None = None, limit: int | None = None) -> Dataset:
    """Load, fingerprint and map a task's records; local files are checked against the task's sha256."""
    root = root or data_dir()
    if root is not None:
        records, fingerprint = _read_local(spec, root)
        fields = spec.fields
    else:
        records, fingerprint = _read_hub(spec)
        fields = _hub_fields(spec)
    if len(records) != spec.source.records:
        raise DataError(
            f"{spec.name}: {fingerprint['source']} holds {len(records)} records, expected {spec.source.records}; "
            "it is not the canonical test set"
        )
    samples, excluded = _to_samples(spec, fields, records)
    fingerprint["samples_sha256"] = _samples_hash(samples)
    if limit is not None:
        samples = samples[:limit]
    return Dataset(tuple(samples), fingerprint, tuple(excluded))


def _read_local(spec: TaskSpec, root: Path) -> tuple[list[dict], dict[str, Any]]:
    path = root / spec.source.local
    if not path.is_file():
        raise DataError(
            f"{spec.name}: data file {path} not found; point {DATA_DIR_ENV} at the folder holding "
            f"{spec.source.local}, or unset it to load from the Hugging Face hub"
        )
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != spec.source.sha256:
        raise DataError(
            f"{spec.name}: {path} has sha256 {digest[:12]}…, expected {spec.source.sha256[:12]}…; "
            "restore the canonical file (results on other data are not comparable)"
        )
    records = []
    for number, line in enumerate(raw.split(b"\n"), 1):  # `\n` only: a question may hold U+2028 or U+0085
        if line.strip():
            records.append(_record(spec, path, number, line))
    return records, {"source": str(path), "sha256": digest, "records": len(records)}


def _record(spec: TaskSpec, path: Path, number: int, line: bytes) -> dict:
    try:
        record = load_json(line.decode("utf-8"))
    except UnicodeDecodeError:
        raise DataError(f"{spec.name}: {path} line {number} is not UTF-8 text") from None
    except json.JSONDecodeError:
        raise DataError(f"{spec.name}: {path} line {number} is not valid JSON") from None
    if not isinstance(record, dict):
        raise DataError(f"{spec.name}: {path} line {number} holds a JSON {type(record).__name__}, not a record (an object)")
    return record


def _read_hub(spec: TaskSpec) -> tuple[list[dict], dict[str, Any]]:
    hub = spec.source.hub
    if hub is None:
        origin = f" (published at {spec.source.origin})" if spec.source.origin else ""
        raise DataError(f"{spec.name}: no hub source; set {DATA_DIR_ENV} to the folder holding {spec.source.local}{origin}")
    try:
        import datasets

        table = datasets.load_dataset(hub.path, hub.config, split=hub.split, revision=hub.revision)
    except Exception as exc:  # network, auth, missing revision: all end the same way for the user
        raise DataError(
            f"{spec.name}: could not load {hub.path} from the Hugging Face hub ({type(exc).__name__}); "
            f"set {DATA_DIR_ENV} to a folder holding {spec.source.local}"
        ) from None
    records = [dict(row) for row in table]
    if hub.filter:
        records = [r for r in records if all(text in str(r.get(k, "")) for k, text in hub.filter.items())]
    digest = hashlib.sha256(json.dumps(records, sort_keys=True, default=str).encode()).hexdigest()
    source = f"hub {hub.path}@{hub.revision or 'main'}"
    return records, {"source": source, "sha256": digest, "records": len(records), "revision": hub.revision}


def _hub_fields(spec: TaskSpec) -> Fields:
    overrides = spec.source.hub.fields if spec.source.hub else None
    if not overrides:
        return spec.fields
    return Fields(**{**spec.fields.model_dump(), **overrides})


def _to_samples(spec: TaskSpec, fields: Fields, records: Iterable[dict]) -> tuple[list[Sample], list[dict]]:
    samples, excluded, seen = [], [], set()
    for index, record in enumerate(records):
        sample_id = str(index) if fields.id is None else _required(spec, fields.id, record, index)
        if sample_id in seen:
            raise DataError(f"{spec.name}: sample id {sample_id!r} appears twice; the id field must be unique")
        seen.add(sample_id)
        gold = _value(spec, fields.answer, record, index, required=False)
        if not gold:
            excluded.append({"id": sample_id, "reason": "empty gold answer"})
            continue
        question = _required(spec, fields.question, record, index)
        metadata = {name: _value(spec, f, record, index, required=False) for name, f in fields.metadata.items()}
        samples.append(Sample(sample_id, question, gold, metadata))
    return samples, excluded


def _value(spec: TaskSpec, fs: FieldSpec, record: dict, index: int, *, required: bool) -> str | None:
    raw = _raw(spec, fs, record, index)
    if raw is None:
        if required:
            raise DataError(
                f"{spec.name}: record {index} has no field {' or '.join(fs.fields)!r}; check the task's field mapping"
            )
        return None
    return narrow(fs, str(raw).strip())


def _required(spec: TaskSpec, fs: FieldSpec, record: dict, index: int) -> str:
    value = _value(spec, fs, record, index, required=True)
    if value is None:
        raise DataError(
            f"{spec.name}: record {index}: its {' or '.join(fs.fields) or 'template'} field holds nothing the "
            "task's pattern finds; check the task's field mapping"
        )
    return value


def _raw(spec: TaskSpec, fs: FieldSpec, record: dict, index: int) -> Any:
    if fs.template is not None:
        try:
            return render_text(fs.template, record)
        except Exception as exc:  # the task author's template: any failure is one line that names the record
            raise DataError(f"{spec.name}: its field template failed on record {index}: {type(exc).__name__}: {exc}") from None
    for name in fs.fields:
        value = lookup(record, name)
        if value not in (None, ""):
            return value
    return None


def lookup(record: dict, path: str) -> Any:
    """`record[path]`, or the value at a dotted path into nested objects and lists (`other.source`, `code.0`,
    `output.choices.1.text`); None where the path leads nowhere."""
    if path in record:
        return record[path]
    value: Any = record
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.lstrip("-").isdigit() and -len(value) <= int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def narrow(fs: FieldSpec, value: str) -> str | None:
    """The field's value narrowed by its extractor and pattern: GSM8K's `#### 72` gives `72`; None when they find nothing."""
    result: str | None = value
    if fs.extract:
        result, _ = extract(value, fs.extract)
    if fs.pattern and result is not None:
        match = re.search(fs.pattern, result)
        result = (match.group(1) if match.groups() else match.group(0)) if match else None
    return result


def _samples_hash(samples: list[Sample]) -> str:
    """A content hash of (id, question, gold): two runs on the same problems share it."""
    digest = hashlib.sha256()
    for s in samples:
        digest.update(json.dumps([s.id, s.question, s.gold], ensure_ascii=False).encode())
    return digest.hexdigest()
