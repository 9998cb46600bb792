"""Every process effbench starts dies with the process that started it, from the child's side (Linux).

A child asks the kernel for SIGKILL when its parent dies (the parent-death signal), so that nothing effbench
started outlives it, whatever kills effbench and its watchdog together (`kill -9`, `pkill -9 -f effbench`, an
OOM kill): vLLM's engine core and its workers, the grading workers, the report's page writers. Children made by
`fork` are tied by a fork hook that each effbench process installs; children made by `spawn` import effbench
before they run anything, and tie themselves then. A child whose parent is already gone when it would tie
itself exits at once. Children ignore Ctrl-C, which a terminal sends to the whole process group: effbench ends
them, so one line is printed, not a traceback per process. Elsewhere than Linux nothing changes (the watchdog still
does its work).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1
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
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the parent ends its children


def install() -> None:
    """Tie this process to its parent if effbench's multiprocessing spawned it, and every child it forks to it."""
    if not sys.platform.startswith("linux"):
        return
    if "--multiprocessing-fork" in sys.argv:  # a spawned child: its parent is the process that started it
        _tie_to(os.getppid())
    os.register_at_fork(
        before=lambda: _forking_from.__setitem__(0, os.getpid()), after_in_child=lambda: _tie_to(_forking_from[0])
    )
