"""The records of a file of generations: JSON Lines, a JSON array, or Parquet, each with where it came from."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from effbench.errors import DataError
from effbench.structured import load_json


@dataclass(frozen=True)
class Record:
    where: str  # "FILE line 3" / "FILE row 3", for every message about it
    data: dict[str, Any]


def read_records(path: Path, problems: list[str]) -> list[Record]:
    """Every object of the file; a line that is not a JSON object is listed in `problems`, not read."""
    if not path.is_file():
        raise DataError(f"{path} is not a file; give a JSON Lines, JSON or Parquet file of generations")
    if path.suffix == ".parquet":
        return list(_parquet(path))
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path} cannot be read ({type(exc).__name__}); give a UTF-8 JSON Lines, JSON or Parquet file") from None
    if text.lstrip().startswith("["):
        return _array(path, text, problems)
    records = []
    for number, line in enumerate(text.split("\n"), 1):  # lines end at \n only: a text may hold U+2028 unescaped
        if not line.strip():
            continue
        where = f"{path.name} line {number}"
        try:
            value = load_json(line)
        except json.JSONDecodeError:
            problems.append(f"{where}: not valid JSON")
            continue
        if not isinstance(value, dict):
            problems.append(f"{where}: not a JSON object")
            continue
        records.append(Record(where, value))
    return records


def _array(path: Path, text: str, problems: list[str]) -> list[Record]:
    try:
        values = load_json(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path} is not valid JSON (line {exc.lineno}: {exc.msg}); give a JSON array or JSON Lines") from None
    records = []
    for number, value in enumerate(values, 1):
        where = f"{path.name} item {number}"
        if isinstance(value, dict):
            records.append(Record(where, value))
        else:
            problems.append(f"{where}: not a JSON object")
    return records


def _parquet(path: Path) -> Iterator[Record]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:
        raise DataError(f"{path} is not a Parquet file ({str(exc).splitlines()[0][:200]})") from None
    for number, row in enumerate(table.to_pylist(), 1):
        yield Record(f"{path.name} row {number}", row)
