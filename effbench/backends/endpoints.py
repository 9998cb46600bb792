"""Several OpenAI-compatible endpoints serving one model, used as one: each request goes to the endpoint with the
fewest in flight, and an endpoint that fails is left out for a while.

An endpoint that fails (no connection, a 5xx or 429, no whole answer in time) is left out for 1 s, then 2,
4, … up to a minute while it keeps failing, and its requests go to the others; the next request after that
time tries it again. With one endpoint this is the retry back-off; with several, the run goes on while any
endpoint answers. Each endpoint is asked `/models` before it gets requests: one that serves another model,
refuses the key or is not an API root stops the run with one line that names it.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from effbench.backends.openai_response import json_object, served_models
from effbench.backends.usage import Meter
from effbench.errors import BackendError, ConfigError
from effbench.types import Completion

log = logging.getLogger("effbench")
LONGEST_OUT_S = 60.0
CHECK_TIMEOUT_S = 10.0
TRANSIENT = {408, 409, 425, 429, 500, 502, 503, 504}
MOST_BODY_BYTES = 2**30  # an answer's: n long completions streamed token by token stay far below
MOST_MODELS_BYTES = 2**26  # a `/models` answer's


class RequestTimeout(Exception):
    """A request took its whole time: retried like a transient error."""


@dataclass(frozen=True)
class Answer:
    """A request's answer: the endpoint that gave it (held until `Endpoints.done`), its status and body."""

    endpoint: Endpoint
    status: int
    content: bytes
    seconds: float  # from sending the request to its whole answer
    chunks: tuple[tuple[float, bytes], ...] = ()  # the answer's bytes as they arrived, each with its seconds since sent


class EndpointDown(BackendError):
    """The endpoint does not answer, or answers with a server error: worth trying again later."""


@dataclass(eq=False)
class Endpoint:
    url: str
    client: httpx.Client
    in_flight: int = 0
    failures: int = 0  # in a row
    out_until: float = 0.0
    checked: bool = False  # its /models answered and serves the model
    problem: str | None = None  # why it is left out
    asked_until: float | None = None  # until when it asked to be left alone (Retry-After), where it did


def endpoint_urls(base_url: str, listed: list[str]) -> list[str]:
    """The endpoints named by `base_url` (comma-separated) and by the lines of a `base_urls_file`."""
    urls = [u.strip().rstrip("/") for u in [*base_url.split(","), *listed] if u.strip()]
    if not urls:
        raise ConfigError("base_url names no endpoint; give the server's API root, such as http://127.0.0.1:8000/v1")
    if len(set(urls)) != len(urls):
        raise ConfigError(f"an endpoint is named twice among {', '.join(urls)}")
    return urls


