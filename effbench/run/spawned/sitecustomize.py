"""Read by every Python process the effbench command starts (its folder is put on their PYTHONPATH): a process that
multiprocessing spawned for it (vLLM's engine core and workers, the grading workers) asks for SIGKILL when its parent
dies, ignores Ctrl-C, and ties its own forks likewise. Any other process reads the sitecustomize this one shadows.

Self-contained on purpose: it runs before anything is imported, in processes that never import effbench.
"""

import ctypes
import importlib.machinery
import importlib.util
import os
import signal
import sys

PR_SET_PDEATHSIG = 1
forking_from = [0]


def tie_to(parent: int) -> None:
    try:
        if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            return
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the signal was asked for
        os._exit(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _next_sitecustomize() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    rest = [entry for entry in sys.path if os.path.abspath(entry or ".") != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is not None and spec.loader is not None:
        spec.loader.exec_module(importlib.util.module_from_spec(spec))


def tie_forks() -> None:
    """Every child this process forks from now on is tied to it."""
    os.register_at_fork(before=lambda: forking_from.__setitem__(0, os.getpid()), after_in_child=lambda: tie_to(forking_from[0]))


if __name__ == "sitecustomize":  # as Python starts; effbench.run.lifetime imports the functions alone
    if os.environ.get("EFFBENCH_TIE_CHILDREN") == "1" and "--multiprocessing-fork" in sys.argv:
        tie_to(os.getppid())
        tie_forks()
    _next_sitecustomize()
