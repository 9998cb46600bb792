"""Engine replicas as Ray actors on the CPU, with the tiny reasoner: the same samples whatever the replica count,
a replica that dies mid-run, a `ray start` cluster, and `kill -9` of effbench leaving nothing behind."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from effbench.demo import ARITH_TASK, TINY_REASONER
from effbench.run.watchdog import descendants, start_time
from effbench.tasks.arith import write_test_set
from tests.conftest import read_lines, run_cli

pytestmark = pytest.mark.vllm
PROBLEMS = 120
COMMON = (
    f"model={TINY_REASONER}",
    f"tasks={ARITH_TASK}",
    "system=explicit",
    f"limit={PROBLEMS}",
    "n=2",
    "temperature=0.7",
    "max_num_seqs=4",  # slow enough that a kill lands mid-run
    "enforce_eager=true",
    "dtype=float32",
)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("data")
    write_test_set(folder)
    return folder


def command_lines(pids) -> dict[int, bytes]:
    found = {}
    for pid in pids:
        try:
            found[pid] = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
    return found


def replica_processes() -> list[int]:
    """Every engine replica's actor process on this machine."""
    return [pid for pid, line in command_lines(int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()).items()
            if line.startswith(b"ray::EngineReplica")]  # fmt: skip


def start_eval(*words: str, log: Path, env: dict | None = None) -> subprocess.Popen:
    with log.open("w") as handle:
        return subprocess.Popen([sys.executable, "-m", "effbench", "eval", *words], stdout=handle, stderr=subprocess.STDOUT,
                                start_new_session=True, env={**os.environ, **(env or {})})  # fmt: skip


def wait_for_samples(path: Path, count: int, child: subprocess.Popen, log: Path) -> None:
    deadline = time.time() + 300
    while not path.exists() or path.read_bytes().count(b"\n") < count:
        assert child.poll() is None and time.time() < deadline, log.read_text()[-3000:]
        time.sleep(0.1)


def samples(folder: Path) -> dict[str, list]:
    lines = read_lines(folder / "arith.samples.jsonl")
    assert len(lines) == len({line["id"] for line in lines}) == PROBLEMS  # every problem once
    return {line["id"]: [(c["text"], c["token_ids"]) for c in line["completions"]] for line in lines}


@pytest.fixture(scope="module")
def two_replicas(data, tmp_path_factory) -> tuple[Path, str]:
    """A run on two replicas of a Ray instance of effbench's own, one of which is killed mid-run: (folder, output)."""
    out = tmp_path_factory.mktemp("dp2")
    log = out / "eval.log"
    child = start_eval(*COMMON, f"data_dir={data}", f"out={out}", "name=dp2", "data_parallel_size=2", log=log)
    wait_for_samples(out / "dp2" / "arith.samples.jsonl", 10, child, log)
    mine = [pid for pid in replica_processes() if pid in descendants(child.pid)]
    assert len(mine) == 2, command_lines(descendants(child.pid))
    os.kill(mine[1], signal.SIGKILL)
    assert child.wait(timeout=600) == 0, log.read_text()[-3000:]
    return out / "dp2", log.read_text()


def test_a_replica_that_dies_mid_run_is_said_once_and_the_other_answers_its_problems(two_replicas):
    folder, output = two_replicas
    samples(folder)
    lost = re.findall(r"effbench: replica [^\n]*", output)  # Ray may print its own note of the death, unended, before it
    assert len(lost) == 1 and "go to the 1 replicas left" in lost[0], output[-2000:]
    engines = json.loads((folder / "run.json").read_text())["invocations"][-1]["generation"]["engines"]
    assert [e["engine"] for e in engines] == ["replica 0", "replica 1"]
    assert sum(e["requests"] for e in engines) == PROBLEMS and sum(e["lost"] is not None for e in engines) == 1
    assert "replica 0" in output and "tok/s over" in output  # the summary's throughput per replica


@pytest.fixture
def ray_cluster(tmp_path):
    """A cluster as a user starts it (`ray start --head`), in a process group of the test's own; its address."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log, folder = tmp_path / "ray.log", tempfile.mkdtemp(prefix="ray-")  # its sockets' paths must be short
    with log.open("w") as handle:
        head = subprocess.Popen(
            [str(Path(sys.executable).parent / "ray"), "start", "--head", "--block", "--node-ip-address=127.0.0.1",
             f"--port={port}", "--num-cpus=2", "--include-dashboard=false", f"--temp-dir={folder}",
             "--disable-usage-stats"],
            stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.time() + 120
        while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
            assert head.poll() is None and time.time() < deadline, log.read_text()[-2000:]
            time.sleep(0.5)
        yield f"127.0.0.1:{port}", head
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(head.pid, signal.SIGKILL)  # the cluster's processes are in its group; its workers end with them
        head.wait()
        shutil.rmtree(folder, ignore_errors=True)


def test_kill_9_on_a_cluster_leaves_nothing_and_the_run_resumes_on_one_engine_with_the_same_samples(
    data, two_replicas, ray_cluster, tmp_path
):
    address, head = ray_cluster
    log = tmp_path / "eval.log"
    words = (*COMMON, f"data_dir={data}", f"out={tmp_path}", "name=killed")
    child = start_eval(*words, "data_parallel_size=2", f"ray_address={address}", log=log)
    wait_for_samples(tmp_path / "killed" / "arith.samples.jsonl", 10, child, log)
    started = {pid: start_time(pid) for pid in descendants(child.pid)}
    replicas = {pid: start_time(pid) for pid in replica_processes()}
    assert len(replicas) == 2, log.read_text()[-2000:]  # the cluster's, not effbench's children
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    time.sleep(10)
    left = [pid for pid, begun in {**started, **replicas}.items() if start_time(pid) == begun]
    assert not left, command_lines(left)
    assert head.poll() is None  # the user's cluster stays up
    resumed = run_cli("eval", *words, timeout=600)  # on one engine, in this process: no Ray
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    generation = json.loads((tmp_path / "killed" / "run.json").read_text())["invocations"][-1]["generation"]
    assert [e["engine"] for e in generation["engines"]] == ["engine"] and 0 < generation["generated_samples"] <= PROBLEMS - 10
    assert samples(tmp_path / "killed") == samples(two_replicas[0])  # two replicas, then one engine: the same samples
