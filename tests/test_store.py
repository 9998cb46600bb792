import json

import pytest

from effbench.errors import StoreError
from effbench.store.folder import RunStore
from effbench.types import Completion, Grade, Sample, Scored


def scored(i: int) -> dict:
    return Scored(Sample(str(i), f"q{i}", "1"), f"prompt {i}", (Completion("t", 1, "stop", (5,)),), (Grade("wrong"),)).to_json()


def test_round_trip_and_resume_after_a_cut_line(tmp_path):
    store = RunStore.open(tmp_path, "run")
    with store.appender("t") as out:
        for i in range(3):
            out.append(scored(i))
    path = store.samples_file("t")
    path.write_bytes(path.read_bytes() + b'{"id": "3", "quest')  # killed mid-write
    assert store.completed_ids("t") == {"0", "1", "2"}
    with store.appender("t") as out:
        out.append(scored(3))
    assert [s.sample.id for s in store.read_samples("t")] == ["0", "1", "2", "3"]
    assert all(json.loads(line) for line in path.read_text().splitlines())


def test_corrupt_and_repeated_lines_are_errors_with_line_numbers(tmp_path):
    store = RunStore.open(tmp_path, "run")
    with store.appender("t") as out:
        out.append(scored(0))
        out.append(scored(1))
    path = store.samples_file("t")
    lines = path.read_text().splitlines()
    path.write_text(lines[0] + "\n" + "{not json}\n" + lines[1] + "\n")
    with pytest.raises(StoreError, match=r"line 2 is corrupt \(not valid JSON\); delete that line"):
        store.completed_ids("t")
    path.write_text(lines[0] + "\n" + lines[0] + "\n")
    with pytest.raises(StoreError, match="line 2 repeats sample '0'"):
        store.completed_ids("t")


@pytest.mark.parametrize("name", ["../x", "../../x", "a/b", ".", ".."])
def test_names_cannot_leave_the_output_folder(tmp_path, name):
    with pytest.raises(StoreError, match="would leave the output folder"):
        RunStore.open(tmp_path / "runs", name)


def test_the_watchdog_ends_what_a_killed_process_started():
    """A process tree under a watched process, one of them deaf to SIGTERM: all gone within seconds of a kill -9."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from effbench.run.watchdog import descendants, start_time

    code = (
        "import subprocess, time; from effbench.run.watchdog import watch_descendants; watch_descendants(); "
        "subprocess.Popen(['sleep', '300']); subprocess.Popen(['sh', '-c', 'trap \"\" TERM; sleep 300; :']); time.sleep(300)"
    )
    child = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    deadline = time.time() + 30
    while time.time() < deadline and len(descendants(child.pid)) < 4:  # the watchdog, sleep, sh and its sleep
        time.sleep(0.1)
    started = {pid: start_time(pid) for pid in descendants(child.pid)}
    assert len(started) >= 4
    time.sleep(1.0)  # two of the watchdog's polls: it ends what it has seen (a process younger than a poll may escape)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    deadline = time.time() + 10
    while time.time() < deadline and any(start_time(pid) == begun for pid, begun in started.items()):
        time.sleep(0.1)
    assert not [pid for pid, begun in started.items() if start_time(pid) == begun]
