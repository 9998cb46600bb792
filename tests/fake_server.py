"""A misbehaving OpenAI-compatible server for the openai backend's tests: each mode answers one wrong way."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GOOD_CHOICE = {"index": 0, "message": {"content": "\\boxed{18}"}, "finish_reason": "stop", "token_ids": [1, 2, 3]}
COMPLETIONS = {  # mode -> body of /chat/completions (bytes), or a callable that writes the answer itself
    "good": json.dumps({"choices": [GOOD_CHOICE]}).encode(),
    "html": b"<html><body>502 Bad Gateway</body></html>",
    "list": b"[1, 2, 3]",
    "choices-text": json.dumps({"choices": "x"}).encode(),
    "null-content": json.dumps({"choices": [{**GOOD_CHOICE, "message": {"content": None}}]}).encode(),
    "int-content": json.dumps({"choices": [{**GOOD_CHOICE, "message": {"content": 42}}]}).encode(),
    "text-token-ids": json.dumps({"choices": [{**GOOD_CHOICE, "token_ids": "abc"}]}).encode(),
    "surrogate": b'{"choices": [{"index": 0, "message": {"content": "\\\\boxed{18} \\ud800"}, "finish_reason": "stop", '
    b'"token_ids": [1, 2]}]}',
}
MODELS = {  # mode -> body of /models
    "models-html": b"<!doctype html><p>hello</p>",
    "models-list": b"[]",
    "models-not-json": b"{not json",
    "models-data-text": json.dumps({"data": "m"}).encode(),
    "models-deep": b"[" * 200_000,
}


class FakeServer:
    """`with FakeServer(mode) as url:` serves on a free port until the block ends; mode "body" answers `body`.

    `model` is the model it serves, `delay` the seconds each completion takes; after `die_after` completions it
    dies as a killed server does: the connections of the requests it holds drop, and new ones are refused.
    `headers` go with each completion, `models_headers` with each `/models`; `refuse` (a status and its headers)
    answers the first `refusals` completions (all, where None) instead. `posted` holds when each completion was asked."""

    def __init__(
        self,
        mode: str,
        body: bytes = b"",
        *,
        model: str = "m",
        delay: float = 0.0,
        die_after: int | None = None,
        headers: dict[str, str] | None = None,
        models_headers: dict[str, str] | None = None,
        refuse: tuple[int, dict[str, str]] | None = None,
        refusals: int | None = None,
    ):
        self.mode, self.body, self.model, self.delay, self.die_after = mode, body, model, delay, die_after
        self.headers, self.models_headers, self.refuse, self.refusals = headers or {}, models_headers or {}, refuse, refusals
        self.answered = 0
        self.refused = 0
        self.posted: list[float] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True

    def die(self) -> None:
        def stop() -> None:
            self.server.shutdown()
            self.server.server_close()

        threading.Thread(target=stop, daemon=True).start()

    def __enter__(self) -> str:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        mode, body, fake = self.mode, self.body, self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                self._answer(MODELS.get(mode, json.dumps({"data": [{"id": fake.model}]}).encode()), fake.models_headers)

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                fake.posted.append(time.monotonic())
                time.sleep(fake.delay)
                with fake.lock:
                    dead = fake.die_after is not None and fake.answered >= fake.die_after
                    fake.answered += not dead
                if dead:
                    fake.die()
                    self.close_connection = True
                    self.connection.close()
                    return
                with fake.lock:
                    refuse = fake.refuse is not None and (fake.refusals is None or fake.refused < fake.refusals)
                    fake.refused += refuse
                if refuse and fake.refuse is not None:
                    self._answer(b'{"error": {"message": "slow down"}}', fake.refuse[1], fake.refuse[0])
                    return
                if mode == "hang":
                    time.sleep(3600)
                if mode == "trickle":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    for _ in range(3600):
                        self.wfile.write(b" ")
                        self.wfile.flush()
                        time.sleep(0.2)
                    return
                self._answer(body if mode == "body" else COMPLETIONS[mode], fake.headers)

            def _answer(self, body: bytes, headers: dict[str, str], status: int = 200) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

        return Handler


API_TAKES = {"model", "messages", "n", "temperature", "top_p", "seed", "max_completion_tokens", "reasoning_effort",
             "service_tier", "stop"}  # fmt: skip
API_THINKS = {None: 300, "low": 100, "medium": 300, "high": 900}  # reasoning tokens at each reasoning_effort


class HostedApi:
    """A strict hosted reasoning API, as OpenAI's serves o-series models: unknown parameters and `max_tokens` are
    refused with a 400 that names them, no token ids are returned, the reasoning is hidden and counted in `usage`
    (more of it at a higher `reasoning_effort`), `usage` sums the choices of a request, and 24 of every prompt's 40
    tokens are read from its cache. `requests` holds every body it was sent."""

    def __init__(self, answer: str = "The answer is \\boxed{18}."):
        self.answer, self.requests = answer, []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True

    def __enter__(self) -> str:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reply(self, body: dict) -> tuple[int, dict]:
        self.requests.append(body)
        if "max_tokens" in body:
            message = "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead."
            return 400, {"error": {"message": message, "type": "invalid_request_error", "param": "max_tokens"}}
        unknown = sorted(set(body) - API_TAKES)
        if unknown:
            return 400, {"error": {"message": f"Unrecognized request argument supplied: {unknown[0]}", "param": None}}
        thinking = API_THINKS[body.get("reasoning_effort")]
        choices = [{"index": i, "message": {"role": "assistant", "content": self.answer}, "finish_reason": "stop"}
                   for i in range(body.get("n", 1))]  # fmt: skip
        written = len(choices) * (thinking + 5)
        usage = {"prompt_tokens": 40, "completion_tokens": written, "prompt_tokens_details": {"cached_tokens": 24},
                 "completion_tokens_details": {"reasoning_tokens": len(choices) * thinking}}  # fmt: skip
        return 200, {"id": "x", "object": "chat.completion", "choices": choices, "usage": usage}

    def _handler(self):
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                self._answer(200, {"object": "list", "data": [{"id": "m", "object": "model"}]})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                self._answer(*api.reply(body))

            def _answer(self, status: int, data: dict) -> None:
                content = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

        return Handler


class StreamingServer:
    """A vLLM-like server that streams: the thinking at once, then `pause` seconds, then the answer; token ids in each
    chunk and usage in the last. With `split`, the thinking comes as `reasoning_content` (a reasoning parser's way)."""

    def __init__(self, pause: float, *, split: bool = False):
        self.pause, self.split = pause, split
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True

    def __enter__(self) -> str:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def pieces(self) -> list[tuple[float, dict]]:
        """(seconds to wait before it, delta) of each chunk."""
        thinking = [{"reasoning_content": t} for t in ("Add", " them.")] if self.split else [
            {"content": t} for t in ("<think>", "Add", " them.", "</think>")]  # fmt: skip
        return [(0.0, d) for d in thinking] + [(self.pause, {"content": " \\boxed{18}"}), (0.0, {"content": "."})]

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                body = json.dumps({"data": [{"id": "m"}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                pieces = fake.pieces()
                for number, (wait, delta) in enumerate(pieces):
                    time.sleep(wait)
                    last = number == len(pieces) - 1
                    choice = {"index": 0, "delta": delta, "token_ids": [number + 1], "finish_reason": "stop" if last else None}
                    self._event({"choices": [choice]})
                self._event({"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": len(pieces)}})
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

            def _event(self, data: dict) -> None:
                self.wfile.write(b"data: " + json.dumps(data).encode() + b"\n\n")
                self.wfile.flush()

        return Handler
