"""Build a tiny random-weight causal LM on the spot: a config, a locally trained tokenizer, a chat template.

It needs nothing from any hub, runs through the real vLLM engine on a CPU in seconds, and
gives the whole pipeline a real model to exercise. Its answers are noise.
"""

from __future__ import annotations

import json
from pathlib import Path

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"]

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n"
    "{% if enable_thinking is defined and enable_thinking %}<think>\n{% endif %}"
    "{% endif %}"
)

CORPUS = [
    "Please reason step by step, and put your final answer within \\boxed{}.",
    "Janet has 3 apples and buys 4 more. How many apples does she have? The answer is 7.",
    "Let x be a real number such that 2x + 3 = 11. Then x = 4, so the final answer is \\boxed{4}.",
    "The sum of the angles of a triangle is 180 degrees. Compute \\frac{1}{2} + \\frac{1}{3}.",
    "First, we add the numbers. Then we multiply by 2. Therefore the answer is 42.",
    "#### 18 Answer: 25 \\sqrt{2} \\pi x^2 y_1 (a, b) [0, 1] 0123456789 + - * / = < > ,.;:!?",
]


def build_tiny_model(folder: Path, *, seed: int = 0, layers: int = 2, hidden: int = 64) -> Path:
    """Write a tiny Llama-architecture model with random weights into `folder` and return it."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=512,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator(CORPUS * 4, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<|endoftext|>",
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token=None,
    )
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(folder)

    config = LlamaConfig(
        vocab_size=len(fast),
        hidden_size=hidden,
        intermediate_size=hidden * 2,
        num_hidden_layers=layers,
        num_attention_heads=hidden // 32,
        num_key_value_heads=hidden // 32,
        head_dim=32,
        max_position_embeddings=4096,
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id,
        tie_word_embeddings=True,
        dtype="float32",
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.save_pretrained(folder, safe_serialization=True)
    generation_config = folder / "generation_config.json"
    if generation_config.exists():
        generation_config.unlink()
    (folder / "effbench_tiny_model.json").write_text(json.dumps({"seed": seed, "layers": layers, "hidden": hidden}))
    return folder
