"""The run folder: atomic JSON files, append-only samples, resume.

    runs/<name>/run.json              resolved config, versions, fingerprints, timings
    runs/<name>/<task>.samples.jsonl  one complete line per sample, appended as each finishes
    runs/<name>/results.json          metrics, schema-versioned

A line is written whole and flushed; a run killed mid-write leaves at most one unterminated
last line, which readers ignore and the next append cuts off.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from effbench import structured
from effbench.config import RUN_NAME
from effbench.errors import StoreError
from effbench.text import without_surrogates
from effbench.types import Scored


def write_json_atomic(path: Path, data: Any) -> None:
    """Write to a temporary file beside `path`, then rename: readers see the old or the new file, whole. An OSError
    (a full disk, a read-only folder) names `path`."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise naming(exc, path) from None
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(without_surrogates(data), handle, indent=2, ensure_ascii=False, default=str)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise naming(exc, path) from None
        raise


def naming(exc: OSError, path: Path) -> OSError:
    """The same error, naming `path` (a write to an open file, or to a temporary file beside it, names none)."""
    return exc if exc.filename == str(path) and exc.filename2 is None else type(exc)(exc.errno, exc.strerror, str(path))


def read_json(path: Path) -> Any:
    try:
        return structured.read_json(path)
    except FileNotFoundError:
        raise StoreError(f"{path} does not exist; is this a run folder?") from None
    except IsADirectoryError:
        raise StoreError(f"{path} is a folder, not a file of a run") from None
    except UnicodeDecodeError:
        raise StoreError(f"{path} is not UTF-8 text; it is not a file effbench wrote") from None
    except json.JSONDecodeError as exc:
        raise StoreError(f"{path} is not valid JSON ({exc.msg}, line {exc.lineno})") from None


def read_record(path: Path) -> dict[str, Any]:
    """A JSON object written by effbench (run.json, results.json, sweep.json); anything else is a one-line error."""
    data = read_json(path)
    if not isinstance(data, dict):
        raise StoreError(
            f"{path} holds a JSON {type(data).__name__}, not the object effbench writes; "
            "it is not an effbench run file (restore it, or delete the run folder)"
        )
    return data


class RunStore:
    def __init__(self, folder: Path):
        self.folder = folder

    @classmethod
    def open(cls, out: Path, name: str) -> RunStore:
        """The run folder `out/name`; `name` must be one plain path part that stays inside `out`."""
        folder = (out / name).resolve()
        if not RUN_NAME.match(name) or folder.parent != out.resolve():
            raise StoreError(f"run name {name!r} would leave the output folder {out}; use a plain name")
        return cls(folder)

    @property
    def run_file(self) -> Path:
        return self.folder / "run.json"

    @property
    def results_file(self) -> Path:
        return self.folder / "results.json"

    def samples_file(self, task: str) -> Path:
        return self.folder / f"{task}.samples.jsonl"

    def read_samples(self, task: str) -> Iterator[Scored]:
        """Every complete record, in file order; an unterminated last line (a write cut short) is skipped."""
        return self._read(task, Scored.from_json, lambda scored: scored.sample.id)

    def read_outcomes(self, task: str) -> Iterator[Outcomes]:
        """What statistics need of each record, read without building its texts: (id, correct, tokens) per completion."""
        return self._read(task, _outcomes, lambda outcomes: outcomes[0])

    def _read(self, task: str, parse: Callable[[dict[str, Any]], T], key: Callable[[T], str]) -> Iterator[T]:
        path = self.samples_file(task)
        seen: set[str] = set()
        for number, line in whole_lines(path):
            record = _parse_line(path, number, line, parse)
            if key(record) in seen:
                raise StoreError(f"{path} line {number} repeats sample {key(record)!r}; delete one of the two lines")
            seen.add(key(record))
            yield record

    def has_samples(self) -> bool:
        return self.folder.is_dir() and any(self.folder.glob("*.samples.jsonl"))

    def completed_ids(self, task: str) -> set[str]:
        return {scored.sample.id for scored in self.read_samples(task)}

    def appender(self, task: str) -> SampleAppender:
        return SampleAppender(self.samples_file(task))


Outcomes = tuple[str, tuple[bool, ...], tuple[int | None, ...]]
T = TypeVar("T")


def whole_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """(line number, line) of each whole line of an append-only file; none where it does not exist. An unterminated
    last line (a write cut short by a kill) is left out: the next appender trims it."""
    if not path.exists():
        return
    with path.open("rb") as handle:
        for number, line in enumerate(handle, 1):
            if not line.endswith(b"\n"):
                return
            yield number, line


def _outcomes(data: dict[str, Any]) -> Outcomes:
    completions = data["completions"]
    return (
        str(data["id"]),
        tuple(c["grade"]["verdict"] == "correct" for c in completions),
        tuple(c["tokens"] for c in completions),
    )


def _parse_line(path: Path, number: int, line: bytes, parse: Callable[[dict[str, Any]], T]) -> T:
    try:
        return parse(structured.load_json(line))
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, AttributeError) as exc:
        reason = "not valid JSON" if isinstance(exc, (json.JSONDecodeError, UnicodeDecodeError)) else f"missing {exc}"
        raise StoreError(
            f"{path} line {number} is corrupt ({reason}); delete that line and run the same command again "
            "to regenerate that sample"
        ) from None


class SampleAppender:
    """Appends whole lines; on opening, cuts off an unterminated last line left by a killed run."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._trim_partial_line(path)
        self._handle = path.open("ab", buffering=0)  # each line goes to the file as it is appended, or not at all

    @staticmethod
    def _trim_partial_line(path: Path, block: int = 1 << 16) -> None:
        if not path.exists():
            return
        with path.open("r+b") as handle:
            end = handle.seek(0, os.SEEK_END)
            position = end
            while position > 0:
                start = max(0, position - block)
                handle.seek(start)
                chunk = handle.read(position - start)
                newline = chunk.rfind(b"\n")
                if newline != -1:
                    cut = start + newline + 1
                    break
                position = start
            else:
                cut = 0
            if cut != end:
                handle.truncate(cut)

    def append(self, record: dict[str, Any]) -> None:
        """One whole line; a write the disk refuses (full, a size limit) is cut off, and the OSError names the file."""
        line = memoryview((json.dumps(without_surrogates(record), ensure_ascii=False) + "\n").encode("utf-8"))
        start = self._handle.seek(0, os.SEEK_END)
        try:
            while line:
                line = line[self._handle.write(line) or 0 :]
        except OSError as exc:
            with contextlib.suppress(OSError):
                self._handle.truncate(start)
            raise naming(exc, self.path) from None

    def close(self) -> None:
        try:
            os.fsync(self._handle.fileno())
        except OSError as exc:
            raise naming(exc, self.path) from None
        finally:
            self._handle.close()

    def __enter__(self) -> SampleAppender:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
