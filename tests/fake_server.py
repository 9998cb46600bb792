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
}


class FakeServer:
    """`with FakeServer(mode) as url:` serves on a free port until the block ends; mode "body" answers `body`.

    `model` is the model it serves, `delay` the seconds each completion takes; after `die_after` completions it
    dies as a killed server does: the connections of the requests it holds drop, and new ones are refused."""

    def __init__(self, mode: str, body: bytes = b"", *, model: str = "m", delay: float = 0.0, die_after: int | None = None):
        self.mode, self.body, self.model, self.delay, self.die_after = mode, body, model, delay, die_after
        self.answered = 0
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
                self._answer(MODELS.get(mode, json.dumps({"data": [{"id": fake.model}]}).encode()))

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                time.sleep(fake.delay)
                with fake.lock:
                    dead = fake.die_after is not None and fake.answered >= fake.die_after
                    fake.answered += not dead
                if dead:
                    fake.die()
                    self.close_connection = True
                    self.connection.close()
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
                self._answer(body if mode == "body" else COMPLETIONS[mode])

            def _answer(self, body: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler
