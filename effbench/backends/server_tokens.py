"""A server's token ids held against the text they came with, before they count anything.

effbench counts a completion's tokens, and locates its answers, by the ids the server returns; ids that cannot have
written the text are never stored as its count. With `tokenizer=`, the ids are decoded and compared with the text: an
id past the tokenizer's vocabulary is one line (is it the served model's tokenizer?); ids that write other text are
replaced by the text's own ids, counted with the tokenizer, and the completion says so (`token_count_source`
`retokenized`, counted in the results' `counted_from`). Without one, the count is held to what any tokenizer does:
a token writes at most `CHARS_PER_TOKEN` characters, and a character takes at most `TOKENS_PER_CHAR` tokens (its
UTF-8 bytes), give or take `SILENT_TOKENS` special tokens that write nothing; a count past these is one line that
asks for `tokenizer=`.
"""

from __future__ import annotations

import re
from dataclasses import replace

from effbench.backends.codec import TokenizerCodec
from effbench.backends.openai_response import CHARS_PER_TOKEN, fewest_tokens
from effbench.errors import BackendError
from effbench.types import Completion

TOKENS_PER_CHAR = 4  # a character's UTF-8 bytes, each a token at worst (byte-level BPE, byte fallback)
SILENT_TOKENS = 64  # special tokens that write nothing (an end of turn), and a stop string cut from the text
SPARE_CHARS = 64  # what decoded ids may hold past the server's text: a stop string cut from it, reasoning markers
SPACE = re.compile(r"\s+")


def checked(completion: Completion, codec: TokenizerCodec | None, tokenizer: str | None = None) -> Completion:
    """The completion, where its token ids (if any) write its text; else refused, or retokenized where `codec` (the
    tokenizer named `tokenizer`) is given."""
    ids = completion.token_ids
    if ids is None:
        return completion
    written = (completion.reasoning or "") + completion.text
    if codec is None:
        if not fewest_tokens(len(written)) <= len(ids) <= TOKENS_PER_CHAR * len(written) + SILENT_TOKENS:
            raise BackendError(
                f"the server returned {len(ids):,} token ids for {len(written):,} characters of text, which they cannot "
                f"write (a token writes 1 to {CHARS_PER_TOKEN} characters, a character takes at most {TOKENS_PER_CHAR}); "
                "give the model's tokenizer (tokenizer=NAME_OR_PATH) to count such answers from their text"
            )
        return completion
    if (wrong := next((i for i in ids if i >= codec.size), None)) is not None:
        raise BackendError(
            f"the server's token_ids hold {wrong}, past the {codec.size:,} ids of tokenizer={tokenizer}; "
            "give the served model's tokenizer"
        )
    if writes(codec.decode(ids), completion.text, completion.reasoning):
        return completion
    own = codec.encode(written)
    return replace(completion, tokens=len(own), token_ids=own, token_count_source="retokenized")


def writes(decoded: str, text: str, reasoning: str | None) -> bool:
    """Whether ids that decode to `decoded` wrote the server's text (whitespace aside, as detokenizers differ in it): the
    same text, a stop string after it aside; where the server split off the reasoning, both parts, markers aside."""
    decoded, text = SPACE.sub("", decoded), SPACE.sub("", text)
    if reasoning is None:
        return decoded.startswith(text) and len(decoded) - len(text) <= SPARE_CHARS
    reasoning = SPACE.sub("", reasoning)
    return reasoning in decoded and text in decoded and len(decoded) - len(text) - len(reasoning) <= SPARE_CHARS
