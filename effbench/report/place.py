"""A folder written whole or not at all: built under a temporary name beside its target, then renamed into place.

A report killed halfway leaves its target as it was (the old report, or nothing) and a hidden
`.<name>.<random>.partial` folder beside it, which the next report to that target removes. An old
report is replaced by one exchange of names where the OS has one (Linux's renameat2), else by two
renames with the old report moved aside between them.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from effbench.errors import ConfigError

RENAME_EXCHANGE, AT_FDCWD = 2, -100


@contextlib.contextmanager
def built_in_place(out: Path, *, ours: Callable[[str], bool], what: str = "out") -> Iterator[Path]:
    """Yields the temporary folder to write into; when the block ends, it becomes `out`. An existing `out` is replaced
    only when everything in it is a name `ours` accepts: nothing else of the user's is ever removed."""
    out = Path(out).resolve()
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{what}={out} is a file; give a folder")
    foreign = sorted(p.name for p in out.iterdir() if not ours(p.name)) if out.is_dir() else []
    if foreign:
        raise ConfigError(
            f"{what}={out} holds {foreign[0]!r}, which a report does not write; give a new folder, or an old report's"
        )
    for stale in out.parent.glob(f".{out.name}.*.partial") if out.parent.is_dir() else ():
        shutil.rmtree(stale, ignore_errors=True)  # a report killed before it was renamed into place
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".partial"))
        building.chmod(0o755)
    except (FileExistsError, NotADirectoryError):
        raise ConfigError(f"{what}={out} is inside a file; give a folder") from None
    except OSError as exc:
        raise ConfigError(f"{what}={out} cannot be written ({exc.strerror}); give a folder in a place you may write") from None
    try:
        yield building
        _into_place(building, out)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise


def _into_place(building: Path, out: Path) -> None:
    if not out.exists():
        os.rename(building, out)
    elif _exchange(building, out):  # readers see the old folder or the new one, never neither
        shutil.rmtree(building)  # which now holds the old one
    else:
        old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".partial"))
        os.rename(out, old / out.name)
        os.rename(building, out)
        shutil.rmtree(old)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two names at once; False where the OS or the file system cannot."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    return renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) == 0
