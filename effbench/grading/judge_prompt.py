"""The judge's prompt: a versioned template of effbench's, and how its reply is read.

A judge is asked only about a completion the rules could not settle (no answer found, or one that could not be
parsed and compared). It sees the problem, the reference answer and the end of the completion's answer part, and
replies CORRECT, WRONG or NONE. `effbench judge --show-prompt` prints the template and its hash; the hash is stored
with every verdict, so that verdicts of two versions of the prompt are never mixed.
"""

from __future__ import annotations

import hashlib
import re

JUDGE_PROMPT_VERSION = 1
RESPONSE_CHARS = 4000  # the end of the answer part the judge sees: where a final answer is stated

SYSTEM = (
    "You check answers to math problems against a reference answer. You do not solve the problem yourself: you decide "
    "whether the response states a final answer, and whether that answer is mathematically equal to the reference "
    "answer (equal values written differently are equal; a different value, a partial answer or an unfinished one is "
    "not)."
)
TEMPLATE = """Problem:
{question}

Reference answer:
{gold}

The end of a response to the problem:
{response}

Does the response state a final answer, and is it equal to the reference answer? Reply with one word:
CORRECT (it states a final answer equal to the reference answer),
WRONG (it states a final answer that is not equal to it), or
NONE (it states no final answer)."""


def prompt_hash() -> str:
    """The template's identity: its version, system message and text."""
    text = f"{JUDGE_PROMPT_VERSION}\n{SYSTEM}\n{TEMPLATE}"
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def judge_messages(question: str, gold: str, response: str) -> list[dict[str, str]]:
    """The chat messages that ask the judge about one completion."""
    tail = response[-RESPONSE_CHARS:]
    shown = tail if len(tail) == len(response) else f"[… its last {RESPONSE_CHARS} characters]\n{tail}"
    body = TEMPLATE.format(question=question.strip() or "(not given)", gold=gold.strip(), response=shown.strip())
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": body}]


VERDICT_WORD = re.compile(r"\b(CORRECT|WRONG|NONE|INCORRECT)\b", re.I)
JUDGE_VERDICTS = {"correct": "correct", "wrong": "wrong", "incorrect": "wrong", "none": "no_answer"}


def read_verdict(reply: str) -> str:
    """The judge's verdict from its reply: correct, wrong or no_answer by its last verdict word after any reasoning;
    `unclear` where it names none."""
    answer = reply.rsplit("</think>", 1)[-1]
    words = VERDICT_WORD.findall(answer)
    return JUDGE_VERDICTS[words[-1].lower()] if words else "unclear"


def judgement_key(model: str, question: str, gold: str, response: str) -> str:
    """What one verdict answers: the judge, the prompt's version, and the problem, reference and response it saw."""
    text = "\x00".join((model, prompt_hash(), question, gold, response))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:24]