class Endpoints:
    """The endpoints of a run and their state, shared by the sending threads."""

    def __init__(
        self,
        urls: list[str],
        model: str,
        api_key_env: str,
        make_client: Callable[[str], httpx.Client],
        *,
        request_timeout: float,
        max_retries: int,
    ):
        self.model, self.api_key_env = model, api_key_env
        self.request_timeout, self.max_retries = request_timeout, max_retries
        self.all = [Endpoint(url, make_client(url)) for url in urls]
        self.meter = Meter(urls)
        self._lock = threading.Lock()
        self._check_at_start()

    def post(self, path: str, body: dict[str, Any]) -> Answer:
        """Send `body` to the endpoint with the fewest in flight: its answer, or a client error (4xx) for the caller to
        read. A failure on one endpoint sends the request to another; it counts as a retry only where no other
        endpoint is there to take it."""
        retries, started = 0, time.monotonic()
        while True:
            endpoint = self.acquire()
            if endpoint is None:
                wait = self.until_one(self.request_timeout - (time.monotonic() - started))
                retries += 1
                if retries > self.max_retries:
                    whom = "the server" if len(self.all) == 1 else "every endpoint"
                    raise BackendError(f"{whom} kept failing ({self.problems()}) after {self.max_retries} retries")
                time.sleep(wait)
                continue
            self.meter.begin(endpoint.url)
            sent = time.monotonic()
            asked = None
            try:
                status, chunks, asked = self._send(endpoint, path, body)
            except (httpx.TransportError, RequestTimeout) as exc:
                problem = "no whole answer within request_timeout" if isinstance(exc, RequestTimeout) else type(exc).__name__
            except BackendError:
                self.done(Answer(endpoint, 0, b"", 0.0), None)
                raise
            else:
                if status not in TRANSIENT:
                    timed = tuple((at - sent, chunk) for at, chunk in chunks)
                    return Answer(endpoint, status, b"".join(c for _, c in chunks), time.monotonic() - sent, timed)
                problem = f"HTTP {status}" + (f", Retry-After {asked:g} s" if asked is not None else "")
            self.meter.end(endpoint.url, None)
            self.failed(endpoint, problem, asked)

    def done(self, answer: Answer, completions: list[Completion] | None) -> None:
        """The caller is done with `answer`: its endpoint is free, and served `completions` (None: it served none)."""
        self.release(answer.endpoint)
        self.meter.end(answer.endpoint.url, completions)

    def _send(self, endpoint: Endpoint, path: str, body: dict[str, Any]) -> tuple[int, list[tuple[float, bytes]], float | None]:
        """(status, its body's chunks with the time each arrived, the seconds it asks to wait) of one request that may
        take `request_timeout` seconds in all, however its bytes arrive."""
        deadline = time.monotonic() + self.request_timeout
        with endpoint.client.stream("POST", path, json=body) as response:
            chunks = read_body(response, f"{endpoint.url}{path}", MOST_BODY_BYTES, deadline)
            asked = retry_after(response.headers.get("retry-after"))
        return response.status_code, chunks, asked

    def _check_at_start(self) -> None:
        """Every endpoint asked at once. One that is down is left out (the run needs one that answers); any other
        fault is the user's to fix, and stops the run."""
        with ThreadPoolExecutor(len(self.all)) as checks:
            found = list(checks.map(self._ask, self.all))
        down = [(e, problem) for e, problem in zip(self.all, found, strict=True) if problem is not None]
        if len(down) == len(self.all):
            raise down[0][1]
        for endpoint, problem in down:
            self._take_out(endpoint, str(problem))

    def _ask(self, endpoint: Endpoint) -> EndpointDown | None:
        try:
            self.check(endpoint)
        except EndpointDown as down:
            return down
        return None

    def check(self, endpoint: Endpoint) -> None:
        """Ask `/models`; EndpointDown where it does not answer, BackendError where it answers wrong."""
        url = f"{endpoint.url}/models"
        try:
            with endpoint.client.stream("GET", "/models", timeout=CHECK_TIMEOUT_S) as response:
                chunks = read_body(response, url, MOST_MODELS_BYTES, time.monotonic() + CHECK_TIMEOUT_S)
        except (httpx.HTTPError, httpx.InvalidURL, RequestTimeout) as exc:
            raise EndpointDown(f"the server at {url} does not answer ({type(exc).__name__}); start it or fix base_url") from None
        if response.status_code in (401, 403):
            raise BackendError(f"the server at {url} refused the API key (HTTP {response.status_code}); set {self.api_key_env}")
        if response.status_code >= 500:
            raise EndpointDown(f"the server at {url} answered HTTP {response.status_code}")
        if response.status_code != 200:
            raise BackendError(f"the server at {url} answered HTTP {response.status_code}; is base_url the API root (…/v1)?")
        content = b"".join(chunk for _, chunk in chunks)
        served = served_models(json_object(content, f"the server at {url}"), f"the server at {url}")
        if served and self.model not in served:
            raise BackendError(
                f"the server at {endpoint.url} does not serve model {self.model!r}; it serves: {', '.join(served)}"
            )
        endpoint.checked = True

    def acquire(self) -> Endpoint | None:
        """The endpoint to send the next request to: of those not left out, the one with the fewest in flight; None
        while every endpoint is left out. One that has not answered `/models` yet is asked first."""
        while True:
            with self._lock:
                now = time.monotonic()
                live = [e for e in self.all if e.out_until <= now]
                if not live:
                    return None
                endpoint = min(live, key=lambda e: e.in_flight)
                endpoint.in_flight += 1
            if endpoint.checked:
                return endpoint
            try:
                self.check(endpoint)
            except EndpointDown as down:
                self.failed(endpoint, str(down))
                continue
            except BackendError:
                self.release(endpoint)
                raise
            return endpoint

    def release(self, endpoint: Endpoint) -> None:
        """The request sent to `endpoint` was answered (or refused for what it asked, not for the endpoint's state)."""
        with self._lock:
            endpoint.in_flight -= 1
            back, endpoint.failures, endpoint.problem, endpoint.asked_until = endpoint.problem, 0, None, None
        if back is not None:
            log.warning("%s answers again", endpoint.url)

    def failed(self, endpoint: Endpoint, problem: str, asked: float | None = None) -> None:
        """The request sent to `endpoint` failed in a way that says the endpoint is not well: it is left out a while, or
        for the `asked` seconds it asked to be left alone."""
        with self._lock:
            endpoint.in_flight -= 1
        self._take_out(endpoint, problem, asked)

    def _take_out(self, endpoint: Endpoint, problem: str, asked: float | None = None) -> None:
        with self._lock:
            now = time.monotonic()
            if endpoint.out_until > now and asked is None:  # another request saw the same fault: one failure, not many
                return
            endpoint.failures += 1
            out_s = min(LONGEST_OUT_S, 2.0 ** (endpoint.failures - 1)) * (0.5 + random.random() / 2)
            endpoint.out_until = max(endpoint.out_until, now + max(out_s, asked or 0.0))
            endpoint.asked_until = None if asked is None else now + asked
            first, endpoint.problem = endpoint.problem is None, problem
            others = sum(1 for e in self.all if e is not endpoint and e.out_until <= now)
        if first and len(self.all) > 1:
            where = f"the {others} other endpoints that answer" if others else "the first endpoint to answer again"
            log.warning("%s left out of the run for now (%s); its requests go to %s", endpoint.url, problem, where)

    def until_one(self, left: float) -> float:
        """The seconds until the first endpoint left out may be tried again; one line where that endpoint asked for a
        wait longer than the `left` seconds of the request's time."""
        with self._lock:
            now, soonest = time.monotonic(), min(self.all, key=lambda e: e.out_until)
            wait, asked = max(0.0, soonest.out_until - now), None if soonest.asked_until is None else soonest.asked_until - now
        if asked is not None and asked > left:
            raise BackendError(
                f"the server at {soonest.url} asked to wait {asked:,.0f} s before it is asked again (Retry-After), more "
                f"than the {max(0.0, left):,.0f} s left of request_timeout={self.request_timeout:g}; raise request_timeout= "
                "or run again later"
            )
        return wait

    def problems(self) -> str:
        with self._lock:
            return "; ".join(f"{e.url}: {e.problem}" for e in self.all if e.problem) or "no answer"

    def close(self) -> None:
        for endpoint in self.all:
            endpoint.client.close()


def read_body(response: httpx.Response, url: str, most: int, deadline: float) -> list[tuple[float, bytes]]:
    """The chunks of an answer's body, each with the time it arrived; RequestTimeout past `deadline`, and one line where
    it holds more than `most` bytes or its `Content-Encoding` does not decode it."""
    chunks, size = [], 0
    try:
        for chunk in response.iter_bytes():
            chunks.append((time.monotonic(), chunk))
            size += len(chunk)
            if size > most:
                raise BackendError(f"the server at {url} answered more than {most // 2**20:,} MiB; is base_url an API root?")
            if time.monotonic() > deadline:
                raise RequestTimeout()
    except httpx.DecodingError:
        encoding = response.headers.get("content-encoding", "")[:40]
        raise BackendError(
            f"the server at {url} answered a body that its Content-Encoding ({encoding!r}) does not decode; is a proxy "
            "between effbench and the server rewriting it?"
        ) from None
    return chunks


def retry_after(value: str | None) -> float | None:
    """The seconds a `Retry-After` header asks to wait (a number of seconds, or an HTTP date); None where it says none."""
    value = (value or "").strip()
    if value.isascii() and value.isdigit():
        return min(float(value), 1e12)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    when = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
