"""Any OpenAI-compatible server (`vllm serve`, or a cluster behind one endpoint), or several serving one model, with
bounded concurrency. Several endpoints are used as one (`endpoints`): fewest in flight first, the failing left out.

The API key is read from the environment (or a key file) when requests are sent; it is never
part of the configuration, so it is written to no run file and no log line.

Every wait is bounded: a request is given up once it has taken `request_timeout` seconds in all
(however slowly the server trickles its answer) and is retried while retries remain; the run stops
when no request has finished for `progress_timeout` seconds. What finished is stored either way.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
from pydantic import Field

from effbench.backends.codec import TokenizerCodec, load_codec
from effbench.backends.endpoints import Endpoint, Endpoints, endpoint_urls
from effbench.backends.openai_response import json_object, parse_choices
from effbench.backends.usage import Meter
from effbench.errors import BackendError, ConfigError
from effbench.schema import Strict
from effbench.types import Completion, EngineUse, Request

TRANSIENT = {408, 409, 425, 429, 500, 502, 503, 504}


class Options(Strict):
    base_url: str = Field(
        "http://127.0.0.1:8000/v1", description="the server's OpenAI API root; several, comma-separated, serving one model"
    )
    base_urls_file: Path | None = Field(None, description="a file of more API roots, one a line (# starts a comment)")
    api_key_env: str = Field("OPENAI_API_KEY", description="environment variable holding the API key (if any)")
    api_key_file: Path | None = Field(None, description="file holding the API key (instead of the environment)")
    concurrency: int = Field(32, ge=1, description="requests in flight at once, per endpoint")
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
        given = "base_url" in options.model_fields_set or options.base_urls_file is None  # else the default is no endpoint
        urls = endpoint_urls(options.base_url if given else "", self._listed_urls())
        headers = {"Authorization": f"Bearer {key}"} if (key := self._api_key()) else {}
        clients = {url: self._client(url, headers) for url in urls}  # every URL checked before any server is asked
        self._codec = load_codec(options.tokenizer) if options.tokenizer else None  # before the server is asked
        self.meter = Meter(urls)
        self.endpoints = Endpoints(urls, model, options.api_key_env, clients.__getitem__)

    def _listed_urls(self) -> list[str]:
        if self.options.base_urls_file is None:
            return []
        try:
            lines = self.options.base_urls_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            raise ConfigError(f"base_urls_file {self.options.base_urls_file} cannot be read") from None
        return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]

    def _client(self, url: str, headers: dict[str, str]) -> httpx.Client:
        try:
            return httpx.Client(
                base_url=url,
                headers=headers,
                timeout=self.options.request_timeout,
                limits=httpx.Limits(max_connections=self.options.concurrency),
            )
        except (httpx.InvalidURL, ValueError) as exc:
            raise ConfigError(
                f"base_url={url} is not a URL ({exc}); give the server's API root, such as http://127.0.0.1:8000/v1"
            ) from None

    def _api_key(self) -> str | None:
        if self.options.api_key_file is not None:
            try:
                return self.options.api_key_file.read_text().strip()
            except (OSError, UnicodeDecodeError):
                raise ConfigError(f"api_key_file {self.options.api_key_file} cannot be read") from None
        return os.environ.get(self.options.api_key_env) or None

    def codec_for(self, completion: Completion) -> TokenizerCodec | None:
        """The `tokenizer=` given, where the server returned the completion's token ids; else None (positions in characters)."""
        return self._codec if completion.token_ids is not None else None

    def describe(self) -> dict[str, Any]:
        options = self.options.model_dump(mode="json", exclude={"api_key_file"})
        return {
            "engine": "openai-compatible server",
            "model": self.model,
            **options,
            "endpoints": [e.url for e in self.endpoints.all],
        }

    def generate(self, requests: Sequence[Request]) -> Iterator[tuple[Request, list[Completion]]]:
        """`concurrency` requests in flight per endpoint, each answer handed back as it arrives. The senders are daemon threads: a
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
                try:
                    answers.put((request, self._complete(request), None))
                except BaseException as exc:  # handed to the generator, which raises it in the caller's thread
                    answers.put((request, None, exc))

        for _ in range(min(self.options.concurrency * len(self.endpoints.all), len(requests))):
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
        endpoint, content = self._post(path, body)
        completions = None
        try:
            completions = parse_choices(json_object(content, "the server"), s.n)
        finally:
            self.endpoints.release(endpoint)
            self.meter.end(endpoint.url, completions)
        return completions

    def _post(self, path: str, body: dict[str, Any]) -> tuple[Endpoint, bytes]:
        """The endpoint that answered, and its answer. A failure on one endpoint sends the request to another; it
        counts as a retry only where no other endpoint is there to take it."""
        retries = 0
        while True:
            endpoint = self.endpoints.acquire()
            if endpoint is None:
                retries += 1
                if retries > self.options.max_retries:
                    whom = "the server" if len(self.endpoints.all) == 1 else "every endpoint"
                    raise BackendError(
                        f"{whom} kept failing ({self.endpoints.problems()}) after {self.options.max_retries} retries"
                    )
                self.endpoints.wait_for_one()
                continue
            self.meter.begin(endpoint.url)
            try:
                status, content = self._send(endpoint, path, body)
            except (httpx.TransportError, RequestTimeout) as exc:
                problem = "no whole answer within request_timeout" if isinstance(exc, RequestTimeout) else type(exc).__name__
            else:
                if status == 200:
                    return endpoint, content
                if status not in TRANSIENT:
                    self.endpoints.release(endpoint)
                    self.meter.end(endpoint.url, None)
                    raise BackendError(f"the server answered HTTP {status}: {content[:200].decode('utf-8', 'replace')}")
                problem = f"HTTP {status}"
            self.meter.end(endpoint.url, None)
            self.endpoints.failed(endpoint, problem)

    def _send(self, endpoint: Endpoint, path: str, body: dict[str, Any]) -> tuple[int, bytes]:
        """(status, body) of one request that may take `request_timeout` seconds in all, however its bytes arrive."""
        deadline = time.monotonic() + self.options.request_timeout
        chunks = []
        with endpoint.client.stream("POST", path, json=body) as response:
            for chunk in response.iter_bytes():
                chunks.append(chunk)
                if time.monotonic() > deadline:
                    raise RequestTimeout()
        return response.status_code, b"".join(chunks)

    def engines(self) -> tuple[EngineUse, ...]:
        return self.meter.reading()

    def close(self) -> None:
        self.endpoints.close()
