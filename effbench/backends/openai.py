"""Any OpenAI-compatible server (`vllm serve`, or a cluster behind one endpoint), with bounded concurrency.

The API key is read from the environment (or a key file) when requests are sent; it is never
part of the configuration, so it is written to no run file and no log line.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import httpx
from pydantic import Field

from effbench.errors import BackendError, ConfigError
from effbench.schema import Strict
from effbench.types import Completion, Request

TRANSIENT = {408, 409, 425, 429, 500, 502, 503, 504}


class Options(Strict):
    base_url: str = Field("http://127.0.0.1:8000/v1", description="the server's OpenAI API root")
    api_key_env: str = Field("OPENAI_API_KEY", description="environment variable holding the API key (if any)")
    api_key_file: Path | None = Field(None, description="file holding the API key (instead of the environment)")
    concurrency: int = Field(32, ge=1, description="requests in flight at once")
    request_timeout: float = Field(1800.0, gt=0, description="seconds to wait for one response")
    max_retries: int = Field(5, ge=0, description="retries of a request after a transient error")


def create(config, options: Options) -> OpenAIBackend:
    return OpenAIBackend(config.model, options, enable_thinking=config.enable_thinking)


class OpenAIBackend:
    def __init__(self, model: str, options: Options, *, enable_thinking: bool | None = None):
        self.model, self.options = model, options
        self._template_kwargs = {} if enable_thinking is None else {"enable_thinking": enable_thinking}
        headers = {"Authorization": f"Bearer {key}"} if (key := self._api_key()) else {}
        self.client = httpx.Client(
            base_url=options.base_url.rstrip("/"), headers=headers, timeout=options.request_timeout,
            limits=httpx.Limits(max_connections=options.concurrency),
        )
        self._check_server()

    def _api_key(self) -> str | None:
        if self.options.api_key_file is not None:
            try:
                return self.options.api_key_file.read_text().strip()
            except OSError:
                raise ConfigError(f"api_key_file {self.options.api_key_file} cannot be read") from None
        return os.environ.get(self.options.api_key_env) or None

    def _check_server(self) -> None:
        url = f"{self.options.base_url.rstrip('/')}/models"
        try:
            response = self.client.get("/models", timeout=10)
        except httpx.HTTPError as exc:
            raise BackendError(f"the server at {url} does not answer ({type(exc).__name__}); start it or fix base_url") from None
        if response.status_code in (401, 403):
            raise BackendError(f"the server at {url} refused the API key (HTTP {response.status_code}); set {self.options.api_key_env}")
        if response.status_code != 200:
            raise BackendError(f"the server at {url} answered HTTP {response.status_code}; is base_url the API root (…/v1)?")
        served = [m.get("id") for m in response.json().get("data", [])]
        if served and self.model not in served:
            raise BackendError(f"the server does not serve model {self.model!r}; it serves: {', '.join(map(str, served))}")

    def describe(self) -> dict[str, Any]:
        options = self.options.model_dump(mode="json", exclude={"api_key_file"})
        return {"engine": "openai-compatible server", "model": self.model, **options}

    def generate(self, requests: Sequence[Request]) -> Iterator[tuple[Request, list[Completion]]]:
        with ThreadPoolExecutor(self.options.concurrency) as pool:
            futures = {pool.submit(self._complete, r): r for r in requests}
            try:
                for future in as_completed(futures):
                    yield futures[future], future.result()
            finally:
                for future in futures:
                    future.cancel()

    def _complete(self, request: Request) -> list[Completion]:
        s = request.sampling
        body: dict[str, Any] = {
            "model": self.model, "n": s.n, "temperature": s.temperature, "top_p": s.top_p,
            "max_tokens": s.max_tokens, "seed": request.seed, "return_token_ids": True,
        }
        if s.top_k > 0:
            body["top_k"] = s.top_k
        if isinstance(request.prompt, str):
            path, body["prompt"] = "/completions", request.prompt
        else:
            path, body["messages"] = "/chat/completions", list(request.prompt)
            if self._template_kwargs:
                body["chat_template_kwargs"] = self._template_kwargs
        data = self._post(path, body)
        return parse_choices(data, s.n)

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        for attempt in range(self.options.max_retries + 1):
            try:
                response = self.client.post(path, json=body)
                if response.status_code == 200:
                    return response.json()
                if response.status_code not in TRANSIENT:
                    raise BackendError(f"the server answered HTTP {response.status_code}: {response.text[:200]}")
                problem = f"HTTP {response.status_code}"
            except httpx.TransportError as exc:
                problem = type(exc).__name__
            if attempt < self.options.max_retries:
                time.sleep(min(60.0, 2**attempt) * (0.5 + random.random() / 2))
        raise BackendError(f"the server kept failing ({problem}) after {self.options.max_retries} retries")

    def close(self) -> None:
        self.client.close()


def parse_choices(data: dict[str, Any], n: int) -> list[Completion]:
    """Completions from a response; token counts from each choice's token ids, else from usage (n=1 only)."""
    choices = sorted(data.get("choices", []), key=lambda c: c.get("index", 0))
    if len(choices) != n:
        raise BackendError(f"the server returned {len(choices)} choices, asked for {n}")
    completions = []
    for choice in choices:
        message = choice.get("message") or {}
        text = choice.get("text") if "text" in choice else message.get("content")
        reasoning = message.get("reasoning_content") or message.get("reasoning")
        ids = choice.get("token_ids")
        if ids is not None:
            tokens, source = len(ids), "token_ids"
        elif n == 1 and (data.get("usage") or {}).get("completion_tokens") is not None:
            tokens, source = data["usage"]["completion_tokens"], "usage"
        else:
            raise BackendError("the server gives no per-choice token ids (vLLM's return_token_ids); use n=1 with it")
        completions.append(Completion(
            text=text or "", tokens=tokens, finish_reason=choice.get("finish_reason") or "unknown",
            token_ids=tuple(ids) if ids is not None else None, reasoning=reasoning, token_count_source=source,
        ))
    return completions
