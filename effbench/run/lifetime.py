"""Every process the effbench command starts dies with the process that started it, from the child's side (Linux).

A child asks the kernel for SIGKILL when its parent dies (the parent-death signal), so that nothing effbench
started outlives it, whatever kills effbench and its watchdog together (`kill -9`, `pkill -9 -f effbench`, an
OOM kill): vLLM's engine core and its workers, the grading workers, the report's page writers.
- Children made by `fork` are tied by a fork hook, which they inherit for their own forks.
- Children made by `spawn` (vLLM's engine core and workers, the grading workers), which import nothing of the
  parent's, read `spawned/sitecustomize.py` as Python starts: the command puts its folder on their PYTHONPATH and
  marks their environment, and they tie themselves before anything else runs.
A child whose parent is already gone when it would tie itself exits at once. Children ignore Ctrl-C, which a terminal
sends to the whole process group: effbench ends them, so one line is printed, not a traceback per process.

Only the command does this: a program that imports effbench as a library keeps its own processes as they are.
Elsewhere than Linux nothing changes (the watchdog still does its work).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from effbench.run.spawned.sitecustomize import tie_forks

MARK = "EFFBENCH_TIE_CHILDREN"
SPAWNED = Path(__file__).parent / "spawned"


def tie_children() -> None:
    """In the command's process: every child it forks or spawns from now on is tied to it."""
    if not sys.platform.startswith("linux"):
        return
    os.environ[MARK] = "1"
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SPAWNED), os.environ.get("PYTHONPATH")]))
    tie_forks()
