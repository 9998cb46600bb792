"""A scripted backend for tests and examples: completions come from a script file, not a model.

The script is JSON: {"<task>/<sample id>" or "<sample id>": text or [texts], "*": default text}.
A text may use {id} and {task}. Tokens are counted as whitespace-separated words, and token ids
are made up from the words; `delay` seconds pass before each sample, to test interruption.
A request that continues a completion (budget forcing) is answered from the script's "after_cue"
object, which maps the same keys to the text written after the cue.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import Field

from effbench.backends.codec import WordCodec
from effbench.backends.usage import Meter
from effbench.errors import BackendError
from effbench.grading.reasoning import THINK, ReasoningFormat
from effbench.schema import Strict
from effbench.structured import load_json
from effbench.text import without_surrogates
from effbench.types import Completion, EngineUse, Request, Timing

CONTINUES = True  # continues a completion from its token ids (Request.continue_after): budget forcing needs it


class Options(Strict):
    script: Path = Field(description="JSON file of scripted completions")
    delay: float = Field(0.0, ge=0, description="seconds to wait before each sample finishes")


def create(config, options: Options) -> ScriptedBackend:
    return ScriptedBackend(options.script, delay=options.delay)


CODEC = WordCodec()


class ScriptedBackend:
    codec = CODEC

    def __init__(self, script: Path, *, delay: float = 0.0):
        try:
            self.script: dict[str, Any] = load_json(script.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BackendError(f"script {script} cannot be read as JSON ({type(exc).__name__})") from None
        check_script(self.script, script)
        self.delay = delay
        self.path = script
        self.meter = Meter(["script"])

    def codec_for(self, completion: Completion) -> WordCodec:
        return CODEC

    def describe(self) -> dict[str, Any]:
        return {"engine": "scripted", "script": str(self.path)}

    def generate(self, requests: Sequence[Request]) -> Iterator[tuple[Request, list[Completion]]]:
        for request in requests:
            self.meter.begin("script")
            started = time.monotonic()
            time.sleep(self.delay)
            made = [scripted_completion(t, request.sampling.max_tokens, request.reasoning) for t in self._texts(request)]
            prompt = len(self.prompt_text(request).split())  # in words, as its completions are counted; billed once
            waited = Timing(round(time.monotonic() - started, 4))
            completions = [
                replace(c, prompt_tokens=prompt if i == 0 else 0, cached_tokens=0, timing=waited) for i, c in enumerate(made)
            ]
            self.meter.end("script", completions)
            yield request, completions

    def engines(self) -> tuple[EngineUse, ...]:
        return self.meter.reading()

    def prompt_text(self, request: Request) -> str:
        return request.prompt if isinstance(request.prompt, str) else "\n".join(m["content"] for m in request.prompt)

    def _texts(self, request: Request) -> list[str]:
        script = self.script.get("after_cue", {}) if request.continue_after else self.script
        entry = script.get(f"{request.task}/{request.sample_id}", script.get(request.sample_id, script.get("*")))
        if entry is None:
            where = "its after_cue object" if request.continue_after else "it"
            raise BackendError(
                f"script {self.path}: {where} has nothing for {request.task}/{request.sample_id} and no '*' default"
            )
        texts = [entry] if isinstance(entry, str) else list(entry)
        texts = [without_surrogates(t.replace("{id}", request.sample_id).replace("{task}", request.task)) for t in texts]
        return (texts * request.sampling.n)[: request.sampling.n]

    def close(self) -> None:
        pass


def check_script(script: Any, path: Path) -> None:
    """A script maps keys to a text or a list of texts, and may hold an `after_cue` object of the same shape."""

    def texts(value: Any) -> bool:
        return isinstance(value, str) or (isinstance(value, list) and bool(value) and all(isinstance(t, str) for t in value))

    if not isinstance(script, dict):
        raise BackendError(f'script {path} must hold a JSON object of "<task>/<id>": text (or a list of texts)')
    after_cue = script.get("after_cue")
    for key, value in {**script, **(after_cue if isinstance(after_cue, dict) else {})}.items():
        if key != "after_cue" and not texts(value):
            raise BackendError(f"script {path}: {key!r} must be a text or a non-empty list of texts")
    if "after_cue" in script and not isinstance(script["after_cue"], dict):
        raise BackendError(f"script {path}: after_cue must be an object of the same shape")


def scripted_completion(text: str, max_tokens: int, reasoning: ReasoningFormat = THINK) -> Completion:
    words = text.split()
    finish = "length" if len(words) > max_tokens else "stop"
    text = " ".join(words[:max_tokens]) if finish == "length" else text
    ids = CODEC.encode(text)
    return Completion(
        text=text,
        tokens=len(ids),
        finish_reason=finish,
        token_ids=ids,
        reasoning_tokens=CODEC.reasoning_tokens(ids, text, reasoning),
        token_count_source="words",
    )
