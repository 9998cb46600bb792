"""`effbench demo`: a tiny model and 20 problems, made here, through the whole pipeline."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

from effbench.tinymodel import build_tiny_model

DEMO_TASK = Path(__file__).parent / "demo_task.yaml"
PROBLEMS_FILE = "demo/arithmetic.jsonl"


def cache_dir() -> Path:
    root = os.environ.get("EFFBENCH_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "effbench"
    )
    return Path(root)


def write_problems(root: Path, count: int = 20, seed: int = 0) -> Path:
    """Deterministic arithmetic problems; their sha256 is pinned in demo_task.yaml."""
    rng = random.Random(seed)
    lines = []
    for index in range(count):
        a, b = rng.randint(2, 99), rng.randint(2, 99)
        op = rng.choice("+-*")
        answer = {"+": a + b, "-": a - b, "*": a * b}[op]
        lines.append(json.dumps({"id": f"arith-{index}", "question": f"What is {a} {op} {b}?", "answer": str(answer)}))
    path = root / PROBLEMS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def demo_defaults() -> dict[str, Any]:
    """The eval keys of the demo; any of them can be overridden on the command line."""
    root = cache_dir()
    model = root / "tiny-model"
    if not (model / "config.json").exists():
        build_tiny_model(model)
    write_problems(root / "data")
    return {
        "model": str(model),
        "tasks": str(DEMO_TASK),
        "data_dir": str(root / "data"),
        "max_tokens": "48",
        "name": "demo",
        "enforce_eager": "true",
    }
