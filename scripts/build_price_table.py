"""Write effbench's shipped price table (effbench/prices/matharena.yaml) from MathArena's model configurations.

    python scripts/build_price_table.py ../shared/published/matharena/model_prices.jsonl effbench/prices/matharena.yaml

One entry per MathArena model configuration that carries a price, keyed by its config path (without .yaml), with the
API's model name, the input, cached-input and output prices in USD per million tokens, and the source and date of
every row: the configuration at the commit the prices were read from.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

COMMIT, DATE = "e92766038a80eee227589f5ea688004240bca8e0", "2026-05-15"
SOURCE = f"https://github.com/eth-sri/matharena/blob/{COMMIT}/configs/models/{{config}}"


def entry(row: dict) -> tuple[str, dict]:
    prices = {"input": row["input_usd_per_mtok"], "output": row["output_usd_per_mtok"]}
    if row["cached_input_usd_per_mtok"] is not None:
        prices["cached_input"] = row["cached_input_usd_per_mtok"]
    about = {
        "model": row["model"],
        "name": row["name"],
        **({"reasoning_effort": row["reasoning_effort"]} if row["reasoning_effort"] else {}),
    }
    return row["config"].removesuffix(".yaml"), {**about, **prices, "source": SOURCE.format(config=row["config"]), "as_of": DATE}


def main(source: Path, target: Path) -> None:
    rows = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]
    table = dict(sorted(entry(row) for row in rows))
    header = (
        "# Prices in USD per million tokens, as MathArena recorded them for its runs (eth-sri/matharena, configs/models,\n"
        f"# commit {COMMIT}, {DATE}): dated by that commit, not current list prices. Written by\n"
        "# scripts/build_price_table.py from ../shared/published/matharena/model_prices.jsonl. MIT (SRI Lab, ETH Zurich).\n"
    )
    target.write_text(header + yaml.safe_dump(table, sort_keys=False, allow_unicode=True), encoding="utf-8")
    print(f"{len(table)} prices written to {target}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
