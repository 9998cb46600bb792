"""`effbench demo`: effbench's tiny reasoning model on the arith task, in its three chain styles, through real vLLM.

One model (`effbench/tiny_reasoner`, trained by scripts/train_tiny_reasoner.py) writes explicit,
composed or implicit chains as its system message asks. The demo evaluates the three styles with one
engine, compares the shorter two with the explicit one (accuracy with intervals, tokens, compression,
AES) and writes the report with its Pareto plot: shorter chains cost accuracy on harder problems,
measured exactly as a real model would be.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from effbench.analysis.compare import Comparison, compare_runs
from effbench.analysis.leaderboard import Entry, Leaderboard
from effbench.backends import backend_module
from effbench.config import EvalConfig
from effbench.report.gather import gather
from effbench.report.site import write_site
from effbench.run.evaluate import Outcome, Progress, evaluate
from effbench.run.sweep import LazyBackend
from effbench.store.runs import open_run
from effbench.tasks.arith import STYLES, write_test_set

TINY_REASONER = Path(__file__).parent / "tiny_reasoner"
ARITH_TASK = Path(__file__).parent / "arith_task.yaml"


def cache_dir() -> Path:
    root = os.environ.get("EFFBENCH_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "effbench"
    )
    return Path(root)


def demo_defaults() -> dict[str, Any]:
    """The eval keys of the demo (any can be given on the command line); its test set is written first."""
    data = cache_dir() / "data"
    write_test_set(data)
    return {"model": str(TINY_REASONER), "tasks": str(ARITH_TASK), "data_dir": str(data), "name": "arith",
            "enforce_eager": "true", "dtype": "float32"}  # fmt: skip


@dataclass(frozen=True)
class DemoOutcome:
    runs: dict[str, Outcome]  # by style
    comparison: Comparison  # composed and implicit against explicit
    report: Path


def run_demo(
    config: EvalConfig, options: BaseModel, progress: Progress | None = None, *, report: Path | None = None
) -> DemoOutcome:
    """The three styles as three runs (`<name>-explicit`, …) made with one engine, their comparison and report."""
    styled = {style: config.model_copy(update={"system": style, "name": f"{config.run_name}-{style}"}) for style in STYLES}
    first = styled[STYLES[0]]  # its folder keeps the engine's start-up output (engine.log)
    engine = LazyBackend(lambda: backend_module(config.backend).create(first, options))  # started only if a run needs it
    runs = {}
    try:
        for style in STYLES:
            runs[style] = evaluate(styled[style], options, progress=progress, backend=engine)
    finally:
        engine.close()
    comparison = compare_runs(open_run(runs["explicit"].folder), [open_run(runs[s].folder) for s in STYLES[1:]])
    board = Leaderboard(
        title="effbench demo: one tiny model, three chain lengths",
        tasks=[spec_name(runs)],
        entries=[
            Entry(
                name=style,
                model="effbench tiny reasoner",
                method=f"{style} chains",
                run=str(runs[style].folder),
                baseline=None if style == "explicit" else "explicit",
            )
            for style in STYLES
        ],
    )
    index = write_site(gather(board), report or Path("reports") / config.run_name)
    return DemoOutcome(runs, comparison, index)


def spec_name(runs: dict[str, Outcome]) -> str:
    return next(iter(runs["explicit"].results.tasks))
