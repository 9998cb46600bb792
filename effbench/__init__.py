"""effbench: accuracy and tokens spent, measured against a baseline."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("effbench")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"


def load_runs(root="runs"):
    """One row per (run, task) of every finished run under `root`, as a pandas DataFrame: for notebooks."""
    from effbench.store.runs import load_runs as load

    return load(root)
