"""An engine's start-up output kept out of the terminal: its warnings and start-up lines go to the run's `engine.log`.

vLLM and the libraries under it (torch, Triton, the tokenizers) write while they load: deprecation warnings, NUMA
and Triton notices, progress bars of the weights. None of it is for the user to act on, and it came before
effbench's own table. Redirected at the level of the file descriptors, so what C++ writes is caught too.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def engine_output(log: Path | None) -> Iterator[None]:
    """Whatever is written to stdout and stderr meanwhile goes to the end of `log` (None: to the terminal, as written)."""
    if log is None:
        yield
        return
    log.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    try:
        with log.open("ab") as sink:
            os.dup2(sink.fileno(), 1)
            os.dup2(sink.fileno(), 2)
            try:
                yield
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved:
            os.close(fd)
