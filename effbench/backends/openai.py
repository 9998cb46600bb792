"""Any OpenAI-compatible server (`vllm serve`, or a cluster behind one endpoint), with bounded concurrency.

The API key is read from the environment (or a key file) when requests are sent; it is never
part of the configuration, so it is written to no run file and no log line.

Every wait is bounded: a request is given up once it has taken `request_timeout` seconds in all
(however slowly the server trickles its answer) and is retried while retries remain; the run stops
when no request has finished for `progress_timeout` seconds. What finished is stored either way.
"""

from __future__ import annotations

import os
import queue
import random
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
from pydantic import Field

from effbench.backends.codec import TokenizerCodec, load_codec
from effbench.backends.openai_response import json_object, parse_choices, served_models
from effbench.backends.usage import Meter
from effbench.errors import BackendError, ConfigError
from effbench.schema import Strict
from effbench.types import Completion, EngineUse, Request

TRANSIENT = {408, 409, 425, 429, 500, 502, 503, 504}


class Options(Strict):
    base_url: str = Field("http://127.0.0.1:8000/v1", description="the server's OpenAI API root")
    api_key_env: str = Field("OPENAI_API_KEY", description="environment variable holding the API key (if any)")
    api_key_file: Path | None = Field(None, description="file holding the API key (instead of the environment)")
    concurrency: int = Field(32, ge=1, description="requests in flight at once")
    request_timeout: float = Field(1800.0, gt=0, description="seconds one request may take in all, answer included")
    max_retries: int = Field(5, ge=0, description="retries of a request after a transient error or a timeout")
    progress_timeout: float = Field(1800.0, gt=0, description="seconds the run may go without any request finishing")
    tokenizer: str | None = Field(
        None, description="the model's tokenizer (path or hub name): answers located in the server's token ids, not characters"
    )


def create(config, options: Options) -> OpenAIBackend:
    return OpenAIBackend(config.model, options, enable_thinking=config.enable_thinking)


class RequestTimeout(Exception):
    """A request took its whole time: retried like a transient error."""


