"""Grading functions for pool tests; module-level so spawned workers can import them."""

import time


def sleepy(job):
    if job.answer == "hang":
        time.sleep(60)
    if job.answer == "boom":
        raise ValueError("grader bug")
    return job.answer == job.gold


def qwen_tokenizer(flavour: str = "qwen3"):
    """The real Qwen2 vocabulary (../shared/tokenizers/qwen2), rebuilt as its README says: `qwen3` adds QwQ's and
    Qwen3's special tokens after Qwen2.5's (`<think>` 151667, `</think>` 151668)."""
    import json
    from pathlib import Path

    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    folder = Path(__file__).resolve().parents[2] / "shared" / "tokenizers" / "qwen2"
    vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
    merges = [
        tuple(line.split(" "))
        for line in (folder / "merges.txt").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#version")
    ]
    tokenizer = Tokenizer(models.BPE(vocab, merges))
    tokenizer.normalizer = normalizers.NFC()
    split = Regex(
        r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Split(split, behavior="isolated"), pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]
    )
    tokenizer.decoder = decoders.ByteLevel()
    special = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] + [f"<|qwen2_reserved_{i}|>" for i in range(151646, 151665)]
    if flavour == "qwen3":
        special += ["<tool_response>", "</tool_response>", "<think>", "</think>"]
    tokenizer.add_special_tokens(special)
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<|im_end|>")


def chain(words: int, answer: str) -> str:
    """A scripted completion: `words` words of thinking, then the answer boxed."""
    return "<think>" + " step" * words + f" </think> The answer is \\boxed{{{answer}}}."
