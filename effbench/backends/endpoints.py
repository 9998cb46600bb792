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
        retries = 0
        while True:
            endpoint = self.acquire()
            if endpoint is None:
                retries += 1
                if retries > self.max_retries:
                    whom = "the server" if len(self.all) == 1 else "every endpoint"
                    raise BackendError(f"{whom} kept failing ({self.problems()}) after {self.max_retries} retries")
                self.wait_for_one()
                continue
            self.meter.begin(endpoint.url)
            sent = time.monotonic()
            try:
                status, chunks = self._send(endpoint, path, body)
            except (httpx.TransportError, RequestTimeout) as exc:
                problem = "no whole answer within request_timeout" if isinstance(exc, RequestTimeout) else type(exc).__name__
            else:
                if status not in TRANSIENT:
                    timed = tuple((at - sent, chunk) for at, chunk in chunks)
                    return Answer(endpoint, status, b"".join(c for _, c in chunks), time.monotonic() - sent, timed)
                problem = f"HTTP {status}"
            self.meter.end(endpoint.url, None)
            self.failed(endpoint, problem)

    def done(self, answer: Answer, completions: list[Completion] | None) -> None:
        """The caller is done with `answer`: its endpoint is free, and served `completions` (None: it served none)."""
        self.release(answer.endpoint)
        self.meter.end(answer.endpoint.url, completions)

    def _send(self, endpoint: Endpoint, path: str, body: dict[str, Any]) -> tuple[int, list[tuple[float, bytes]]]:
        """(status, its body's chunks with the time each arrived) of one request that may take `request_timeout`
        seconds in all, however its bytes arrive."""
        deadline = time.monotonic() + self.request_timeout
        chunks = []
        with endpoint.client.stream("POST", path, json=body) as response:
            for chunk in response.iter_bytes():
                chunks.append((time.monotonic(), chunk))
                if time.monotonic() > deadline:
                    raise RequestTimeout()
        return response.status_code, chunks

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
            response = endpoint.client.get("/models", timeout=CHECK_TIMEOUT_S)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise EndpointDown(f"the server at {url} does not answer ({type(exc).__name__}); start it or fix base_url") from None
        if response.status_code in (401, 403):
            raise BackendError(f"the server at {url} refused the API key (HTTP {response.status_code}); set {self.api_key_env}")
        if response.status_code >= 500:
            raise EndpointDown(f"the server at {url} answered HTTP {response.status_code}")
        if response.status_code != 200:
            raise BackendError(f"the server at {url} answered HTTP {response.status_code}; is base_url the API root (…/v1)?")
        served = served_models(json_object(response.content, f"the server at {url}"), f"the server at {url}")
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
            back, endpoint.failures, endpoint.problem = endpoint.problem, 0, None
        if back is not None:
            log.warning("%s answers again", endpoint.url)

    def failed(self, endpoint: Endpoint, problem: str) -> None:
        """The request sent to `endpoint` failed in a way that says the endpoint is not well: it is left out a while."""
        with self._lock:
            endpoint.in_flight -= 1
        self._take_out(endpoint, problem)

    def _take_out(self, endpoint: Endpoint, problem: str) -> None:
        with self._lock:
            if endpoint.out_until > time.monotonic():  # another request saw the same fault: one failure, not many
                return
            endpoint.failures += 1
            out_s = min(LONGEST_OUT_S, 2.0 ** (endpoint.failures - 1)) * (0.5 + random.random() / 2)
            endpoint.out_until = time.monotonic() + out_s
            first, endpoint.problem = endpoint.problem is None, problem
            others = sum(1 for e in self.all if e is not endpoint and e.out_until <= time.monotonic())
        if first and len(self.all) > 1:
            where = f"the {others} other endpoints that answer" if others else "the first endpoint to answer again"
            log.warning("%s left out of the run for now (%s); its requests go to %s", endpoint.url, problem, where)

    def wait_for_one(self) -> None:
        """Sleep until the first endpoint left out may be tried again."""
        with self._lock:
            soonest = min(e.out_until for e in self.all)
        time.sleep(max(0.0, soonest - time.monotonic()))

    def problems(self) -> str:
        with self._lock:
            return "; ".join(f"{e.url}: {e.problem}" for e in self.all if e.problem) or "no answer"

    def close(self) -> None:
        for endpoint in self.all:
            endpoint.client.close()
