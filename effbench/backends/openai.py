"""Any OpenAI-compatible server (`vllm serve`, or a cluster behind one endpoint), or several serving one model, with
bounded concurrency. Several endpoints are used as one (`endpoints`): fewest in flight first, the failing left out.

The API key is read from the environment (or a key file) when requests are sent; it is never
part of the configuration, so it is written to no run file and no log line.

Every wait is bounded: a request is given up once it has taken `request_timeout` seconds in all
(however slowly the server trickles its answer) and is retried while retries remain; the run stops
when no request has finished for `progress_timeout` seconds. What finished is stored either way.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
from pydantic import Field, field_validator

from effbench.backends.codec import TokenizerCodec, load_codec
from effbench.backends.endpoints import Endpoints, endpoint_urls
from effbench.backends.openai_request import RequestShape
from effbench.backends.openai_response import json_object, parse_choices
from effbench.backends.openai_stream import assemble, is_stream
from effbench.backends.server_tokens import checked
from effbench.config import json_object as json_object_value
from effbench.errors import BackendError, ConfigError
from effbench.schema import Strict
from effbench.types import Completion, EngineUse, Request, Timing

log = logging.getLogger("effbench")


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
        None,
        description="the model's tokenizer (path or hub name): answers located and reasoning counted in the server's "
        "token ids, not characters or the server's usage",
    )
    stream: bool = Field(
        True, description="stream answers, timing each completion's first token and first answer token (off where refused)"
    )
    extra_body: dict[str, Any] | None = Field(
        None,
        description='more fields for every request\'s body: JSON ({"top_k": 20}), or extra_body.KEY=VALUE words',
    )

    @field_validator("extra_body", mode="before")
    @classmethod
    def _json_object(cls, value: Any) -> Any:
        return json_object_value(value, "extra_body")


def create(config, options: Options) -> OpenAIBackend:
    return OpenAIBackend(config.model, options, enable_thinking=config.enable_thinking, reasoning_effort=config.reasoning_effort)


class NoTokenIds(Exception):
    """The server turned down return_token_ids while n completions were asked of one request: ask n requests of one."""


class OpenAIBackend:
    def __init__(self, model: str, options: Options, *, enable_thinking: bool | None = None, reasoning_effort: str | None = None):
        self.model, self.options = model, options
        self._said: set[str] = set()
        self._say = threading.Lock()
        template_kwargs = {} if enable_thinking is None else {"enable_thinking": enable_thinking}
        given = "base_url" in options.model_fields_set or options.base_urls_file is None  # else the default is no endpoint
        urls = endpoint_urls(options.base_url if given else "", self._listed_urls())
        headers = {"Authorization": f"Bearer {key}"} if (key := self._api_key()) else {}
        clients = {url: self._client(url, headers) for url in urls}  # every URL checked before any server is asked
        self._codec = load_codec(options.tokenizer) if options.tokenizer else None  # before the server is asked
        self.shape = RequestShape(model, template_kwargs, reasoning_effort, options.extra_body or {}, stream=options.stream)
        self.endpoints = Endpoints(
            urls,
            model,
            options.api_key_env,
            clients.__getitem__,
            request_timeout=options.request_timeout,
            max_retries=options.max_retries,
        )

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
        """The key, from `api_key_file` or the environment, surrounding whitespace dropped; one line where it holds what an
        HTTP header cannot carry (anything but ASCII letters, digits and punctuation)."""
        if self.options.api_key_file is not None:
            try:
                key, where = self.options.api_key_file.read_text().strip(), f"api_key_file {self.options.api_key_file}"
            except (OSError, UnicodeDecodeError):
                raise ConfigError(f"api_key_file {self.options.api_key_file} cannot be read") from None
        else:
            key, where = (
                os.environ.get(self.options.api_key_env, "").strip(),
                f"the environment variable {self.options.api_key_env}",
            )
        if (at := next((i for i, c in enumerate(key) if not "!" <= c <= "~"), None)) is not None:
            kind = "a space or control character" if key[at].isascii() else "a character that is not ASCII"
            raise ConfigError(
                f"the API key in {where} holds {kind} (at position {at + 1} of {len(key)}), which an HTTP header cannot "
                "carry; set it to the key alone, as its provider gave it"
            )
        return key or None

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
            "reasoning_effort": self.shape.reasoning_effort,
            "accepted": self.shape.describe(),  # what the server took of effbench's asks (learned by the first request)
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
        """The request's n completions. Until the endpoint has answered one request whole, requests go one at a time,
        so that what it does not take is learned once; where it gives no per-choice token ids, n completions are n
        requests of one, with the seeds vLLM gives a request's choices (s, s+1, …)."""
        if not self.shape.learned.is_set():
            with self.shape.first:
                if not self.shape.learned.is_set():
                    completions = self._complete_now(request)
                    self.shape.learned.set()
                    return completions
        return self._complete_now(request)

    def _complete_now(self, request: Request) -> list[Completion]:
        n = request.sampling.n
        if n > 1 and self.shape.accepted.return_token_ids:
            try:
                return self._ask(request, n, request.seed)
            except NoTokenIds:
                pass
        return [c for i in range(n) for c in self._ask(request, 1, (request.seed + i) % 2**32)]

    def _ask(self, request: Request, n: int, seed: int) -> list[Completion]:
        """One request for n completions, asked again (changed) where the server turns down a parameter of ours."""
        while True:
            path, body = self.shape.body(request, n, seed)
            answer = self.endpoints.post(path, body)
            if answer.status == 200:
                break
            self.endpoints.done(answer, None)
            if answer.status not in (400, 422) or not self.shape.adapt(body, answer.content):
                raise BackendError(f"the server answered HTTP {answer.status}: {answer.content[:200].decode('utf-8', 'replace')}")
            if n > 1 and not self.shape.accepted.return_token_ids:
                raise NoTokenIds()
        completions = None
        try:
            if is_stream(answer.content):
                data, timings = assemble(answer.chunks, request.reasoning)
            else:  # a whole answer: when its first tokens came is not seen
                data, timings = json_object(answer.content, "the server"), [Timing(round(answer.seconds, 4))] * n
            parsed = parse_choices(data, n)
            completions = [replace(self._counted(c, request), timing=t) for c, t in zip(parsed, timings, strict=True)]
        except BackendError as exc:  # an answer that cannot be true: which server gave it
            raise BackendError(f"{exc} (answered by {answer.endpoint.url})") from None
        finally:
            self.endpoints.done(answer, completions)
        return completions

    def _counted(self, completion: Completion, request: Request) -> Completion:
        """Reasoning tokens by effbench's own rule where the token ids and the tokenizer are at hand (up to the end of the
        reasoning's closing marker, as offline); else the server's `usage` figure, as parsed; 0 after a prefill that
        closed the reasoning, where neither counted any."""
        if completion.reasoning_tokens is None and request.prefill_closes_reasoning:
            completion = replace(completion, reasoning_tokens=0, reasoning_count_source="prefill")
        completion = checked(completion, self._codec, self.options.tokenizer)
        if completion.token_count_source == "retokenized":
            self._said_once("the server's token ids do not write its text; such completions are counted from their text "
                            f"with tokenizer={self.options.tokenizer} (counted_from: retokenized)")  # fmt: skip
        if completion.token_ids is None or self._codec is None:
            return completion
        text = completion.text if completion.reasoning is None else completion.reasoning + completion.text
        counted = self._codec.reasoning_tokens(completion.token_ids, text, request.reasoning)
        if counted is None:
            return completion  # as counted above
        return replace(completion, reasoning_tokens=counted, reasoning_count_source="token_ids")

    def _said_once(self, warning: str) -> None:
        with self._say:
            if warning in self._said:
                return
            self._said.add(warning)
        log.warning("%s", warning)

    def engines(self) -> tuple[EngineUse, ...]:
        return self.endpoints.meter.reading()

    def close(self) -> None:
        self.endpoints.close()
