"""Whatever effbench starts dies with it, however effbench dies (`kill -9` included).

vLLM's engine core and workers, the grading workers and the report's page writers are processes of
their own; a parent killed with SIGKILL cannot stop them, and on a GPU they would hold its memory.
`watch_descendants()` starts a small watchdog in a session of its own. While effbench lives, the
watchdog notes its descendants every half second; once effbench is gone, it ends the ones it saw
(SIGTERM, then SIGKILL after a grace period) and exits. Where there is no /proc it does nothing.
A process started less than a poll before effbench was killed may not have been seen, and escapes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

PROC = Path("/proc")
POLL_S = 0.5
GRACE_S = 3.0


def watch_descendants() -> None:
    """Start the watchdog of this process (one per effbench command)."""
    me = os.getpid()
    started = start_time(me)
    if started is None:
        return
    subprocess.Popen(
        [sys.executable, "-m", "effbench.run.watchdog", str(me), str(started)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
    )


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (with the pid, it names one process); None once it has
    ended (a zombie waiting for its parent to collect it has ended)."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return None if fields[0] in ("Z", "X") else int(fields[19])


def parents() -> dict[int, int]:
    """pid -> parent pid of every process."""
    found = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            found[int(entry.name)] = int(stat[stat.rindex(")") + 2 :].split()[1])
    return found


def descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid, parent in parents().items():
        children.setdefault(parent, []).append(pid)
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def watch(pid: int, started: int) -> None:
    """Note `pid`'s descendants while it lives; then end them."""
    seen: dict[int, int] = {}
    me = os.getpid()
    while start_time(pid) == started:
        for child in descendants(pid) - {me}:
            if child not in seen and (child_start := start_time(child)) is not None:
                seen[child] = child_start
        time.sleep(POLL_S)
    end(seen)


def end(processes: dict[int, int]) -> None:
    """SIGTERM each process that is still the one that was seen, then SIGKILL what is left after the grace period."""
    for sig, wait in ((signal.SIGTERM, GRACE_S), (signal.SIGKILL, 0.0)):
        alive = {pid: start for pid, start in processes.items() if start_time(pid) == start}
        for pid in alive:
            with contextlib.suppress(OSError):  # ended in the meantime
                os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while alive and time.monotonic() < deadline:
            time.sleep(0.1)
            alive = {pid: start for pid, start in alive.items() if start_time(pid) == start}
        processes = alive


if __name__ == "__main__":
    watch(int(sys.argv[1]), int(sys.argv[2]))
