"""Harness overhead: `effbench eval` against a bare script calling `vllm.LLM.generate` once, on the same work.

    EFFBENCH_DATA_DIR=../shared/datasets python bench/overhead.py [model] [samples] [max_tokens] [rounds]

`model` defaults to effbench's tiny random-weight model (built on the spot; the vLLM CPU engine);
on a GPU machine pass a real model. Both sides run as their own process, one after the other,
`rounds` times (default 2), and the fastest of each is kept:
- effbench: `effbench eval tasks=gsm8k limit=samples max_tokens=… temperature=0` (data, prompts,
  engine, generation, grading, storage, metrics);
- bare: the same engine arguments, then one `LLM.generate` on the same prompt token ids (rendered
  by effbench beforehand, outside the timing) with the same per-sample seeds and sampling.
Prints both wall times (whole process, and generation alone) and the ratios, and effbench's
own breakdown from run.json.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BARE = r"""
import json, sys, time
started = time.perf_counter()
from vllm import LLM, SamplingParams
from vllm.platforms import current_platform
args = json.loads(open(sys.argv[1]).read())
cpu = current_platform.is_cpu()  # effbench's own defaults: a 1 GiB KV cache and no chunked prefill on CPU only
llm = LLM(model=args["model"], enforce_eager=True, enable_prefix_caching=True, enable_chunked_prefill=False if cpu else None,
          kv_cache_memory_bytes=(1 << 30) if cpu else None)
params = [SamplingParams(temperature=0, max_tokens=args["max_tokens"], seed=seed) for seed in args["seeds"]]
generate_started = time.perf_counter()
outputs = llm.generate([{"prompt_token_ids": ids} for ids in args["prompts"]], params, use_tqdm=False)
generate_s = time.perf_counter() - generate_started
tokens = sum(len(o.outputs[0].token_ids) for o in outputs)
llm.llm_engine.engine_core.shutdown()
print(json.dumps({"generate_s": generate_s, "tokens": tokens, "total_s": time.perf_counter() - started}))
"""


def run_effbench(model: str, samples: int, max_tokens: int, out: Path, name: str) -> tuple[float, dict]:
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "effbench",
            "eval",
            f"model={model}",
            "tasks=gsm8k",
            f"limit={samples}",
            f"max_tokens={max_tokens}",
            "temperature=0",
            f"out={out}",
            f"name={name}",
            "enforce_eager=true",
            "store_token_ids=false",
        ],
        check=True,
        capture_output=True,
    )
    wall = time.perf_counter() - started
    info = json.loads((out / name / "run.json").read_text())
    return wall, info["invocations"][-1]["generation"]  # one task: the generation's figures are its own


def bare_inputs(model: str, run: Path, max_tokens: int, path: Path) -> None:
    """The prompt token ids and seeds effbench used, for the bare script."""
    from transformers import AutoTokenizer

    from effbench.run.evaluate import sample_seed
    from effbench.store.folder import RunStore

    tokenizer = AutoTokenizer.from_pretrained(model)
    prompts, seeds = [], []
    for scored in RunStore(run).read_samples("gsm8k"):
        text = tokenizer.apply_chat_template(list(scored.prompt), tokenize=False, add_generation_prompt=True)
        prompts.append(tokenizer.encode(text, add_special_tokens=False))
        seeds.append(sample_seed(0, "gsm8k", scored.sample.id))
    path.write_text(json.dumps({"model": model, "max_tokens": max_tokens, "prompts": prompts, "seeds": seeds}))


def run_bare(inputs: Path) -> tuple[float, dict]:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", BARE, str(inputs)], check=True, capture_output=True, text=True)
    return time.perf_counter() - started, json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    model = sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] != "tiny" else None
    samples = int(sys.argv[2]) if len(sys.argv) > 2 else 256
    max_tokens = int(sys.argv[3]) if len(sys.argv) > 3 else 96
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 2
    if model is None:
        from effbench.demo import cache_dir
        from effbench.tinymodel import build_tiny_model

        model = str(cache_dir() / "tiny-model")
        if not (Path(model) / "config.json").exists():
            build_tiny_model(Path(model))
    with tempfile.TemporaryDirectory() as tmp:
        out, inputs = Path(tmp) / "runs", Path(tmp) / "bare.json"
        ours, theirs = [], []
        for round_ in range(rounds):
            ours.append(run_effbench(model, samples, max_tokens, out, f"r{round_}"))
            if round_ == 0:
                bare_inputs(model, out / "r0", max_tokens, inputs)
            theirs.append(run_bare(inputs))
        (wall, timing), (bare_wall, bare) = min(ours, key=lambda r: r[0]), min(theirs, key=lambda r: r[0])
    print(f"model {model}: gsm8k, {samples} samples, max_tokens {max_tokens}, greedy; best of {rounds}")
    print(
        f"effbench eval:      {wall:7.1f} s process, {timing['generate_s']:6.1f} s generating "
        f"({timing['generated_tokens']} tokens), {timing['total_s']:6.1f} s in the task (generation, grading, storing)"
    )
    print(f"bare LLM.generate:  {bare_wall:7.1f} s process, {bare['generate_s']:6.1f} s generating ({bare['tokens']} tokens)")
    print(
        f"ratio effbench / bare: {wall / bare_wall:.3f} (process), {timing['total_s'] / bare['generate_s']:.3f} "
        f"(task vs generate call)"
    )


if __name__ == "__main__":
    main()
