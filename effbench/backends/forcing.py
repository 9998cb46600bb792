"""Budget forcing (s1: Muennighoff et al. 2025, arXiv 2501.19393): a completion stopped by its token budget
is ended and answered, not graded half-way.

Where the completion stopped inside its reasoning, the reasoning format's closing marker (`</think>`)
closes it; the answer cue follows
("Final answer: \\boxed{"), and the model writes up to `answer_tokens` more tokens, graded with the
rest. `tokens` counts every generated token, the budget's and the answer's; the inserted ending is
not generated, so it is recorded apart in `Completion.forced`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any, Protocol

from effbench.backends import Backend, backend_module
from effbench.backends.codec import Codec
from effbench.errors import BackendError, ConfigError
from effbench.grading.reasoning import ReasoningFormat
from effbench.types import Answer, Completion, EngineUse, Request, Skipped, Timing


class ContinuingBackend(Backend, Protocol):
    """A backend that continues a completion from token ids: what budget forcing needs of the engine."""

    @property
    def codec(self) -> Codec: ...

    def prompt_text(self, request: Request) -> str: ...


def require_continuation(backend: str) -> None:
    """Budget forcing continues completions from their token ids; only some backends can."""
    if not getattr(backend_module(backend), "CONTINUES", False):
        raise ConfigError(
            f"budget forcing continues completions from their token ids, which backend={backend} cannot: use backend=vllm"
        )


class ForcingBackend:
    """Generates with `source` at each request's max_tokens; what stopped there is continued by `engine`."""

    def __init__(self, source: Backend, engine: ContinuingBackend, *, cue: str, answer_tokens: int):
        self.source, self.engine, self.cue, self.answer_tokens = source, engine, cue, answer_tokens

    def codec_for(self, completion: Completion) -> Codec | None:
        return self.engine.codec

    def describe(self) -> dict[str, Any]:
        return {**self.source.describe(), "budget_forcing": {"cue": self.cue, "answer_tokens": self.answer_tokens}}

    def engines(self) -> tuple[EngineUse, ...]:
        return self.engine.engines()

    def generate(self, requests: Sequence[Request]) -> Iterator[tuple[Request, Answer]]:
        stopped = []
        for request, completions in self.source.generate(requests):
            if not isinstance(completions, Skipped) and any(c.finish_reason == "length" for c in completions):
                stopped.append((request, completions))
            else:
                yield request, completions
        if not stopped:
            return
        answers, endings = self._continue(stopped)
        for request, completions in stopped:
            yield (
                request,
                [
                    self._join(c, endings[id(request), i], answers[id(request), i]) if c.finish_reason == "length" else c
                    for i, c in enumerate(completions)
                ],
            )

    def _continue(self, stopped: list[tuple[Request, list[Completion]]]):
        """One batch for every stopped completion: prompt, the completion's tokens, the ending, then the answer."""
        batch, keys, endings, encoded = [], {}, {}, {}
        for request, completions in stopped:
            prompt = self.engine.prompt_text(request)
            for i, c in enumerate(completions):
                if c.finish_reason != "length":
                    continue
                if c.token_ids is None:
                    raise ConfigError("budget forcing needs each completion's token ids; the backend gave none")
                open_thinking = request.reasoning.is_open(prompt + c.text)
                ending = (_closing(request.reasoning) if open_thinking else "\n\n") + self.cue
                if ending not in encoded:  # one of a few texts: encoded once each
                    encoded[ending] = self.engine.codec.encode(ending)
                ending_ids = encoded[ending]
                endings[id(request), i] = (ending, ending_ids, open_thinking)
                follow = replace(
                    request,
                    sampling=replace(request.sampling, n=1, max_tokens=self.answer_tokens),
                    seed=(request.seed + 1 + i) % 2**32,
                    continue_after=tuple(c.token_ids) + ending_ids,
                )
                batch.append(follow)
                keys[id(follow)] = (id(request), i)
        answers = {keys[id(follow)]: _first(completions) for follow, completions in self.engine.generate(batch)}
        return answers, endings

    @staticmethod
    def _join(stopped: Completion, ending: tuple[str, tuple[int, ...], bool], answer: Completion) -> Completion:
        text, ids, closes_thinking = ending
        return Completion(
            text=stopped.text + text + answer.text,
            tokens=stopped.counted_tokens + answer.counted_tokens,
            finish_reason=answer.finish_reason,
            token_ids=tuple(stopped.token_ids or ()) + ids + tuple(answer.token_ids or ()),
            reasoning_tokens=stopped.tokens if closes_thinking else stopped.reasoning_tokens,
            token_count_source=stopped.token_count_source,
            prompt_tokens=_total(stopped.prompt_tokens, answer.prompt_tokens),  # the continuation reads it all again
            cached_tokens=_total(stopped.cached_tokens, answer.cached_tokens),
            timing=_joined(stopped.timing, answer.timing, closes_thinking),
            forced={
                "at_token": stopped.tokens,
                "at_char": len(stopped.text),
                "text": text,
                "tokens": len(ids),
                "answer_tokens": answer.tokens,
            },
        )

    def close(self) -> None:
        self.source.close()
        if self.engine is not self.source:
            self.engine.close()


def _total(first: int | None, second: int | None) -> int | None:
    return None if first is None or second is None else first + second


def _joined(stopped: Timing | None, answer: Timing | None, closes_thinking: bool) -> Timing | None:
    """The two requests one after the other. Where forcing closed the thinking, the forced answer's first token is the
    first after it, seen arrive; else the answer had begun before the budget, where the stopped part placed it."""
    if stopped is None or answer is None or answer.first_token_s is None:
        return None
    if closes_thinking:
        return Timing(stopped.wall_s + answer.wall_s, stopped.first_token_s, stopped.wall_s + answer.first_token_s)
    return Timing(stopped.wall_s + answer.wall_s, stopped.first_token_s, stopped.first_answer_s, stopped.estimated)


def _closing(reasoning: ReasoningFormat) -> str:
    """What ends the reasoning on purpose: its closing marker, and the marker that opens the answer if it has one."""
    opening = "".join(reasoning.answer_opens[:1])
    return f"\n{reasoning.closes[0]}\n\n{opening + chr(10) if opening else ''}"


def _first(completions: Answer) -> Completion:
    if isinstance(completions, Skipped):
        raise BackendError(f"budget forcing could not continue a completion: {completions.reason}")
    return completions[0]
