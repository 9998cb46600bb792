"""What an OpenAI-compatible server answers, read strictly: anything that is not the API's shape is one line.

A server behind a proxy may answer HTML, a JSON list, `choices: "x"`, a `null` or integer content,
or `token_ids: "abc"`; each is refused with what it was, never counted or graded as if it were text.
"""

from __future__ import annotations

import json
from typing import Any

from effbench.errors import BackendError
from effbench.text import without_surrogates
from effbench.types import Completion


def json_object(body: bytes, where: str) -> dict[str, Any]:
    """The body as a JSON object, or a BackendError that says what came instead."""
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        start = body[:60].decode("utf-8", "replace").strip().replace("\n", " ")
        raise BackendError(
            f"{where} answered something that is not JSON ({start!r}…); is base_url the API root (…/v1)?"
        ) from None
    if not isinstance(data, dict):
        raise BackendError(f"{where} answered a JSON {type(data).__name__}, not an object; is base_url the API root (…/v1)?")
    return data


def served_models(data: dict[str, Any], where: str) -> list[str]:
    """The ids of a `/models` answer."""
    models = data.get("data")
    if not isinstance(models, list) or not all(isinstance(m, dict) for m in models):
        raise BackendError(
            f"{where} answered no model list (`data` is {type(models).__name__}); is base_url the API root (…/v1)?"
        )
    return [str(m.get("id")) for m in models]


def parse_choices(data: dict[str, Any], n: int) -> list[Completion]:
    """Completions from a response; token counts from each choice's token ids, else from usage (n=1 only)."""
    choices = data.get("choices")
    if not isinstance(choices, list) or not all(isinstance(c, dict) for c in choices):
        raise BackendError(f"the server's answer has no list of choices (`choices` is {type(choices).__name__})")
    if len(choices) != n:
        raise BackendError(f"the server returned {len(choices)} choices, asked for {n}")
    return [_completion(choice, data, n) for choice in sorted(choices, key=lambda c: _index(c))]


def _index(choice: dict[str, Any]) -> int:
    index = choice.get("index", 0)
    return index if isinstance(index, int) else 0


def _usage(data: dict[str, Any]) -> Any:
    usage = data.get("usage")
    return usage.get("completion_tokens") if isinstance(usage, dict) else None


def _completion(choice: dict[str, Any], data: dict[str, Any], n: int) -> Completion:
    message = choice.get("message") or {}
    if not isinstance(message, dict):
        raise BackendError(f"the server's choice has a message of type {type(message).__name__}, not an object")
    text = choice.get("text") if "text" in choice else message.get("content")
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    for name, value in (("content", text), ("reasoning", reasoning)):
        if value is not None and not isinstance(value, str):
            raise BackendError(f"the server's choice has a {name} of type {type(value).__name__}, not text")
    ids = choice.get("token_ids")
    if ids is not None and (not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids)):
        raise BackendError("the server's token_ids are not a list of integers; it cannot be counted in tokens")
    if ids is not None:
        tokens, source = len(ids), "token_ids"
    elif n == 1 and isinstance(usage := _usage(data), int):
        tokens, source = usage, "usage"
    else:
        raise BackendError("the server gives no per-choice token ids (vLLM's return_token_ids); use n=1 with it")
    finish = choice.get("finish_reason")
    return Completion(
        text=without_surrogates(text or ""),
        tokens=tokens,
        finish_reason=finish if isinstance(finish, str) else "unknown",
        token_ids=tuple(ids) if ids is not None else None,
        reasoning=without_surrogates(reasoning),
        token_count_source=source,
    )
