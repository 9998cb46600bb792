"""The `arith` task family: chains of arithmetic operations, generated from a seed, with reasoning in three styles.

A problem starts from a number and applies one to four operations (add, subtract, multiply by a digit),
every value staying within 0–99: "Start with 7. Add 15. Multiply by 3. Subtract 4. What is the result?"
Its difficulty is recorded: `level` (the number of operations) and `digits` (of its largest operand).

The three chain styles, after "Zipping the Thought" and C3oT's conditioned training, all inside
`<think>…</think>` and ending in `\\boxed{}`:
- `explicit`: every operation a step (`7 + 15 = 22`, `22 * 3 = 66`, `66 - 4 = 62`);
- `composed`: two operations per step (`(7 + 15) * 3 = 66`, `66 - 4 = 62`);
- `implicit`: the answer only.
The style is selected by a control word, given as the system message (`system=implicit`).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

STYLES = ("explicit", "composed", "implicit")
LEVELS = (1, 2, 3, 4)
TEST_FILE = "arith/test.jsonl"
TEST_SIZE, TEST_SEED = 400, 0
SYMBOL = {"add": "+", "subtract": "-", "multiply": "*"}


@dataclass(frozen=True)
class Step:
    op: str  # add, subtract or multiply
    operand: int


@dataclass(frozen=True)
class Problem:
    start: int
    steps: tuple[Step, ...]
    digits: int

    @property
    def question(self) -> str:
        words = {"add": "Add {}.", "subtract": "Subtract {}.", "multiply": "Multiply by {}."}
        return " ".join([f"Start with {self.start}.", *(words[s.op].format(s.operand) for s in self.steps),
                         "What is the result?"])  # fmt: skip

    def values(self) -> list[int]:
        """The value before the first step and after each."""
        values = [self.start]
        for step in self.steps:
            values.append(_apply(values[-1], step))
        return values

    @property
    def answer(self) -> int:
        return self.values()[-1]

    def chain(self, style: str) -> str:
        """The completion in one style: the reasoning inside <think>…</think>, then the boxed answer."""
        values = self.values()
        lines = []
        if style == "explicit":
            lines = [f"{values[i]} {SYMBOL[s.op]} {s.operand} = {values[i + 1]}" for i, s in enumerate(self.steps)]
        elif style == "composed":
            for i in range(0, len(self.steps), 2):
                pair = self.steps[i : i + 2]
                if len(pair) == 2:
                    first, second = pair
                    inner = f"({values[i]} {SYMBOL[first.op]} {first.operand})"
                    lines.append(f"{inner} {SYMBOL[second.op]} {second.operand} = {values[i + 2]}")
                else:
                    lines.append(f"{values[i]} {SYMBOL[pair[0].op]} {pair[0].operand} = {values[i + 1]}")
        elif style != "implicit":
            raise ValueError(f"unknown style {style!r}; one of {', '.join(STYLES)}")
        body = "".join(f"{line}\n" for line in lines)
        return f"<think>\n{body}</think>\n\n\\boxed{{{self.answer}}}"


def _apply(value: int, step: Step) -> int:
    if step.op == "add":
        return value + step.operand
    if step.op == "subtract":
        return value - step.operand
    return value * step.operand


def problem(rng: random.Random, level: int, digits: int) -> Problem:
    """A chain of `level` operations whose operands have at most `digits` digits; every value within 0–99."""
    top = 9 if digits == 1 else 99
    value = start = rng.randint(1, top)
    steps = []
    for _ in range(level):
        choices = []
        if value < 99:
            choices.append(Step("add", rng.randint(1, min(top, 99 - value))))
        if value > 0:
            choices.append(Step("subtract", rng.randint(1, min(top, value))))
        if 2 * value <= 99:
            choices.append(Step("multiply", rng.randint(2, min(9, 99 // max(value, 1)))))
        step = rng.choice(choices)
        steps.append(step)
        value = _apply(value, step)
    largest = max([start, *(s.operand for s in steps)])
    return Problem(start, tuple(steps), len(str(largest)))


def problems(count: int, seed: int) -> list[Problem]:
    """`count` problems, levels and digit counts in turn, reproducible from `seed`."""
    rng = random.Random(seed)
    return [problem(rng, LEVELS[i % len(LEVELS)], 1 + (i // len(LEVELS)) % 2) for i in range(count)]


def write_test_set(root: Path) -> Path:
    """The task's test set under `root` (its sha256 is pinned in arith_task.yaml): the same bytes on every machine."""
    lines = [
        json.dumps(
            {"id": f"arith-{i}", "question": p.question, "answer": str(p.answer), "level": len(p.steps), "digits": p.digits}
        )
        for i, p in enumerate(problems(TEST_SIZE, TEST_SEED))
    ]
    path = root / TEST_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
