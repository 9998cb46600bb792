"""A scripted backend for tests and examples: completions come from a script file, not a model.

The script is JSON: {"<task>/<sample id>" or "<sample id>": text or [texts], "*": default text}.
A text may use {id} and {task}. Tokens are counted as whitespace-separated words, and token ids
are made up from the words; `delay` seconds pass before each sample, to test interruption.
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from effbench.errors import BackendError
from effbench.types import Completion, Request


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    script: Path = Field(description="JSON file of scripted completions")
    delay: float = Field(0.0, ge=0, description="seconds to wait before each sample finishes")


def create(config, options: Options) -> ScriptedBackend:
    return ScriptedBackend(options.script, delay=options.delay)


class ScriptedBackend:
    def __init__(self, script: Path, *, delay: float = 0.0):
        try:
            self.script: dict[str, Any] = json.loads(script.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise BackendError(f"script {script} cannot be read as JSON ({type(exc).__name__})") from None
        self.delay = delay
        self.path = script

    def describe(self) -> dict[str, Any]:
        return {"engine": "scripted", "script": str(self.path)}

    def generate(self, requests: Sequence[Request]) -> Iterator[tuple[Request, list[Completion]]]:
        for request in requests:
            time.sleep(self.delay)
            texts = self._texts(request)
            yield request, [scripted_completion(t, request.sampling.max_tokens) for t in texts[: request.sampling.n]]

    def _texts(self, request: Request) -> list[str]:
        entry = self.script.get(f"{request.task}/{request.sample_id}", self.script.get(request.sample_id, self.script.get("*")))
        if entry is None:
            raise BackendError(f"script {self.path} has nothing for {request.task}/{request.sample_id} and no '*' default")
        texts = [entry] if isinstance(entry, str) else list(entry)
        texts = [t.replace("{id}", request.sample_id).replace("{task}", request.task) for t in texts]
        return (texts * request.sampling.n)[: request.sampling.n]

    def close(self) -> None:
        pass


def scripted_completion(text: str, max_tokens: int) -> Completion:
    words = text.split()
    finish = "length" if len(words) > max_tokens else "stop"
    words = words[:max_tokens]
    text = " ".join(words) if finish == "length" else text
    ids = tuple(zlib.crc32(w.encode()) % 50_000 for w in words)
    head, sep, _ = text.rpartition("</think>")
    reasoning = len((head + sep).split()) if sep else None
    return Completion(text=text, tokens=len(ids), finish_reason=finish, token_ids=ids,
                      reasoning_tokens=reasoning, token_count_source="words")
