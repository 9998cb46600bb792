"""Peak memory of `effbench eval`, `compare` and `report` as the number of stored completions grows.

    python bench/memory.py [sizes]        # default 100,1000,10000,100000

For each size N: a task of N arithmetic problems (written here), evaluated through the scripted
backend (every completion about 300 words of reasoning and a boxed answer), then compared with
itself and reported. Each command runs as its own process; the peak resident memory of that
process (ru_maxrss; the grading workers are separate processes of bounded size) is printed with the growth
per added completion, which stays flat when memory grows linearly or better (streaming, not loading every sample at once).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TASK = """name: mem
version: 1
description: arithmetic problems written by bench/memory.py
source: {{local: mem/test.jsonl, sha256: {sha}, records: {count}}}
fields: {{question: question, answer: answer, id: id}}
prompt:
  chat:
    - role: user
      content: "{{{{ question }}}}"
  plain: "{{{{ question }}}}"
extractor: number
grader: math
generation: {{max_tokens: 4096}}
"""


def write_task(root: Path, count: int) -> Path:
    lines = "".join(
        json.dumps({"id": str(i), "question": f"What is {i} + 1?", "answer": str(i + 1)}) + "\n" for i in range(count)
    )
    (root / "data" / "mem").mkdir(parents=True, exist_ok=True)
    (root / "data" / "mem" / "test.jsonl").write_text(lines)
    task = root / "mem.yaml"
    task.write_text(TASK.format(sha=hashlib.sha256(lines.encode()).hexdigest(), count=count))
    return task


MEASURE = """
import resource, runpy, sys
sys.argv = ["effbench", *sys.argv[1:]]
try:
    runpy.run_module("effbench", run_name="__main__")
except SystemExit as exc:
    if exc.code:
        raise
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""


def peak_mib(*words: str, cwd: Path) -> tuple[float, float]:
    """(peak resident MiB of the command's own process, seconds); grading workers are separate and bounded."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", MEASURE, *words], check=True, capture_output=True, text=True, cwd=cwd)
    return int(result.stderr.strip().splitlines()[-1]) / 1024, time.perf_counter() - started


def main() -> None:
    sizes = [int(s) for s in (sys.argv[1] if len(sys.argv) > 1 else "100,1000,10000,100000").split(",")]
    print(f"{'completions':>11} {'eval MiB':>9} {'compare MiB':>12} {'report MiB':>11}   seconds (eval, compare, report)")
    previous = None
    for count in sorted(sizes):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            task = write_task(root, count)
            script = root / "script.json"
            script.write_text(json.dumps({"*": "<think>" + " step" * 300 + " </think> The answer is \\boxed{1}."}))
            common = (
                "backend=scripted",
                f"script={script}",
                f"data_dir={root / 'data'}",
                "model=m",
                f"tasks={task}",
                f"out={root / 'runs'}",
                "workers=2",
            )
            eval_mib, eval_s = peak_mib("eval", *common, "name=a", cwd=root)
            compare_mib, compare_s = peak_mib(
                "compare", str(root / "runs" / "a"), str(root / "runs" / "a"), "format=json", cwd=root
            )
            (root / "board.yaml").write_text(
                f"title: m\ntasks: [mem]\nentries:\n  - {{name: a, model: m, run: {root / 'runs' / 'a'}}}\n"
            )
            report_mib, report_s = peak_mib("report", str(root / "board.yaml"), f"out={root / 'site'}", cwd=root)
        line = f"{count:>11} {eval_mib:>9.0f} {compare_mib:>12.0f} {report_mib:>11.0f}   "
        line += f"{eval_s:.1f}, {compare_s:.1f}, {report_s:.1f}"
        if previous:
            grown = count - previous[0]
            line += "   KiB per added completion: " + ", ".join(
                f"{1024 * (now - before) / grown:.2f}"
                for now, before in zip((eval_mib, compare_mib, report_mib), previous[1:], strict=True)
            )
        print(line)
        previous = (count, eval_mib, compare_mib, report_mib)


if __name__ == "__main__":
    main()
