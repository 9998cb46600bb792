"""Every process the effbench command starts dies with the process that started it, from the child's side (Linux).

A child asks the kernel for SIGKILL when its parent dies (the parent-death signal), so that nothing effbench
started outlives it, whatever kills effbench and its watchdog together (`kill -9`, `pkill -9 -f effbench`, an
OOM kill): vLLM's engine core and its workers, the grading workers, the report's page writers. Children made by
`fork` are tied by a fork hook that the command installs; children made by `spawn` import effbench before they run
anything, and tie themselves then (the command marks its environment, which they inherit). A child whose parent is
already gone when it would tie itself exits at once. Children ignore Ctrl-C, which a terminal sends to the whole
process group: effbench ends them, so one line is printed, not a traceback per process.

Only the command does this: a program that imports effbench as a library keeps its own processes as they are.
Elsewhere than Linux nothing changes (the watchdog still does its work).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1
MARK = "EFFBENCH_TIE_CHILDREN"
_forking_from = [0]  # the pid of the process about to fork: the parent its child must outlive no longer


def _tie_to(parent: int) -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            return
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the signal was asked for
        os._exit(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _hook_forks() -> None:
    os.register_at_fork(
        before=lambda: _forking_from.__setitem__(0, os.getpid()), after_in_child=lambda: _tie_to(_forking_from[0])
    )


def tie_children() -> None:
    """In the command's process: every child it forks or spawns from now on is tied to it."""
    if sys.platform.startswith("linux"):
        os.environ[MARK] = "1"
        _hook_forks()


def tie_if_spawned() -> None:
    """In a process the command spawned (as effbench is imported): tie it to its parent, and its own forks to it."""
    if sys.platform.startswith("linux") and os.environ.get(MARK) == "1" and "--multiprocessing-fork" in sys.argv:
        _tie_to(os.getppid())
        _hook_forks()
