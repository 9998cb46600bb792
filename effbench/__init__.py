"""effbench: accuracy and tokens spent, measured against a baseline."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("effbench")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"

from effbench.api import compare, evaluate, grade, load_runs

__all__ = ["compare", "evaluate", "grade", "load_runs"]
