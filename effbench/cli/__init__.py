"""The `effbench` command: parse `key=value` words into a command's keys model, call one function, print.

Errors a user can cause end as one line and exit 2. Each command module registers its commands on
the group of `app`.
"""

from effbench.cli import analysis, interop, running  # noqa: F401  (each registers its commands)
from effbench.cli.app import cli, main

__all__ = ["cli", "main"]