class OpenAIBackend:
    def __init__(self, model: str, options: Options, *, enable_thinking: bool | None = None):
        self.model, self.options = model, options
        self._template_kwargs = {} if enable_thinking is None else {"enable_thinking": enable_thinking}
        headers = {"Authorization": f"Bearer {key}"} if (key := self._api_key()) else {}
        try:
            self.client = httpx.Client(
                base_url=options.base_url.rstrip("/"),
                headers=headers,
                timeout=options.request_timeout,
                limits=httpx.Limits(max_connections=options.concurrency),
            )
        except (httpx.InvalidURL, ValueError) as exc:
            raise ConfigError(
                f"base_url={options.base_url} is not a URL ({exc}); give the server's API root, such as http://127.0.0.1:8000/v1"
            ) from None
        self._codec = load_codec(options.tokenizer) if options.tokenizer else None  # before the server is asked
        self.meter = Meter([options.base_url])
        self._check_server()

    def _api_key(self) -> str | None:
        if self.options.api_key_file is not None:
            try:
                return self.options.api_key_file.read_text().strip()
            except (OSError, UnicodeDecodeError):
                raise ConfigError(f"api_key_file {self.options.api_key_file} cannot be read") from None
        return os.environ.get(self.options.api_key_env) or None

    def _check_server(self) -> None:
        url = f"{self.options.base_url.rstrip('/')}/models"
        try:
            response = self.client.get("/models", timeout=10)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise BackendError(f"the server at {url} does not answer ({type(exc).__name__}); start it or fix base_url") from None
        if response.status_code in (401, 403):
            raise BackendError(
                f"the server at {url} refused the API key (HTTP {response.status_code}); set {self.options.api_key_env}"
            )
        if response.status_code != 200:
            raise BackendError(f"the server at {url} answered HTTP {response.status_code}; is base_url the API root (…/v1)?")
        served = served_models(json_object(response.content, f"the server at {url}"), f"the server at {url}")
        if served and self.model not in served:
            raise BackendError(f"the server does not serve model {self.model!r}; it serves: {', '.join(served)}")

    def codec_for(self, completion: Completion) -> TokenizerCodec | None:
        """The `tokenizer=` given, where the server returned the completion's token ids; else None (positions in characters)."""
        return self._codec if completion.token_ids is not None else None

    def describe(self) -> dict[str, Any]:
        options = self.options.model_dump(mode="json", exclude={"api_key_file"})
        return {"engine": "openai-compatible server", "model": self.model, **options}

    def generate(self, requests: Sequence[Request]) -> Iterator[tuple[Request, list[Completion]]]:
        """`concurrency` requests in flight, each answer handed back as it arrives. The senders are daemon threads: a
        run that stops (no progress, an error, Ctrl-C) never waits for the requests still in flight."""
        todo: queue.SimpleQueue[Request] = queue.SimpleQueue()
        for request in requests:
            todo.put(request)
        answers: queue.SimpleQueue[tuple[Request, list[Completion] | None, BaseException | None]] = queue.SimpleQueue()
        stop = threading.Event()

        def send() -> None:
            while not stop.is_set():
                try:
                    request = todo.get_nowait()
                except queue.Empty:
                    return
                self.meter.begin(self.options.base_url)
                try:
                    completions = self._complete(request)
                    self.meter.end(self.options.base_url, completions)
                    answers.put((request, completions, None))
                except BaseException as exc:  # handed to the generator, which raises it in the caller's thread
                    self.meter.end(self.options.base_url, None)
                    answers.put((request, None, exc))

        for _ in range(min(self.options.concurrency, len(requests))):
            threading.Thread(target=send, daemon=True).start()
        try:
            for _ in range(len(requests)):
                try:
                    request, completions, error = answers.get(timeout=self.options.progress_timeout)
                except queue.Empty:
                    raise BackendError(
                        f"no request to the server finished within progress_timeout="
                        f"{self.options.progress_timeout:g} s; the finished samples are stored: run the "
                        "same command again to resume"
                    ) from None
                if error is not None:
                    raise error
                yield request, completions or []
        finally:
            stop.set()

    def _complete(self, request: Request) -> list[Completion]:
        s = request.sampling
        body: dict[str, Any] = {
            "model": self.model,
            "n": s.n,
            "temperature": s.temperature,
            "top_p": s.top_p,
            "max_tokens": s.max_tokens,
            "seed": request.seed,
            "return_token_ids": True,
        }
        if s.top_k > 0:
            body["top_k"] = s.top_k
        if isinstance(request.prompt, str):
            path, body["prompt"] = "/completions", request.prompt
        else:
            path, body["messages"] = "/chat/completions", list(request.prompt)
            if self._template_kwargs:
                body["chat_template_kwargs"] = self._template_kwargs
        return parse_choices(json_object(self._post(path, body), "the server"), s.n)

    def _post(self, path: str, body: dict[str, Any]) -> bytes:
        problem = "no answer"
        for attempt in range(self.options.max_retries + 1):
            try:
                status, content = self._send(path, body)
                if status == 200:
                    return content
                if status not in TRANSIENT:
                    raise BackendError(f"the server answered HTTP {status}: {content[:200].decode('utf-8', 'replace')}")
                problem = f"HTTP {status}"
            except (httpx.TransportError, RequestTimeout) as exc:
                problem = "no whole answer within request_timeout" if isinstance(exc, RequestTimeout) else type(exc).__name__
            if attempt < self.options.max_retries:
                time.sleep(min(60.0, 2**attempt) * (0.5 + random.random() / 2))
        raise BackendError(f"the server kept failing ({problem}) after {self.options.max_retries} retries")

    def _send(self, path: str, body: dict[str, Any]) -> tuple[int, bytes]:
        """(status, body) of one request that may take `request_timeout` seconds in all, however its bytes arrive."""
        deadline = time.monotonic() + self.options.request_timeout
        chunks = []
        with self.client.stream("POST", path, json=body) as response:
            for chunk in response.iter_bytes():
                chunks.append(chunk)
                if time.monotonic() > deadline:
                    raise RequestTimeout()
        return response.status_code, b"".join(chunks)

    def engines(self) -> tuple[EngineUse, ...]:
        return self.meter.reading()

    def close(self) -> None:
        self.client.close()
