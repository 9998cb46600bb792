"""Shared fixtures. Tests read the canonical test sets from EFFBENCH_DATA_DIR (CI: ../shared/datasets)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def pytest_configure(config):
    if not os.environ.get("EFFBENCH_DATA_DIR"):
        default = REPO.parent / "shared" / "datasets"
        if not default.is_dir():
            raise pytest.UsageError("set EFFBENCH_DATA_DIR to the folder of canonical test sets (../shared/datasets)")
        os.environ["EFFBENCH_DATA_DIR"] = str(default)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return Path(os.environ["EFFBENCH_DATA_DIR"])


@pytest.fixture(scope="session")
def installed_wheel(tmp_path_factory) -> Path:
    """effbench's wheel, built from a copy of the tracked (and new, not ignored) files and installed, without its
    dependencies, into a folder of its own: a `PYTHONPATH` entry that shadows the source tree."""
    root = REPO
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"], capture_output=True, text=True, cwd=root, check=True
    ).stdout.splitlines()
    work = tmp_path_factory.mktemp("wheel")
    for name in files:
        if (root / name).is_file():
            (work / "source" / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / name, work / "source" / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    built = subprocess.run([*pip, "wheel", "-v", "--no-deps", "--no-build-isolation", "-w", str(work / "dist"),
                            str(work / "source")], capture_output=True, text=True, timeout=600)  # fmt: skip
    assert built.returncode == 0, built.stderr[-2000:]
    said = built.stdout + built.stderr
    assert "Warning" not in said and "deprecated" not in said, said[-3000:]  # the build backend has nothing to say of ours
    (wheel,) = (work / "dist").glob("effbench-*.whl")
    installed = subprocess.run([*pip, "install", "--no-deps", "--no-index", "--target", str(work / "site"), str(wheel)],
                               capture_output=True, text=True, timeout=600)  # fmt: skip
    assert installed.returncode == 0, installed.stderr[-2000:]
    return work / "site"


def run_cli(*words: str, env: dict | None = None, timeout: float = 600, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The real `effbench` command in a child process, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "effbench", *words],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )


def write_script(path: Path, entries: dict) -> Path:
    path.write_text(json.dumps(entries), encoding="utf-8")
    return path


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line]  # not splitlines: U+2028


SERVING = ("timing", "cached_tokens")  # how the serving went (seconds, cache hits): differs between equal runs


def as_generated(line: dict) -> dict:
    """A stored sample without what only measured its serving: what two equal runs store alike."""
    return {**line, "completions": [{k: v for k, v in c.items() if k not in SERVING} for c in line["completions"]]}


def without_latency(results: dict) -> dict:
    """results.json without its latency figures (how the serving went), each task's metrics otherwise whole."""
    tasks = {name: {**task, "metrics": {k: v for k, v in task["metrics"].items() if k != "latency"}}
             for name, task in results["tasks"].items()}  # fmt: skip
    return {**results, "tasks": tasks}


def assert_one_line_error(result: subprocess.CompletedProcess, message: str) -> None:
    """The command failed on bad input as it should: exit 2, one line on stderr that says what, no traceback."""
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
