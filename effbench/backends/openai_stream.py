"""A streamed answer (server-sent events) put back together, with when each completion's tokens arrived.

Each event is timed by the arrival of the bytes that ended it. A completion's first token is its first event that
carries text or token ids; its first answer token, the first event that carries text of its answer: after the server
split off the reasoning (`reasoning_content`), or past the reasoning's closing marker in its text, as the grader
splits it. The answer is rebuilt in the shape of a whole one, so that it is read by the same strict parser.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from effbench.backends.openai_response import json_object
from effbench.errors import BackendError
from effbench.grading.reasoning import ReasoningFormat
from effbench.types import Timing


@dataclass
class Choice:
    content: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    token_ids: list[int] | None = None
    finish_reason: Any = None
    first_token: float | None = None
    content_at: list[tuple[float, int]] = field(default_factory=list)  # (arrival, characters of content so far)
    last: float = 0.0


def is_stream(content: bytes) -> bool:
    return content.lstrip().startswith((b"data:", b":"))


def assemble(chunks: Sequence[tuple[float, bytes]], reasoning: ReasoningFormat) -> tuple[dict[str, Any], list[Timing]]:
    """The answer as one response (`choices` with whole messages, `usage`), and each choice's timing, in index order."""
    choices: dict[int, Choice] = {}
    usage: Any = None
    for at, event in _events(chunks):
        data = json_object(event, "the server's stream")
        usage = data.get("usage") or usage
        for part in data.get("choices") or ():
            if not isinstance(part, dict) or not isinstance(part.get("index", 0), int):
                raise BackendError("the server's stream has a choice that is not an object with an index")
            _take(choices.setdefault(part.get("index", 0), Choice()), part, at)
    whole = [_whole(index, choice) for index, choice in sorted(choices.items())]
    return {"choices": whole, "usage": usage}, [_timing(choice, reasoning) for _, choice in sorted(choices.items())]


def _events(chunks: Sequence[tuple[float, bytes]]) -> list[tuple[float, bytes]]:
    """The `data:` payloads, each with the arrival of its last byte; the stream ends at `[DONE]`."""
    events: list[tuple[float, bytes]] = []
    buffer = b""
    for at, chunk in chunks:
        buffer += chunk.replace(b"\r\n", b"\n")
        *complete, buffer = buffer.split(b"\n\n")
        for block in complete:
            payload = b"\n".join(line[5:].strip() for line in block.split(b"\n") if line.startswith(b"data:"))
            if payload == b"[DONE]":
                return events
            if payload:
                events.append((at, payload))
    return events


def _take(choice: Choice, part: dict[str, Any], at: float) -> None:
    delta = part.get("delta") or {}
    if not isinstance(delta, dict):
        raise BackendError(f"the server's stream has a delta of type {type(delta).__name__}, not an object")
    text = part.get("text") if "text" in part else delta.get("content")
    thought = delta.get("reasoning_content") or delta.get("reasoning")
    ids = part.get("token_ids")
    for name, value in (("content", text), ("reasoning", thought)):
        if value is not None and not isinstance(value, str):
            raise BackendError(f"the server's stream has a {name} of type {type(value).__name__}, not text")
    if ids is not None:
        if not isinstance(ids, list):
            raise BackendError("the server's stream has token_ids that are not a list")
        choice.token_ids = [*(choice.token_ids or []), *ids]
    if (text or thought or ids) and choice.first_token is None:
        choice.first_token = at
    if thought:
        choice.reasoning.append(thought)
    if text:
        choice.content.append(text)
        choice.content_at.append((at, sum(map(len, choice.content))))
    if part.get("finish_reason") is not None:
        choice.finish_reason = part["finish_reason"]
    choice.last = at


def _whole(index: int, choice: Choice) -> dict[str, Any]:
    message = {
        "content": "".join(choice.content),
        **({"reasoning_content": "".join(choice.reasoning)} if choice.reasoning else {}),
    }
    whole: dict[str, Any] = {"index": index, "message": message, "finish_reason": choice.finish_reason}
    if choice.token_ids is not None:
        whole["token_ids"] = choice.token_ids
    return whole


def _timing(choice: Choice, reasoning: ReasoningFormat) -> Timing:
    text = "".join(choice.content)
    if choice.reasoning:
        answer_from = 0  # the server split the reasoning off: all of the content is answer
    else:
        end = reasoning.reasoning_end(text)
        answer_from = end[1] if end else (len(text) if reasoning.is_open(text) else 0)
    first_answer = next(
        (at for at, length in choice.content_at if length > answer_from and text[answer_from:length].strip()), None
    )
    return Timing(round(choice.last, 4), _rounded(choice.first_token), _rounded(first_answer))


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
