"""A run folder says what it holds: no second writer, no foreign line, no narrower rerun rewriting its record."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import assert_one_line_error, read_lines, run_cli, write_script

RIGHT = "<think> 16 - 3 - 4 = 9 and 9 * 2 = 18 </think> The answer is \\boxed{18}."


@pytest.fixture
def script(tmp_path) -> Path:
    return write_script(tmp_path / "script.json", {"*": RIGHT})


def eval_words(tmp_path: Path, script: Path, *extra: str) -> tuple[str, ...]:
    words = {"model": "m", "tasks": "gsm8k", "backend": "scripted", "script": str(script), "out": str(tmp_path / "runs")}
    words.update({"limit": "4", "name": "kept"})
    words.update(word.split("=", 1) for word in extra)
    return ("eval", *(f"{k}={v}" for k, v in words.items()))


def test_removing_the_lock_file_lets_no_second_writer_in(tmp_path, script):
    words = eval_words(tmp_path, script, "limit=12", "delay=0.3")
    first = subprocess.Popen(
        [sys.executable, "-m", "effbench", *words], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    folder = tmp_path / "runs" / "kept"
    deadline = time.time() + 60
    while time.time() < deadline and not (folder / "gsm8k.samples.jsonl").exists():
        time.sleep(0.05)
    (folder / ".effbench.lock").unlink()  # it looks stale: a killed writer leaves it behind
    assert_one_line_error(run_cli(*words), "whose .effbench.lock was removed")
    assert first.wait(timeout=120) == 0, first.stderr.read()
    ids = [line["id"] for line in read_lines(folder / "gsm8k.samples.jsonl")]
    assert sorted(ids, key=int) == [str(i) for i in range(12)]  # each sample once


def test_a_narrower_rerun_reports_its_subset_and_leaves_the_run_s_record(tmp_path, script):
    assert run_cli(*eval_words(tmp_path, script, "tasks=gsm8k,math500")).returncode == 0
    folder = tmp_path / "runs" / "kept"
    results, record = (folder / "results.json").read_bytes(), json.loads((folder / "run.json").read_text())
    for narrower in ("tasks=gsm8k", "limit=2"):
        rerun = run_cli(*eval_words(tmp_path, script, "tasks=gsm8k,math500", narrower))
        assert rerun.returncode == 0, rerun.stderr
        assert "results.json still describes them all" in rerun.stderr
        assert (folder / "results.json").read_bytes() == results  # every stored sample, as before
        now = json.loads((folder / "run.json").read_text())
        assert now["config"] == record["config"] and len(now["invocations"]) > len(record["invocations"])
    assert run_cli("compare", str(folder), str(folder)).returncode == 0


def test_a_run_keeps_its_backend_and_is_never_replayed_onto_itself(tmp_path, script):
    assert run_cli(*eval_words(tmp_path, script)).returncode == 0
    assert run_cli(*eval_words(tmp_path, script, "name=source")).returncode == 0
    folder = tmp_path / "runs" / "kept"
    before = (folder / "run.json").read_bytes(), (folder / "results.json").read_bytes()
    replay = ("eval", "model=m", "tasks=gsm8k", "limit=4", f"out={tmp_path / 'runs'}", "name=kept", "backend=replay")
    assert_one_line_error(run_cli(*replay, f"replay_from={folder}"), "cannot be replayed onto itself")
    assert_one_line_error(run_cli(*replay, f"replay_from={folder.parent / 'source'}"), "was made by backend=scripted")
    assert ((folder / "run.json").read_bytes(), (folder / "results.json").read_bytes()) == before


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({"id": "no-such-id", "question": "q"}, "holds an id that gsm8k does not have (sample 'no-such-id')"),
        ({"id": "1", "question": "What is 2 + 2?"}, "holds a question that gsm8k does not have (sample '1')"),
    ],
)
def test_a_foreign_line_stops_the_resume_with_its_line_number(tmp_path, script, line, message):
    assert run_cli(*eval_words(tmp_path, script, "limit=2")).returncode == 0
    samples = tmp_path / "runs" / "kept" / "gsm8k.samples.jsonl"
    stored = read_lines(samples)
    with samples.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({**stored[0], **line}) + "\n")
    result = run_cli(*eval_words(tmp_path, script, "limit=4"))
    assert_one_line_error(result, f"line 3 {message}")
