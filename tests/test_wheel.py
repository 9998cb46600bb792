"""effbench installed from its wheel, apart from the source tree, run from an empty folder: the shipped tables,
leaderboards and tasks travel with it (`effbench demo` from the wheel is `tests/test_tiny_reasoner.py`'s fixture)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import run_cli


def from_wheel(site: Path, *words: str, cwd: Path) -> subprocess.CompletedProcess:
    return run_cli(*words, env={"PYTHONPATH": str(site)}, cwd=cwd, timeout=300)


def test_the_wheel_holds_what_a_user_names(installed_wheel, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    where = subprocess.run(
        [sys.executable, "-c", "import effbench; print(effbench.__file__)"],
        capture_output=True, text=True, env={"PYTHONPATH": str(installed_wheel), "PATH": "/usr/bin:/bin"}, cwd=empty,
    )  # fmt: skip
    assert where.stdout.startswith(str(installed_wheel)), where.stdout + where.stderr  # not the source tree
    boards = from_wheel(installed_wheel, "leaderboards", cwd=empty)
    assert boards.returncode == 0, boards.stderr
    assert "o1_pruner" in boards.stdout and "54 of 54 agree" in boards.stdout and "ockbench" in boards.stdout
    tasks = from_wheel(installed_wheel, "tasks", cwd=empty)
    assert tasks.returncode == 0 and "olympiadbench" in tasks.stdout and "hmmt_feb25" in tasks.stdout, tasks.stderr
    report = from_wheel(installed_wheel, "report", "o1_pruner", f"out={tmp_path / 'site'}", cwd=empty)
    assert report.returncode == 0, report.stderr
    assert "O1-Pruner" in (tmp_path / "site" / "index.html").read_text()
    prices = from_wheel(installed_wheel, "prices", cwd=empty)
    assert prices.returncode == 0 and "matharena" in prices.stdout, prices.stderr
    assert list(empty.iterdir()) == []  # nothing written where it was run, beyond what was asked
