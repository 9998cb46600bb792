"""Chat-template debris after an answer: special tokens a server did not strip, a new turn, a repeated question.

A completion that ran past its end of turn goes on with whatever the template would have said next
(`<|im_end|>`, `<|im_start|>user`, `<|endoftext|>`, "Question: …", "I hope it is correct."). None of it is the
answer, and all of it can hold numbers and markers that extraction would take for one; the answer part ends where
it begins. Both the ASCII and the full-width bar of DeepSeek's tokens (`<｜end▁of▁sentence｜>`) are read.
"""

from __future__ import annotations

import re

from effbench.grading.switches import on

DEBRIS = re.compile(
    r"<[|｜](?:im_start|im_end|endoftext|end_of_text|eot_id|start_header_id|end_header_id|eot|user|assistant|end"
    r"|end▁of▁sentence|User|Assistant)[|｜]>|</s>|<eos>|<(?:start|end)_of_turn>"
    r"|\n[ \t]*(?:#{1,4}[ \t]*)?(?:Human|User|USER|Question|Problem|Instruction)[ \t]*:|\bI hope it is correct\b"
)


def without_debris(answer_part: str) -> tuple[str, str | None]:
    """(the answer part up to the first debris that follows some text, the debris found there); unchanged, None when
    there is none. Debris at the very start is kept: the answer, if any, follows it."""
    if not on("chat_debris"):
        return answer_part, None
    for match in DEBRIS.finditer(answer_part):
        if answer_part[: match.start()].strip():
            return answer_part[: match.start()], match.group().strip()
    return answer_part, None
