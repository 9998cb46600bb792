"""One writer per run folder: an advisory lock held for the command's life, released by the kernel when it dies.

A second effbench on the same folder is refused at once, with one line naming the process that holds
it. The folder itself is locked too, so removing `.effbench.lock` (it looks stale: a killed writer leaves it)
from under a running writer lets no second one in. Holding the lock, a writer may also clear what a killed
writer left: temporary files of an atomic write that never got renamed.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sys
from pathlib import Path

from effbench.errors import StoreError

LOCK_FILE = ".effbench.lock"


class RunLock:
    """`with RunLock(folder):` holds the folder's lock (`.effbench.lock`, removed on exit); a folder it created and
    stored no line in (a command that failed before its first sample) is removed too."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._fd: int | None = None
        self._folder_fd: int | None = None
        self._created = False

    def __enter__(self) -> RunLock:
        if self.folder.exists() and not self.folder.is_dir():
            raise StoreError(f"{self.folder} is a file, not a run folder; choose another name= or out=")
        self._created = not self.folder.exists()
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise StoreError(f"{self.folder} cannot be a run folder: a part of its path is a file; choose another out=") from None
        while self._fd is None:
            self._fd = self._acquire(self.folder / LOCK_FILE)
        self._lock_folder()
        os.ftruncate(self._fd, 0)
        os.write(self._fd, f"pid {os.getpid()}: effbench {' '.join(sys.argv[1:])}"[:500].encode("utf-8", "replace"))
        remove_stale_temporaries(self.folder)
        return self

    def _acquire(self, path: Path) -> int | None:
        """The locked descriptor; None when the file was replaced while we waited for it (then try again)."""
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 512).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            raise StoreError(
                f"{self.folder} is in use by another effbench ({holder}); wait for it to finish, or choose another name="
            ) from None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False  # its holder finished and removed it between our open and our lock
        if not same:
            os.close(fd)
            return None
        return fd

    def _lock_folder(self) -> None:
        """The folder's own lock, which no removed file can release; refused where a writer holds it."""
        fd = os.open(self.folder, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            assert self._fd is not None
            os.close(self._fd)
            self._fd = None
            raise StoreError(
                f"{self.folder} is in use by another effbench, whose {LOCK_FILE} was removed; wait for it to finish, "
                "or choose another name="
            ) from None
        self._folder_fd = fd

    def __exit__(self, *exc) -> None:
        if self._fd is None:
            return
        (self.folder / LOCK_FILE).unlink(missing_ok=True)  # before the lock goes: a waiting opener sees it replaced
        if self._created and holds_nothing(self.folder):
            shutil.rmtree(self.folder)  # nothing was stored: the folder goes, as if the command never ran
        os.close(self._fd)
        self._fd = None
        if self._folder_fd is not None:
            os.close(self._folder_fd)
            self._folder_fd = None


def holds_nothing(folder: Path) -> bool:
    """Whether a run folder holds no more than a record and empty files: no sample, no log, no other run."""
    for path in folder.rglob("*"):
        empty_lines = path.suffix == ".jsonl" and path.stat().st_size == 0
        if not (path.is_dir() or empty_lines or (path.parent == folder and path.name in ("run.json", LOCK_FILE))):
            return False
    return True


def remove_stale_temporaries(folder: Path) -> None:
    """The `.<name>.*.tmp` files of atomic writes that a killed writer never renamed."""
    for path in folder.glob(".*.tmp"):
        path.unlink(missing_ok=True)
