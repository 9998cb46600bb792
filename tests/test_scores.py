"""The efficiency scores leaderboards publish, on hand-computed tables with their degenerate cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from effbench.analysis.cost import Price, completion_cost
from effbench.analysis.scores import efficiency_scores, ock_score, overthinking
from effbench.store.runs import TaskSamples


@pytest.mark.parametrize(
    ("accuracy", "tokens", "expected"),
    [
        (0.5, 0.0, 50.0),
        (0.8, 10_000.0, 80 - 10 * math.log(2)),
        (0.9, 4_540.0, 90 - 10 * math.log(1.454)),  # OckBench's own scale: 10,000 tokens, weight 10
        (None, 100.0, None),
        (0.5, None, None),
    ],
)
def test_ock_score(accuracy, tokens, expected):
    assert ock_score(accuracy, tokens) == (None if expected is None else pytest.approx(expected))


def test_efficiency_score_is_the_harmonic_mean_of_accuracy_and_min_max_token_efficiency():
    scores = efficiency_scores({"short": (0.6, 100.0), "mid": (0.8, 300.0), "long": (0.9, 500.0), "blank": (None, 50.0)})
    assert scores["short"] == pytest.approx(2 * 0.6 * 1 / 1.6)  # fewest tokens of the runs: efficiency 1
    assert scores["mid"] == pytest.approx(2 * 0.8 * 0.5 / 1.3)
    assert scores["long"] == 0.0 and scores["blank"] is None  # the most tokens: efficiency 0
    assert efficiency_scores({"one": (0.7, 123.0)}) == {"one": 0.7}  # alone: its accuracy, as LLMThinkBench does
    assert efficiency_scores({"a": (0.5, 10.0), "b": (0.0, 10.0)}) == {"a": pytest.approx(2 * 0.5 / 1.5), "b": 0.0}


def samples(correct, tokens) -> TaskSamples:
    return TaskSamples(("1", "2", "3"), np.asarray(correct, dtype=bool), np.asarray(tokens, dtype=float))


def test_overthinking_counts_tokens_beyond_the_shortest_success_of_any_compared_run():
    base = samples([[True, False], [False, False], [True, True]], [[100, 300], [50, 70], [40, 60]])
    short = samples([[True, True], [False, False], [False, True]], [[80, 120], [10, 20], [90, 30]])
    over = overthinking({"base": base, "short": short})
    # shortest successes: problem 1 80 (short), problem 2 none (left out), problem 3 30 (short)
    assert over["base"] == pytest.approx(((200 - 80) + (50 - 30)) / 2)
    assert over["short"] == pytest.approx(((100 - 80) + (60 - 30)) / 2)
    unsolved = samples([[False, False]] * 3, [[1, 2]] * 3)
    assert overthinking({"a": unsolved}) == {"a": None}
    uncounted = samples([[True, True]] * 3, [[1, np.nan]] * 3)
    assert overthinking({"a": uncounted, "b": base}) == {"a": None, "b": None}


def test_a_completion_s_cost_prices_cached_and_reasoning_tokens_apart():
    price = Price(input=2.0, output=8.0, cached_input=0.5, reasoning=10.0, source="s", as_of="d")
    assert completion_cost(1000, 400, 300, 200, price) == pytest.approx((600 * 2 + 400 * 0.5 + 100 * 8 + 200 * 10) / 1e6)
    plain = Price(input=2.0, output=8.0, source="s", as_of="d")  # no cached or reasoning price: input's and output's
    assert completion_cost(1000, 400, 300, 200, plain) == pytest.approx((1000 * 2 + 300 * 8) / 1e6)


def test_the_shipped_price_table_is_matharena_s_with_a_source_and_date_on_every_row():
    import json
    from pathlib import Path

    from effbench.analysis.cost import load_prices
    from effbench.errors import ConfigError
    from tests.conftest import run_cli

    table = load_prices("matharena")
    source = Path(__file__).resolve().parents[2] / "shared" / "published" / "matharena" / "model_prices.jsonl"
    rows = [json.loads(line) for line in source.read_text().splitlines() if line.strip()]
    assert len(table.prices) == len(rows) == 113
    for row in rows:
        price = table.prices[row["config"].removesuffix(".yaml")]
        assert (price.input, price.output, price.cached_input) == (
            row["input_usd_per_mtok"], row["output_usd_per_mtok"], row["cached_input_usd_per_mtok"])  # fmt: skip
        assert price.as_of == "2026-05-15" and row["config"] in price.source
    assert table.price_of("o3-mini--low")[0] == "openai/o3-mini--low"  # by the API's model name, where one entry has it
    with pytest.raises(ConfigError, match="in several entries"):
        table.price_of("claude-opus-4-0")
    with pytest.raises(ConfigError, match="has no price for model 'mine'"):
        table.price_of("mine")
    listed = run_cli("prices", env={"COLUMNS": "250"})
    assert (
        listed.returncode == 0 and "openai/o3-mini--low" in listed.stdout and "shipped price tables: matharena" in listed.stdout
    )
