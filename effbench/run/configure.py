"""An evaluation's settings from `key=value` values: the common config and the chosen backend's options."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from effbench.analysis.cost import Pricing
from effbench.backends import BACKENDS, backend_module
from effbench.config import EvalConfig, build, json_object, split_keys
from effbench.errors import ConfigError
from effbench.structured import load_json
from effbench.tasks.methods import find_method

EXTRA = "extra_body."


def with_extra_body(values: dict[str, Any]) -> dict[str, Any]:
    """`extra_body.KEY=VALUE` words folded into `extra_body` (VALUE read as JSON where it is JSON: 20, true, {…};
    else as text), over the fields of an `extra_body=` JSON object given too."""
    dotted = {k.removeprefix(EXTRA): v for k, v in values.items() if k.startswith(EXTRA)}
    if not dotted:
        return values
    if any(not key for key in dotted):
        raise ConfigError("extra_body.KEY=VALUE needs a KEY: extra_body.top_k=20")
    try:
        base = json_object(values.get("extra_body"), "extra_body") or {}
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    rest = {k: v for k, v in values.items() if not k.startswith(EXTRA)}
    return {**rest, "extra_body": {**base, **{key: _json_or_text(value) for key, value in dotted.items()}}}


def _json_or_text(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return load_json(value)
    except json.JSONDecodeError:
        return value


def eval_config(values: dict[str, Any]) -> tuple[EvalConfig, BaseModel]:
    """The common config and the backend's options; a key in the wrong place is one error line."""
    name = values.get("backend", "vllm")
    module = backend_module(name)
    common, backend_values = split_keys(with_extra_body(values), module.Options)
    for key in common:
        if key not in EvalConfig.model_fields:
            owner = next((b for b in BACKENDS if b != name and key in backend_module(b).Options.model_fields), None)
            if owner:
                raise ConfigError(f"key {key!r} belongs to backend={owner}, not backend={name}")
    config = build(EvalConfig, common, what="eval")
    options = build(module.Options, backend_values, what=f"backend={name}")
    find_method(config.method, config.prompt_budget)  # a method that does not exist is said before anything starts
    Pricing.of(config.prices, config.price_model, config.gpu_hour_usd)  # and a price table that cannot be read
    return config, options
