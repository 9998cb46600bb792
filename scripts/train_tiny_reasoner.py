"""Train effbench's tiny reasoning model on the arith task family: one model, three chain lengths (C3oT).

    .venv/bin/python scripts/train_tiny_reasoner.py [OUT] [--steps N] [--seed S]

A Llama-architecture causal LM (4 layers, hidden 128), with a byte-level BPE tokenizer trained here
that splits numbers into digits, learns to answer arith problems in the style that the system message
names: `explicit` (every operation a step), `composed` (two per step) or `implicit` (the answer only);
without a system message it writes explicit chains. Training problems come from other seeds than the
test set, and any that equals a test question is left out. Seeded, on the CPU; the loss is on the
completion only. 6000 steps of 64 examples take about 22 minutes on 2 cores (1276 s of training and a
minute making the data, for the shipped model). OUT (default effbench/tiny_reasoner) gets the weights,
the tokenizer, the chat template and SHA256SUMS.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from effbench.tasks.arith import STYLES, TEST_SEED, TEST_SIZE, problems  # noqa: E402
from effbench.tinymodel import CHAT_TEMPLATE  # noqa: E402

SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"]
USER = "{question}"  # the arith task's chat prompt: the question, its style in the system message


def messages(question: str, style: str | None) -> list[dict[str, str]]:
    user = {"role": "user", "content": USER.format(question=question)}
    return [{"role": "system", "content": style}, user] if style else [user]


def build_tokenizer(corpus: list[str]):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=320, special_tokens=SPECIAL, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(corpus, trainer=trainer)
    tokenizer = Tokenizer.from_str(thinking_markers_as_text(tokenizer.to_str()))
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token="<|endoftext|>", eos_token="<|im_end|>",
                                   pad_token="<|endoftext|>", unk_token=None)  # fmt: skip
    fast.chat_template = CHAT_TEMPLATE
    return fast


def thinking_markers_as_text(tokenizer_json: str) -> str:
    """`<think>` and `</think>` stay one token each but are not special, so that decoding keeps them (as Qwen3's
    tokenizer does): a completion cut inside its thinking is then `unfinished`, and budget forcing sees it open."""
    state = json.loads(tokenizer_json)
    for token in state["added_tokens"]:
        if token["content"] in ("<think>", "</think>"):
            token["special"] = False
    return json.dumps(state, ensure_ascii=False)


def training_examples(count: int, seed: int) -> list[tuple[str, str | None, str]]:
    """(question, system style or None, completion); no test question among them."""
    test = {p.question for p in problems(TEST_SIZE, TEST_SEED)}
    rng = random.Random(seed)
    found: list[tuple[str, str | None, str]] = []
    batch = 0
    while len(found) < count:
        batch += 1
        for p in problems(5000, seed * 1000 + batch):
            if p.question in test:
                continue
            style = rng.choice((*STYLES, None))
            found.append((p.question, style, p.chain(style or "explicit")))
    return found[:count]


def encode(tokenizer, example: tuple[str, str | None, str]) -> tuple[list[int], int]:
    """(token ids of prompt + completion + end of turn, where the completion starts)."""
    question, style, completion = example
    prompt = tokenizer.apply_chat_template(messages(question, style), tokenize=False, add_generation_prompt=True)
    prompt_ids = tokenizer.encode(prompt, add_special_tokens=False)
    completion_ids = [*tokenizer.encode(completion, add_special_tokens=False), tokenizer.eos_token_id]
    return prompt_ids + completion_ids, len(prompt_ids)


def batches(encoded: list[tuple[list[int], int]], size: int, rng: random.Random, pad: int):
    """Batches of examples of similar length (less padding), in random order; labels only on completions."""
    import torch

    order = sorted(range(len(encoded)), key=lambda i: (len(encoded[i][0]), rng.random()))
    groups = [order[i : i + size] for i in range(0, len(order), size)]
    rng.shuffle(groups)
    for group in groups:
        width = max(len(encoded[i][0]) for i in group)
        ids = torch.full((len(group), width), pad)
        labels = torch.full((len(group), width), -100)
        mask = torch.zeros((len(group), width), dtype=torch.long)
        for row, i in enumerate(group):
            tokens, start = encoded[i]
            ids[row, : len(tokens)] = torch.tensor(tokens)
            labels[row, start : len(tokens)] = torch.tensor(tokens[start:])
            mask[row, : len(tokens)] = 1
        yield ids, labels, mask


def train(out: Path, steps: int, seed: int, batch_size: int = 64) -> None:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    examples = training_examples(steps * batch_size, seed)
    corpus = [f"{q}\n{style or ''}\n{c}" for q, style, c in examples[:20000]] + [USER]
    tokenizer = build_tokenizer(corpus)
    encoded = [encode(tokenizer, e) for e in examples]
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=128, intermediate_size=384, num_hidden_layers=4,
                         num_attention_heads=4, num_key_value_heads=4, head_dim=32, max_position_embeddings=256,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=True, dtype="float32")  # fmt: skip
    model = LlamaForCausalLM(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.01, betas=(0.9, 0.98))
    warmup = max(1, steps // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps))
    )
    rng = random.Random(seed)
    started, step = time.time(), 0
    model.train()
    for ids, labels, mask in batches(encoded, batch_size, rng, tokenizer.pad_token_id):
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        if step % 100 == 0 or step == steps:
            print(f"step {step}/{steps}  loss {loss.item():.4f}  {time.time() - started:.0f} s", flush=True)
        if step >= steps:
            break
    save(model, tokenizer, out, {"seed": seed, "steps": step, "batch_size": batch_size, "train_s": round(time.time() - started)})


def save(model, tokenizer, out: Path, info: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    (out / "generation_config.json").unlink(missing_ok=True)
    tokenizer.save_pretrained(out)
    (out / "effbench_tiny_reasoner.json").write_text(json.dumps(info, indent=2) + "\n")
    sums = [f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}" for p in sorted(out.iterdir()) if p.name != "SHA256SUMS"]
    (out / "SHA256SUMS").write_text("\n".join(sums) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, default=REPO / "effbench" / "tiny_reasoner")
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    train(args.out, args.steps, args.seed)


if __name__ == "__main__":
    main()
