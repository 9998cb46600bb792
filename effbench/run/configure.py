"""An evaluation's settings from `key=value` values: the common config and the chosen backend's options."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from effbench.backends import BACKENDS, backend_module
from effbench.config import EvalConfig, build, split_keys
from effbench.errors import ConfigError


def eval_config(values: dict[str, Any]) -> tuple[EvalConfig, BaseModel]:
    """The common config and the backend's options; a key in the wrong place is one error line."""
    name = values.get("backend", "vllm")
    module = backend_module(name)
    common, backend_values = split_keys(values, module.Options)
    for key in common:
        if key not in EvalConfig.model_fields:
            owner = next((b for b in BACKENDS if b != name and key in backend_module(b).Options.model_fields), None)
            if owner:
                raise ConfigError(f"key {key!r} belongs to backend={owner}, not backend={name}")
    config = build(EvalConfig, common, what="eval")
    options = build(module.Options, backend_values, what=f"backend={name}")
    return config, options
