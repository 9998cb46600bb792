"""effbench from Python: grade one completion (a reward function's verdict), evaluate, compare, load runs.

    import effbench
    effbench.grade("... so the answer is \\boxed{72}.", "72", task="gsm8k").correct   # True
    outcome = effbench.evaluate(model="Qwen/Qwen2.5-Math-1.5B-Instruct", tasks="gsm8k", limit=50)
    effbench.compare("runs/base", outcome.folder)                                  # a pandas DataFrame
    effbench.load_runs("runs")                                                     # a pandas DataFrame

`grade` uses the rules and hard timeout of `effbench grade`, in one pool of grading processes shared
by every thread of the program (EFFBENCH_GRADE_WORKERS of them, default min(4, cores); a stuck one is
killed after EFFBENCH_GRADE_TIMEOUT seconds, default 10). The workers
are new processes that import the main script again: call effbench under `if __name__ == "__main__":`.
"""

from __future__ import annotations

import atexit
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from effbench.types import Completion, Grade

if TYPE_CHECKING:
    import pandas

    from effbench.grading.pool import GradingPool
    from effbench.run.evaluate import Outcome

GRADE_TIMEOUT = 10.0  # seconds, as `effbench grade`'s default (EFFBENCH_GRADE_TIMEOUT sets another)
_pool: GradingPool | None = None
_pool_lock = threading.Lock()


def grade(completion: str, gold: str, *, task: str | None = None, reasoning: str | None = None, question: str = "") -> Grade:
    """The verdict on one completion: `Grade.verdict` (correct, wrong, no_answer, unfinished, timeout, error),
    `.correct`, `.answer` (what was extracted) and `.rule` (which extraction rule found it).

    `task` chooses the rules (any effbench task; default: the general math rules) and reads `gold` as the task
    reads its answer field (GSM8K's `#### 72` gives 72); `reasoning` is a reasoning format (default: the task's, think);
    `question`, where given, keeps the last-number fallback from taking a number the question states.
    A grader stuck on a pathological answer is killed after 10 s and the verdict is `timeout`."""
    from effbench.grading.scoring import score
    from effbench.run.grade_file import gold_as_task_reads_it, rules_for, task_for

    rules = rules_for(task, reasoning)
    text = Completion(text=completion, tokens=None, finish_reason="unknown", token_count_source="none")
    return score(shared_pool(), text, gold_as_task_reads_it(task_for(task), gold), rules, question=question).result()


def shared_pool() -> GradingPool:
    """The grading processes that `grade` uses, started on the first call and stopped when the program exits."""
    global _pool
    with _pool_lock:
        if _pool is None:
            from effbench.grading.pool import GradingPool

            workers = int(os.environ.get("EFFBENCH_GRADE_WORKERS") or min(4, os.cpu_count() or 1))
            _pool = GradingPool(workers, float(os.environ.get("EFFBENCH_GRADE_TIMEOUT") or GRADE_TIMEOUT))
            atexit.register(_pool.close)
        return _pool


def evaluate(**keys: Any) -> Outcome:
    """`effbench eval` as a function: the same keys (`model=`, `tasks=`, `n=`, `backend=` and its keys, …), the same
    run folder (resumed when it exists); returns the outcome: `.results` (the typed results.json), `.folder`, `.timings`."""
    from effbench.run.configure import eval_config
    from effbench.run.evaluate import evaluate as run

    return run(*eval_config(keys))


def compare(
    baseline: str | Path, *runs: str | Path, alpha: float = 1.0, beta: float = 3.0, gamma: float = 5.0
) -> pandas.DataFrame:
    """`effbench compare` as a DataFrame: a row per run and task (and each run's average), with both sides' accuracy
    and mean tokens, the paired accuracy difference with its interval and McNemar p-value, the token ratio,
    compression and AES (O1-Pruner's weights α, β, γ), and the run's thinking-efficiency figures for the task."""
    import pandas as pd

    from effbench.analysis.compare import AESWeights, compare_runs
    from effbench.report.compare_output import beside, comparison_rows, thinking_rows
    from effbench.store.runs import open_run

    opened = [open_run(r) for r in (baseline, *runs)]
    comparison = compare_runs(opened[0], opened[1:], AESWeights(alpha, beta, gamma))
    return pd.DataFrame(beside(comparison_rows(comparison), thinking_rows(opened)))


def load_runs(root: str | Path = "runs") -> pandas.DataFrame:
    """One row per (run, task) of every finished run under `root`: accuracy, tokens, sampling, for notebooks."""
    from effbench.store.runs import load_runs as load

    return load(root)
