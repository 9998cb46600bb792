"""Write the OckBench and MathArena leaderboards (effbench/leaderboards/) from the files in ../shared/published.

    python scripts/build_published_boards.py ../shared/published effbench/leaderboards

Each number is copied as the source gives it (MathArena's at full precision); the derived columns (OckScore,
MathArena's cost) are kept as published, for `effbench compare NAME` to recompute from their inputs.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from pathlib import Path

import yaml

OCKBENCH = {
    "title": "OckBench: accuracy against output tokens (published)",
    "citation": "OckBench: Measuring the Efficiency of LLM Reasoning, arXiv:2511.05722; leaderboard of "
    "OckBench/OckBench.github.io at commit 79935a1da04ee5188cacd4cec10ca43fd6a570c7 (2026-07-30), "
    "static/data/top200_model_performance.csv",
    "url": "https://arxiv.org/abs/2511.05722",
}
MATHARENA = {
    "title": "MathArena: AIME 2025 I, accuracy, tokens and cost (published)",
    "citation": "MathArena (eth-sri/matharena.ai at commit 8fdd9aba6ddc5faf354790bf895e0e47a1b450af, 2025-02-10, "
    "static/js/aime2025_I_table_data.js and aime2025_I_secondary.js); MIT, SRI Lab, ETH Zurich",
    "url": "https://matharena.ai",
}


NOTES = {  # what the transcription found, checked by arithmetic
    "QwQ-32B-Preview": "the published cost is its tokens at 1.2 USD per million for input and output "
    "(60 × (217.87 + 7875.02) × 1.2 / 10⁶ = 0.5826876), not at the 0.8 its price columns give",
}


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def ockbench(folder: Path) -> dict:
    rows = list(csv.DictReader((folder / "top200_model_performance.csv").read_text(encoding="utf-8").splitlines()))
    entries = [
        {
            "name": row["Model"],
            "model": row["Model"],
            "details": {"category": row["Category"], "license": row["License"]},
            "reported": {
                "ockbench": {
                    "accuracy": float(row["Accuracy (%)"]),
                    "mean_tokens": float(row["Avg Output Tokens"]),
                    "solved": int(row["Correct"]),
                    "problems": int(row["Total"]),
                    "ock_score": float(row["OckScore"]),
                }
            },
        }
        for row in rows
    ]
    return {**OCKBENCH, "tasks": ["ockbench"], "entries": entries}


def js_array(path: Path) -> list[dict]:
    text = path.read_text(encoding="utf-8")
    return json.loads(text[text.index("[") : text.rindex("]") + 1])


def matharena(folder: Path) -> dict:
    secondary = {row["question"]: row for row in js_array(folder / "aime2025_I_secondary.js")}
    table = {row["question"]: row for row in js_array(folder / "aime2025_I_table_data.js")}
    entries = []
    for model in (m for m in table["Avg"] if m != "question"):
        cell: dict = {"accuracy": table["Avg"][model], "problems": 15, "runs": 4}
        tokens, price = secondary["Output Tokens"][model], secondary["Input Cost"][model]
        if tokens != "N/A":
            cell.update(mean_tokens=tokens, input_tokens=secondary["Input Tokens"][model])
        if price != "N/A":
            cell.update(input_price=price, output_price=secondary["Output Cost"][model], cost_usd=table["Cost"][model])
        else:
            cell["note"] = f"not priced by MathArena (its cost cell reads {table['Cost'][model]!r})"
        if model in NOTES:
            cell["note"] = NOTES[model]
        entries.append({"name": slug(model), "model": model, "reported": {"aime25_i": cell}})
    return {**MATHARENA, "tasks": ["aime25_i"], "entries": entries}


def main(source: Path, target: Path) -> None:
    header = "# Written by scripts/build_published_boards.py from ../shared/published (its README gives the sources).\n"
    for name, board in (("ockbench", ockbench(source / "ockbench")), ("matharena_aime25", matharena(source / "matharena"))):
        (target / f"{name}.yaml").write_text(header + yaml.safe_dump(board, sort_keys=False, allow_unicode=True, width=120))
        print(f"{name}: {len(board['entries'])} entries")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
