"""Between text and token ids, for the work that cuts and continues completions after generation.

A budget sweep derives short completions from long ones (the text of the first k tokens) and
continues a completion after a forced answer cue (the cue's token ids). `TokenizerCodec` does it
with the model's own tokenizer; `WordCodec` with the whitespace words that the scripted backend
counts as tokens.
"""

from __future__ import annotations

import zlib
from dataclasses import replace
from typing import Protocol

from effbench.errors import ConfigError
from effbench.grading.reasoning import THINK, ReasoningFormat
from effbench.types import Completion, Grade


class Codec(Protocol):
    def encode(self, text: str) -> tuple[int, ...]: ...

    def prefix_text(self, completion: Completion, tokens: int) -> str: ...

    def reasoning_tokens(self, token_ids: tuple[int, ...], text: str, reasoning: ReasoningFormat = THINK) -> int | None: ...

    def tokens_until(self, token_ids: tuple[int, ...], text: str, chars: int) -> int: ...


class TokenizerCodec:
    """A Hugging Face tokenizer; the end of the reasoning is located in the token ids where its marker's ids occur."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self._marker_ids: dict[str, tuple[int, ...]] = {}

    @classmethod
    def load(cls, model: str, revision: str | None = None, trust_remote_code: bool = False) -> TokenizerCodec:
        from transformers import AutoTokenizer

        return cls(AutoTokenizer.from_pretrained(model, revision=revision, trust_remote_code=trust_remote_code))

    def encode(self, text: str) -> tuple[int, ...]:
        return tuple(self.tokenizer.encode(text, add_special_tokens=False))

    @property
    def size(self) -> int:
        """How many ids the tokenizer knows, its added tokens included: an id from 0 to size - 1 decodes."""
        return len(self.tokenizer)

    def decode(self, token_ids: tuple[int, ...]) -> str:
        """The text of ids known to the tokenizer, as vLLM decodes its output (special tokens skipped)."""
        return self._decode(token_ids)

    def prefix_text(self, completion: Completion, tokens: int) -> str:
        """The text of the first `tokens` token ids, decoded as vLLM decodes its output (special tokens skipped)."""
        if completion.token_ids is None:
            raise ValueError("the completion was stored without its token ids")
        return self._decode(completion.token_ids[:tokens])

    def reasoning_tokens(self, token_ids: tuple[int, ...], text: str, reasoning: ReasoningFormat = THINK) -> int | None:
        """Tokens up to and including the one that completes the last closing marker of the reasoning; None when the
        completion has none.

        The marker is found in the token ids where its own ids occur there (a special token such as Qwen3's
        `</think>`); else at the first token whose decoded prefix holds the whole marker (a marker written as
        text, such as `<|end_of_thought|>`, may merge with what follows it)."""
        for marker in reasoning.closes:
            ids = self._marker_ids.setdefault(marker, self.encode(marker))
            if ids and (end := last_occurrence(token_ids, ids)) is not None:
                return end
        found = reasoning.reasoning_end(text)
        if found is None:
            return None
        return self.tokens_until(token_ids, text, found[1]) if token_ids else len(self.encode(text[: found[1]]))

    def tokens_until(self, token_ids: tuple[int, ...], text: str, chars: int) -> int:
        """How many of the token ids it takes to write the first `chars` characters of `text` (their decoding):
        the fewest whose decoded prefix is that long. Bisection between bounds found outwards from the estimate
        that characters per token are even: a few decodes, not one per token."""

        def reaches(count: int) -> bool:
            return len(self._decode(token_ids[:count])) >= chars

        low, high = 0, len(token_ids)
        guess = min(high, round(chars * high / max(len(text), 1)))
        step = 4
        if reaches(guess):
            high = guess
            while high - step > 0 and reaches(high - step):
                high, step = high - step, step * 4
            low = max(0, high - step)
        else:
            low = guess + 1
            while low + step < len(token_ids) and not reaches(low + step):
                low, step = low + step + 1, step * 4
            high = min(len(token_ids), low + step)
        while low < high:
            middle = (low + high) // 2
            if reaches(middle):
                high = middle
            else:
                low = middle + 1
        return low

    def _decode(self, token_ids: tuple[int, ...]) -> str:
        return self.tokenizer.decode(list(token_ids), skip_special_tokens=True)


def load_codec(tokenizer: str) -> TokenizerCodec:
    """The tokenizer named by a `tokenizer=` key (a path or hub name), or one line that says it cannot be loaded."""
    try:
        return TokenizerCodec.load(tokenizer)
    except Exception as exc:
        raise ConfigError(
            f"tokenizer={tokenizer} could not be loaded ({str(exc).splitlines()[0][:200]}); "
            "give the model's tokenizer with tokenizer=NAME_OR_PATH"
        ) from None


class WordCodec:
    """Whitespace-separated words as tokens, each id a hash of its word (the scripted backend's count)."""

    def encode(self, text: str) -> tuple[int, ...]:
        return tuple(zlib.crc32(word.encode()) % 50_000 for word in text.split())

    def prefix_text(self, completion: Completion, tokens: int) -> str:
        return " ".join(completion.text.split()[:tokens])

    def reasoning_tokens(self, token_ids: tuple[int, ...], text: str, reasoning: ReasoningFormat = THINK) -> int | None:
        end = reasoning.reasoning_end(text)
        return len(text[: end[1]].split()) if end else None

    def tokens_until(self, token_ids: tuple[int, ...], text: str, chars: int) -> int:
        return len(text[:chars].split())


def last_occurrence(sequence: tuple[int, ...], part: tuple[int, ...]) -> int | None:
    """The end position of the last occurrence of `part` in `sequence`, or None."""
    reversed_sequence, size = sequence[::-1], len(part)
    position = 0
    while True:  # each candidate found by C-speed search, from the end
        try:
            position = reversed_sequence.index(part[-1], position)
        except ValueError:
            return None
        end = len(sequence) - position
        if end >= size and sequence[end - size : end] == part:
            return end
        position += 1


def cut(completion: Completion, max_tokens: int, codec: Codec, reasoning: ReasoningFormat = THINK) -> Completion:
    """The completion as a run capped at `max_tokens` would have produced it: its first `max_tokens` tokens.

    A completion that finished within the cap is unchanged. Under greedy decoding the cut equals a
    separate capped run token for token (the tokens before the cap do not depend on the cap)."""
    if completion.counted_tokens <= max_tokens:
        return completion
    if (
        completion.forced is not None
        or completion.reasoning is not None
        or completion.token_count_source not in ("token_ids", "words")
    ):
        raise ValueError("only a completion generated whole, with its token ids, can be cut at a budget")
    ids = completion.token_ids[:max_tokens] if completion.token_ids is not None else None
    text = codec.prefix_text(completion, max_tokens)
    return replace(
        completion,
        text=text,
        tokens=max_tokens,
        finish_reason="length",
        token_ids=ids,
        reasoning_tokens=codec.reasoning_tokens(ids or (), text, reasoning),
        timing=None,  # cut from a longer one: never generated on its own, so never timed
    )


def with_token_position(grade: Grade, completion: Completion, codec: Codec | None) -> Grade:
    """The grade with its located answers (the first correct one, the final one's first statement and where it settled)
    in tokens as well as characters, where a codec is at hand and the completion's token ids write its whole text (not
    so with a server's separate reasoning)."""
    if codec is None or completion.token_ids is None or completion.reasoning is not None:
        return grade
    ids, text = completion.token_ids, completion.text

    def tokens(chars: int | None) -> int | None:
        return None if chars is None else codec.tokens_until(ids, text, chars)

    return replace(
        grade,
        first_correct_tokens=tokens(grade.first_correct_at),
        answer_first_tokens=tokens(grade.answer_first_at),
        answer_settled_tokens=tokens(grade.answer_settled_at),
    )
