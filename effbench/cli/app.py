"""The command group, its consoles, the keys help, and the one place errors become one line."""

from __future__ import annotations

import errno
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from pydantic import BaseModel
from rich.console import Console

from effbench import __version__
from effbench.config import keys_help
from effbench.errors import ConfigError, EffbenchError
from effbench.text import printable

stdout = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
stderr = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 160)
KeySections = Callable[[], list[tuple[str, type[BaseModel]]]]


class KeysHelp(click.Command):
    """`--help` lists every key of the command with its default, from its keys models, built only when asked
    (the eval keys import every backend's options)."""

    def __init__(self, *args: Any, keys: KeySections, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.keys = keys

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self.epilog = "\n\n".join(f"\b\n{title} (key=value):\n" + keys_help(model) for title, model in self.keys())
        super().format_epilog(ctx, formatter)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="effbench")
def cli() -> None:
    """effbench: accuracy and tokens spent by reasoning models, against a baseline."""


def paths_and_values(words: tuple[str, ...]) -> tuple[list[str], tuple[str, ...]]:
    """Split a command's words into paths and `key=value` words."""
    return [w for w in words if "=" not in w], tuple(w for w in words if "=" in w)


def write_output(path: Path, text: str, *, what: str) -> None:
    """Write a file the user named, or say in one line why it cannot be written."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"{what}={path} cannot be written ({exc.strerror or type(exc).__name__}); name a file in a folder that exists"
        ) from None


ADVICE = {
    errno.ENOSPC: "free space on its disk, then run the same command again: what was finished is kept",
    errno.EDQUOT: "free space within your disk quota, then run the same command again: what was finished is kept",
    errno.EFBIG: "it reached the limit on a file's size (ulimit -f); raise it, then run the same command again: "
    "what was finished is kept",
    errno.EACCES: "make it yours to read and write, or choose another place (out=, name=)",
    errno.EPERM: "make it yours to read and write, or choose another place (out=, name=)",
    errno.EROFS: "its file system is read-only; choose another place (out=, name=)",
    errno.EISDIR: "a folder stands where effbench keeps a file; move the folder away",
    errno.ENOTDIR: "a part of its path is a file, not a folder; choose another place (out=, name=)",
    errno.ENOENT: "a folder on its path does not exist or cannot hold files; choose another place (out=, name=)",
}


def os_error_line(exc: OSError) -> str:
    """What the OS refused, as one line: the path, its reason, and what to do."""
    path = exc.filename2 if exc.filename2 is not None else exc.filename
    reason = exc.strerror or type(exc).__name__
    advice = ADVICE.get(exc.errno or 0, "check the path, then run the same command again")
    return f"{path}: {reason}; {advice}" if path is not None else f"{reason}; {advice}"


def say_notices() -> None:
    """What effbench's modules log (a replica or a server taken out of a run, …) reaches stderr as one line each."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("effbench: %(message)s"))
    logger = logging.getLogger("effbench")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled as an interrupt: what is finished is stored, and the command ends in one line."""


def _terminate(signum, frame) -> None:
    raise Terminated


INTERRUPTED = "the samples finished so far are stored: run the same command to resume"


def main() -> None:
    from effbench.run.lifetime import tie_children
    from effbench.run.watchdog import watch_descendants

    tie_children()  # whatever this process starts (engines, workers) dies with it, however it dies
    watch_descendants()  # and a watchdog ends what escaped
    say_notices()
    signal.signal(signal.SIGTERM, _terminate)
    try:
        cli.main(standalone_mode=False)
    except EffbenchError as exc:
        stderr.print(printable(f"effbench: error: {exc}"), markup=False, soft_wrap=True)
        sys.exit(2)
    except BrokenPipeError:
        raise
    except OSError as exc:  # a file or folder the OS refused: full disk, read-only, a folder for a file, …
        stderr.print(printable(f"effbench: error: {os_error_line(exc)}"), markup=False, soft_wrap=True)
        sys.exit(2)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt) as exc:  # click turns Ctrl-C into Abort
        terminated = isinstance(exc, Terminated) or isinstance(exc.__cause__, Terminated)
        stderr.print(f"effbench: {'terminated' if terminated else 'interrupted'}; {INTERRUPTED}")
        sys.exit(143 if terminated else 130)
