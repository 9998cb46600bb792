"""Ways to generate. Each module holds an `Options` model (its own keys) and a `create` function.

All backends share one protocol: a whole batch of Requests in, and an iterator of
(request, completions) out, in the order the samples finish, so that each can be stored at once.
Several engines (vLLM replicas, a pool of servers) are one backend that feeds them from one queue.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Sequence
from types import ModuleType
from typing import Any, Protocol

from effbench.backends.codec import Codec
from effbench.errors import ConfigError
from effbench.types import Answer, Completion, EngineUse, Request

BACKENDS: dict[str, str] = {
    "vllm": "effbench.backends.vllm",
    "openai": "effbench.backends.openai",
    "replay": "effbench.backends.replay",
    "scripted": "effbench.backends.scripted",
}


class Backend(Protocol):
    def generate(self, requests: Sequence[Request]) -> Iterator[tuple[Request, Answer]]:
        """Each request with its completions, as it finishes; or with Skipped where it cannot be generated."""
        ...

    def describe(self) -> dict[str, Any]: ...

    def codec_for(self, completion: Completion) -> Codec | None:
        """What locates positions of the completion's text in its token ids; None where the backend has no tokenizer."""
        ...

    def engines(self) -> tuple[EngineUse, ...]:
        """What each of its engines (replicas, endpoints) did since the backend started; () where nothing generates."""
        ...

    def close(self) -> None: ...


def backend_module(name: str) -> ModuleType:
    """The backend's module, imported on first use (vLLM is heavy and optional)."""
    if name not in BACKENDS:
        raise ConfigError(f"unknown backend {name!r}; choose one of: {', '.join(BACKENDS)}")
    return importlib.import_module(BACKENDS[name])
