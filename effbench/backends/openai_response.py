"""What an OpenAI-compatible server answers, read strictly: anything that is not the API's shape is one line.

A server behind a proxy may answer HTML, a JSON list, `choices: "x"`, a `null` or integer content,
or `token_ids: "abc"`; each is refused with what it was, never counted or graded as if it were text. So is JSON
past effbench's limits (`effbench.structured`) or with a number longer than Python reads, and so are counts that
cannot be true: a usage count that is not a whole number from 0 to `MOST_TOKENS` a completion, a token id that no
vocabulary holds, and a usage count too small to write the text it came with (a token writes at most
`CHARS_PER_TOKEN` characters)."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from effbench.errors import BackendError
from effbench.structured import JSONLimitError, load_json
from effbench.text import without_surrogates
from effbench.types import Completion


def json_object(body: bytes, where: str) -> dict[str, Any]:
    """The body as a JSON object, or a BackendError that says what came instead."""
    try:
        data = load_json(body)
    except JSONLimitError as exc:
        raise BackendError(f"{where} answered JSON {exc.msg} (an API's answer is a few levels deep)") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        start = body[:60].decode("utf-8", "replace").strip().replace("\n", " ")
        raise BackendError(
            f"{where} answered something that is not JSON ({start!r}…); is base_url the API root (…/v1)?"
        ) from None
    except ValueError as exc:  # a number of more digits than Python reads
        raise BackendError(f"{where} answered JSON that cannot be read ({str(exc)[:80]})") from None
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


@dataclass(frozen=True)
class Usage:
    """A response's `usage`: what it generated (in all, and of that its reasoning), and its prompt (and of that the
    part read from a cache); None where the server did not say."""

    completion: int | None = None
    reasoning: int | None = None
    prompt: int | None = None
    cached: int | None = None


def parse_choices(data: dict[str, Any], n: int) -> list[Completion]:
    """Completions from a response. Tokens from each choice's token ids, else from `usage`; the reasoning tokens a
    server reports in `usage` (hidden or not) are kept with where they came from. `usage` sums a response's choices,
    so it counts one completion only where one was asked for; the prompt, billed once a request, goes with the first."""
    choices = data.get("choices")
    if not isinstance(choices, list) or not all(isinstance(c, dict) for c in choices):
        raise BackendError(f"the server's answer has no list of choices (`choices` is {type(choices).__name__})")
    if len(choices) != n:
        raise BackendError(f"the server returned {len(choices)} choices, asked for {n}")
    usage = usage_counts(data, n)
    ordered = sorted(choices, key=lambda c: _index(c))
    return [_completion(choice, usage if n == 1 else replace(usage, completion=None, reasoning=None), first=i == 0)
            for i, choice in enumerate(ordered)]  # fmt: skip


def _index(choice: dict[str, Any]) -> int:
    index = choice.get("index", 0)
    return index if isinstance(index, int) else 0


MOST_TOKENS = 10**7  # of one completion or one prompt: more than any context holds today; a count past it is not a count
MOST_ID = 2**31  # no vocabulary holds this many tokens
CHARS_PER_TOKEN = 256  # no token writes more characters (the longest of Qwen2's vocabulary writes 128)


def fewest_tokens(chars: int) -> int:
    """The fewest tokens that can write `chars` characters."""
    return -(-chars // CHARS_PER_TOKEN)


def usage_counts(data: dict[str, Any], n: int = 1) -> Usage:
    """A response's `usage` for `n` completions, in the Chat Completions API's names or the Responses API's
    (`output_tokens`, `input_tokens` and their details). A value that is not a count is refused, never stored."""
    usage = data.get("usage")
    if not isinstance(usage, dict):
        return Usage()
    made, read = n * MOST_TOKENS, MOST_TOKENS  # the completions' sum, and the prompt's (billed once a request)
    total = _count(usage, "completion_tokens", made) if "completion_tokens" in usage else _count(usage, "output_tokens", made)
    prompt = _count(usage, "prompt_tokens", read) if "prompt_tokens" in usage else _count(usage, "input_tokens", read)
    details = usage.get("completion_tokens_details") or usage.get("output_tokens_details")
    reasoning = _count(details, "reasoning_tokens", made) if isinstance(details, dict) else None
    cache = usage.get("prompt_tokens_details") or usage.get("input_tokens_details")
    cached = _count(cache, "cached_tokens", read) if isinstance(cache, dict) else None
    for part, whole, names in ((reasoning, total, "reasoning tokens in its completion tokens"),
                               (cached, prompt, "cached tokens in its prompt tokens")):  # fmt: skip
        if part is not None and whole is not None and part > whole:
            raise BackendError(f"the server's usage counts {part} {names} of {whole}")
    return Usage(total, reasoning, prompt, cached)


def _count(record: dict[str, Any], key: str, most: int) -> int | None:
    value = record.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= most:
        raise BackendError(
            f"the server's usage.{key} is {str(value)[:40]!r}, not a count of tokens (a whole number from 0 to {most:,})"
        )
    return value


def _completion(choice: dict[str, Any], usage: Usage, *, first: bool) -> Completion:
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
    if ids is not None and (wrong := next((i for i in ids if not 0 <= i < MOST_ID), None)) is not None:
        raise BackendError(f"the server's token_ids hold {str(wrong)[:40]}, an id no vocabulary holds")
    if ids is not None:
        tokens, source = len(ids), "token_ids"
    elif usage.completion is not None:
        tokens, source = usage.completion, "usage"
        written = len(text or "") + len(reasoning or "")
        if tokens < fewest_tokens(written):
            raise BackendError(
                f"the server's usage.completion_tokens is {tokens} for {written:,} characters of text, fewer than it takes "
                f"to write them (a token writes at most {CHARS_PER_TOKEN})"
            )
    else:
        raise BackendError("the server gives neither token ids (vLLM's return_token_ids) nor usage: its tokens cannot be counted")
    finish = choice.get("finish_reason")
    return Completion(
        text=without_surrogates(text or ""),
        tokens=tokens,
        finish_reason=finish if isinstance(finish, str) else "unknown",
        token_ids=tuple(ids) if ids is not None else None,
        reasoning=without_surrogates(reasoning),
        token_count_source=source,
        reasoning_tokens=usage.reasoning,
        reasoning_count_source="usage" if usage.reasoning is not None else None,
        prompt_tokens=usage.prompt if first else (0 if usage.prompt is not None else None),
        cached_tokens=usage.cached if first else (0 if usage.cached is not None else None),
    )
