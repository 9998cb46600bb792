"""Locating a completion's first correct answer in its tokens: effbench's search against plain bisection.

    python bench/positions.py [completions] [tokens] [tokenizer]

Builds `completions` texts (default 200) of about `tokens` tokens each (default 8000) from the `arith`
family's explicit chains, encoded by `tokenizer` (default: the tiny reasoner shipped with effbench;
give a real model's tokenizer folder for a BPE vocabulary), and locates a position between 10% and
95% of each text in its token ids, two ways, side by side: bisection over [0, n] (a decode of about
n/2 tokens per step), and `TokenizerCodec.tokens_until` (bisection between bounds found outwards from
an even-characters-per-token estimate). Checks that both give the same token, and prints the time per
completion and the ratio.
"""

from __future__ import annotations

import random
import sys
import time

from effbench.backends.codec import TokenizerCodec
from effbench.demo import TINY_REASONER
from effbench.tasks.arith import problems


def plain_bisection(codec: TokenizerCodec, ids: tuple[int, ...], chars: int) -> int:
    low, high = 0, len(ids)
    while low < high:
        middle = (low + high) // 2
        if len(codec.tokenizer.decode(list(ids[:middle]), skip_special_tokens=True)) >= chars:
            high = middle
        else:
            low = middle + 1
    return low


def main(count: int = 200, tokens: int = 8000, tokenizer: str = str(TINY_REASONER)) -> None:
    codec = TokenizerCodec.load(tokenizer)
    chains = [p.chain("explicit") for p in problems(400, seed=1)]
    rng = random.Random(0)
    cases = []
    for _ in range(count):
        parts: list[str] = []
        while len(codec.encode("\n".join(parts))) < tokens:
            parts.extend(rng.sample(chains, 20))
        ids = codec.encode("\n".join(parts))[:tokens]
        text = codec.tokenizer.decode(list(ids), skip_special_tokens=True)
        cases.append((ids, text, int(len(text) * rng.uniform(0.1, 0.95))))
    timings = {}
    found = {}
    for name, locate in (("plain bisection", lambda i, t, c: plain_bisection(codec, i, c)), ("tokens_until", codec.tokens_until)):
        started = time.perf_counter()
        found[name] = [locate(ids, text, chars) for ids, text, chars in cases]
        timings[name] = time.perf_counter() - started
    if found["plain bisection"] != found["tokens_until"]:
        raise SystemExit("the two searches disagree")
    mean_tokens = sum(len(ids) for ids, _, _ in cases) / len(cases)
    print(f"{count} completions of {mean_tokens:,.0f} tokens, tokenizer {tokenizer}")
    for name, seconds in timings.items():
        print(f"  {name:16} {1000 * seconds / count:8.2f} ms per completion")
    print(f"  tokens_until is {timings['plain bisection'] / timings['tokens_until']:.2f}x faster, same token in every case")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]), *sys.argv[3:4])
