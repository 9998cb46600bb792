"""Ctrl-C and SIGTERM end a command in one line with every finished sample kept, and the same command resumes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import read_lines, run_cli, write_script

RIGHT = "<think> 16 - 3 - 4 = 9 and 9 * 2 = 18 </think> The answer is \\boxed{18}."


@pytest.mark.parametrize(("sent", "code", "word"), [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")])
def test_a_signal_to_the_process_group_is_one_line_and_the_run_resumes(tmp_path, sent, code, word):
    script = write_script(tmp_path / "script.json", {"*": RIGHT})
    words = ("eval", "model=m", "tasks=gsm8k", "backend=scripted", f"script={script}", f"out={tmp_path}", "limit=30")
    child = subprocess.Popen(
        [sys.executable, "-m", "effbench", *words, "delay=0.2", "name=cut"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    samples = tmp_path / "cut" / "gsm8k.samples.jsonl"
    deadline = time.time() + 60
    while time.time() < deadline and (not samples.exists() or samples.read_bytes().count(b"\n") < 3):
        time.sleep(0.05)
    os.killpg(child.pid, sent)  # what Ctrl-C does: every process of the group, the grading workers too
    _, err = child.communicate(timeout=60)
    assert child.returncode == code, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert f"effbench: {word}; the samples finished so far are stored" in err
    kept = len(read_lines(samples))
    assert 3 <= kept < 30
    resumed = run_cli(*words, "name=cut")
    assert resumed.returncode == 0, resumed.stderr
    assert sorted(int(line["id"]) for line in read_lines(samples)) == list(range(30))  # each once
