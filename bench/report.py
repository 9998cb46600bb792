"""Report build time: `effbench report` over a leaderboard of many stored runs.

    python bench/report.py [runs] [tasks] [samples_per_task]

Writes `runs` run folders (default 50) of `tasks` tasks (default 5) with `samples_per_task`
samples each (default 500, one completion of about 300 words each), as `effbench eval` stores
them, and a leaderboard over all of them (each run's baseline is the first run), then times the
report: gathering the numbers, and writing the plots and pages. Prints seconds and the site's size.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

from effbench import __version__
from effbench.analysis.leaderboard import load_leaderboard
from effbench.analysis.metrics import task_metrics
from effbench.report.gather import gather
from effbench.report.site import write_site
from effbench.store.folder import RunStore
from effbench.store.records import Identity, Results, RunRecord, TaskIdentity, TaskResult, write_record
from effbench.types import Completion, Grade, Sample, Sampling, Scored


def make_run(root: Path, name: str, tasks: list[str], samples: int, rng: random.Random) -> None:
    store = RunStore.open(root, name)
    skill, verbosity = rng.uniform(0.3, 0.9), rng.uniform(0.5, 1.5)
    results: dict[str, TaskResult] = {}
    identity: dict[str, TaskIdentity] = {}
    for task in tasks:
        scored = []
        with store.appender(task) as out:
            for index in range(samples):
                words = max(20, int(rng.gauss(300 * verbosity, 80)))
                correct = rng.random() < skill
                text = "<think>" + " step" * words + f" </think> So the answer is \\boxed{{{index if correct else -1}}}."
                completion = Completion(text=text, tokens=words + 8, finish_reason="stop", reasoning_tokens=words + 1)
                grade = Grade(
                    "correct" if correct else "wrong",
                    answer=str(index if correct else -1),
                    rule="boxed",
                    first_correct=0.98 if correct else None,
                )
                item = Scored(
                    Sample(str(index), f"Question {index}?", str(index), {"level": f"Level {index % 5 + 1}"}),
                    "prompt",
                    (completion,),
                    (grade,),
                )
                out.append(item.to_json())
                scored.append(item)
        sampling = Sampling(n=1, temperature=0.0, top_p=1.0, top_k=-1, max_tokens=4096)
        results[task] = TaskResult(version=1, sampling=sampling, metrics=task_metrics(scored, ("level",)))
        identity[task] = TaskIdentity(version=1, template_sha256="t", samples_sha256="s", sampling=vars(sampling))
    record = RunRecord(effbench_version=__version__, created="2026-01-01T00:00:00Z", config={"model": name},
                       identity=Identity(model=name, tasks=identity), status="complete")  # fmt: skip
    write_record(store.run_file, record)
    write_record(store.results_file, Results(run=name, model=name, backend="bench", tasks=results))


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    task_count = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    samples = int(sys.argv[3]) if len(sys.argv) > 3 else 500
    tasks = [f"task{i}" for i in range(task_count)]
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        for index in range(runs):
            make_run(root / "runs", f"run{index:02d}", tasks, samples, rng)
        made = time.perf_counter() - started
        entries = "\n".join(
            f"  - {{name: run{i:02d}, model: model{i % 7}, run: {root / 'runs' / f'run{i:02d}'}"
            + (", baseline: run00}" if i else "}")
            for i in range(runs)
        )
        (root / "board.yaml").write_text(f"title: bench\ntasks: [{', '.join(tasks)}]\nentries:\n{entries}\n")
        started = time.perf_counter()
        data = gather(load_leaderboard(root / "board.yaml"))
        gathered = time.perf_counter() - started
        write_site(data, root / "site")
        total = time.perf_counter() - started
        size = sum(p.stat().st_size for p in (root / "site").rglob("*") if p.is_file())
        print(f"{runs} runs x {task_count} tasks x {samples} samples (stored in {made:.1f} s)")
        print(
            f"report: {total:.1f} s in all (gather {gathered:.2f} s, plots and pages {total - gathered:.1f} s); "
            f"site {size / 2**20:.1f} MiB, {len(list((root / 'site').rglob('*.html')))} pages"
        )


if __name__ == "__main__":
    main()
