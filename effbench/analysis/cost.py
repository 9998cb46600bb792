"""What a run cost in dollars: its stored token counts times a price table's prices, or its generation time times an
hourly price. Prices are an input to the numbers, not part of what a run generated: any run can be priced again.

A price table is a YAML or JSON mapping of a key to a model's prices in USD per million tokens, with their source
and date: `input`, `output`, and where they differ `cached_input` (prompt tokens read from a cache) and `reasoning`
(else billed as output), and optionally `model`, the API's name where the key is not. effbench ships MathArena's
(`prices=matharena`, `effbench prices`).

A completion costs its billed prompt tokens (its request's, on the first completion of a request) at the input price,
less those read from a cache at the cached-input price, plus its completion tokens at the output price (its
reasoning tokens at the reasoning price where one is given). A task's cost per solved problem is its total cost
divided by the problems solved: accuracy times problems.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError

from effbench.errors import ConfigError
from effbench.schema import Strict
from effbench.store.records import CostMetrics
from effbench.store.runs import Run
from effbench.structured import load_json, load_yaml
from effbench.types import Scored

MILLION = 1_000_000


class Price(Strict):
    input: float = Field(ge=0, description="USD per million prompt tokens")
    output: float = Field(ge=0, description="USD per million completion tokens")
    cached_input: float | None = Field(None, ge=0, description="USD per million prompt tokens read from a cache")
    reasoning: float | None = Field(None, ge=0, description="USD per million reasoning tokens (default: output)")
    model: str | None = Field(None, description="the API's model name, where the key is not it")
    name: str | None = None
    reasoning_effort: str | None = None
    source: str = Field(min_length=1, description="where the prices were read")
    as_of: str = Field(min_length=1, description="the date they held on")


@dataclass(frozen=True)
class PriceTable:
    name: str
    prices: dict[str, Price]

    def price_of(self, model: str) -> tuple[str, Price]:
        """(key, price) of `model`: the entry of that key, else the one entry whose `model` is it."""
        if model in self.prices:
            return model, self.prices[model]
        named = {key: p for key, p in self.prices.items() if p.model == model}
        if len(named) == 1:
            return next(iter(named.items()))
        if named:
            raise ConfigError(
                f"price table {self.name} prices model {model!r} in several entries ({', '.join(sorted(named))}); "
                "name one with price_model="
            )
        raise ConfigError(f"price table {self.name} has no price for model {model!r}; name its entry with price_model=")


def shipped_tables() -> list[str]:
    return sorted(p.name.removesuffix(".yaml") for p in resources.files("effbench.prices").iterdir() if p.name.endswith(".yaml"))


def load_prices(name: str) -> PriceTable:
    """A shipped table by name, or a YAML or JSON file."""
    shipped = resources.files("effbench.prices") / f"{name}.yaml"
    path = Path(name)
    try:
        text = shipped.read_text(encoding="utf-8") if shipped.is_file() else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise ConfigError(
            f"prices={name} is neither a shipped price table ({', '.join(shipped_tables())}) nor a file that can be read"
        ) from None
    try:
        data = load_json(text) if path.suffix == ".json" else load_yaml(text)
    except (json.JSONDecodeError, yaml.YAMLError):
        raise ConfigError(f"prices={name} is not valid {'JSON' if path.suffix == '.json' else 'YAML'}") from None
    if not isinstance(data, dict) or not data:
        raise ConfigError(
            f"prices={name} must map each model to its prices: {{input: 1.1, output: 4.4, source: URL, as_of: DATE}}"
        )
    try:
        return PriceTable(path.stem if not shipped.is_file() else name, {str(k): Price(**_entry(k, v)) for k, v in data.items()})
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "entry"
        raise ConfigError(f"prices={name}: {where}: {error['msg']}") from None


def _entry(key: Any, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"price table entry {key!r} must hold input:, output:, source: and as_of:")
    return {k: str(v) if k == "as_of" else v for k, v in value.items()}


def completion_cost(prompt: int, cached: int, tokens: int, reasoning: int, price: Price) -> float:
    cached_price = price.input if price.cached_input is None else price.cached_input
    reasoning_price = price.output if price.reasoning is None else price.reasoning
    paid = (prompt - cached) * price.input + cached * cached_price + (tokens - reasoning) * price.output
    return (paid + reasoning * reasoning_price) / MILLION


def token_cost(scored: Iterable[Scored], table: PriceTable, model: str) -> CostMetrics:
    """A task's cost from its stored counts. Completions stored without their prompt tokens (runs made before effbench
    stored them) make the cost absent, with the reason, not a number that leaves the prompt out."""
    key, price = table.price_of(model)
    total, problems, solved, missing = 0.0, 0, 0.0, 0
    for item in scored:
        problems += 1
        solved += sum(g.correct for g in item.grades) / len(item.grades)
        for c in item.completions:
            if c.prompt_tokens is None or c.tokens is None:
                missing += 1
                continue
            total += completion_cost(c.prompt_tokens, c.cached_tokens or 0, c.tokens, c.reasoning_tokens or 0, price)
    basis = f"tokens at {table.name}'s prices for {key} ({price.as_of}; {price.source})"
    if missing:
        return CostMetrics(basis=basis, missing=f"{missing} completions were stored without their prompt tokens")
    return _metrics(basis, total, problems, solved)


def hourly_cost(invocations: Sequence[dict[str, Any]], task: str, usd_per_hour: float, scored: Iterable[Scored]) -> CostMetrics:
    """A self-hosted task's cost: the hourly price times its share of the generation time of each invocation (its share
    of the tokens, where tasks were generated together)."""
    seconds = 0.0
    for invocation in invocations:
        generation, mine = invocation.get("generation") or {}, (invocation.get("tasks") or {}).get(task) or {}
        if generation.get("generated_tokens") and generation.get("generate_s"):
            seconds += generation["generate_s"] * mine.get("generated_tokens", 0) / generation["generated_tokens"]
    problems, solved = 0, 0.0
    for item in scored:
        problems += 1
        solved += sum(g.correct for g in item.grades) / len(item.grades)
    basis = f"{usd_per_hour:g} USD per hour of generation ({seconds:.1f} s, the task's share of each invocation's by tokens)"
    return _metrics(basis, usd_per_hour * seconds / 3600, problems, solved)


def _metrics(basis: str, total: float, problems: int, solved: float) -> CostMetrics:
    return CostMetrics(
        basis=basis,
        total_usd=total,
        per_problem_usd=total / problems if problems else None,
        per_solved_usd=total / solved if solved else None,
    )


@dataclass(frozen=True)
class Pricing:
    """How runs are priced: by a price table's entry for their model (or `model`, price_model=), or by the hour."""

    table: PriceTable | None = None
    model: str | None = None
    usd_per_hour: float | None = None

    @classmethod
    def of(cls, prices: str | None, price_model: str | None = None, gpu_hour_usd: float | None = None) -> Pricing | None:
        """The pricing the keys ask for; None where they ask for none."""
        if prices is not None and gpu_hour_usd is not None:
            raise ConfigError("price by tokens (prices=) or by the hour (gpu_hour_usd=), not both")
        if price_model is not None and prices is None:
            raise ConfigError("price_model= names an entry of a price table: give prices= too")
        if prices is None and gpu_hour_usd is None:
            return None
        return cls(load_prices(prices) if prices is not None else None, price_model, gpu_hour_usd)

    def task_cost(self, scored: Iterable[Scored], model: str, task: str, invocations: Sequence[dict[str, Any]]) -> CostMetrics:
        if self.table is not None:
            return token_cost(scored, self.table, self.model or model)
        return hourly_cost(invocations, task, float(self.usd_per_hour or 0), scored)


def run_costs(runs: Sequence[Run], pricing: Pricing) -> dict[str, dict[str, CostMetrics]]:
    """Each run's cost per task, recomputed from its stored samples (no generation)."""
    return {
        run.name: {task: pricing.task_cost(run.scored(task), run.results.model, task, run.info.invocations) for task in run.tasks}
        for run in runs
    }
