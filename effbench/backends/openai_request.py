"""What a request to an OpenAI-compatible server holds, and what the server was found to accept.

effbench asks for what it needs (vLLM's `return_token_ids`, a per-request `seed`, `max_tokens`) and
learns from the first request what the endpoint takes: a 400 that names one of these parameters drops
it, or renames `max_tokens` to `max_completion_tokens` (what reasoning models behind hosted APIs take),
once, with one line. A 400 that names anything else (a sampling setting, `reasoning_effort`, an
`extra_body` key) is the user's to change: dropping it would change what is generated.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import asdict, dataclass
from typing import Any

from effbench.types import Request

log = logging.getLogger("effbench")
ADAPTABLE = ("return_token_ids", "max_tokens", "seed", "stream_options", "stream")  # a 400 naming one: a changed request
ADAPTED = {
    "return_token_ids": "tokens are counted from its usage, one completion a request",
    "max_tokens": "sent as max_completion_tokens",
    "seed": "its completions are not reproducible",
    "stream": "its answers come whole, timed as a whole (no first-token times)",
    "stream_options": "its answers come whole, timed as a whole (no first-token times)",
}


@dataclass
class Accepted:
    """What the endpoint takes: effbench's asks that it turned down are off."""

    return_token_ids: bool = True
    seed: bool = True
    budget_key: str = "max_tokens"
    stream: bool = True  # streamed answers time each completion's first token and first answer token


class RequestShape:
    """The request bodies of one backend, and what its endpoint accepts (learned once, shared by its threads)."""

    def __init__(
        self,
        model: str,
        template_kwargs: dict[str, Any],
        reasoning_effort: str | None,
        extra_body: dict[str, Any],
        *,
        stream: bool = True,
    ):
        self.model, self.template_kwargs, self.reasoning_effort, self.extra_body = (
            model,
            template_kwargs,
            reasoning_effort,
            extra_body,
        )
        self.accepted = Accepted(stream=stream)
        self.learned = threading.Event()  # an endpoint has answered one request whole
        self.first = threading.Lock()  # held by the request that learns, while the others wait
        self._lock = threading.Lock()

    def body(self, request: Request, n: int, seed: int) -> tuple[str, dict[str, Any]]:
        """(path, body) of a request for `n` completions of `request`."""
        s = request.sampling
        body: dict[str, Any] = {"model": self.model, "n": n, "temperature": s.temperature, "top_p": s.top_p}
        body[self.accepted.budget_key] = s.max_tokens
        if self.accepted.seed:
            body["seed"] = seed
        if self.accepted.return_token_ids:
            body["return_token_ids"] = True
        if self.accepted.stream:
            body.update(stream=True, stream_options={"include_usage": True})
        if s.top_k > 0:
            body["top_k"] = s.top_k
        if self.reasoning_effort is not None:
            body["reasoning_effort"] = self.reasoning_effort
        if isinstance(request.prompt, str):
            path, body["prompt"] = "/completions", request.prompt + request.prefill
        else:
            path, body["messages"] = "/chat/completions", list(request.prompt)
            if self.template_kwargs:
                body["chat_template_kwargs"] = self.template_kwargs
            if request.prefill:  # vLLM's way to continue the assistant's turn from its first words
                body["messages"].append({"role": "assistant", "content": request.prefill})
                body.update(continue_final_message=True, add_generation_prompt=False)
        return path, {**body, **self.extra_body}

    def adapt(self, sent: dict[str, Any], answer: bytes) -> bool:
        """After a 400 or 422 to `sent`: change what the next request asks where the answer names a parameter of
        ours that can go (said once); False where it names none, and the answer is the user's to read."""
        named = refused_parameter(answer, [key for key in ADAPTABLE if key in sent])
        if named is None:
            return False
        with self._lock:
            changed = self._turn_down(named)
        if changed:
            log.warning("the server does not take %s: %s", named, ADAPTED[named])
        return True

    def _turn_down(self, name: str) -> bool:
        if name == "max_tokens":
            changed, self.accepted.budget_key = self.accepted.budget_key != "max_completion_tokens", "max_completion_tokens"
        elif name == "seed":
            changed, self.accepted.seed = self.accepted.seed, False
        elif name in ("stream", "stream_options"):
            changed, self.accepted.stream = self.accepted.stream, False
        else:
            changed, self.accepted.return_token_ids = self.accepted.return_token_ids, False
        return changed

    def describe(self) -> dict[str, Any]:
        return asdict(self.accepted)


REFUSAL = re.compile(r"unsupported|not supported|does not support|unrecognized|unknown|extra|not permitted|not allowed", re.I)


def refused_parameter(answer: bytes, candidates: list[str]) -> str | None:
    """Which of `candidates` a server's 400 turns down as a parameter it does not take: its `error.param`, else the
    first named in its message; None where the 400 is about something else (a value too large, say)."""
    text = answer[:4000].decode("utf-8", "replace")
    if not REFUSAL.search(text):
        return None
    try:
        error = json.loads(text).get("error")
    except (json.JSONDecodeError, AttributeError):
        error = None
    if isinstance(error, dict) and error.get("param") in candidates:
        return str(error["param"])
    for name in candidates:
        if re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", text):
            return name
    return None
