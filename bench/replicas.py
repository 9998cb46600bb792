"""Engine replicas: one engine against two, and the queue against fixed shards when some problems are 10x longer.

    EFFBENCH_DATA_DIR=../shared/datasets python bench/replicas.py [rounds] [skewed_problems] [parts]

1. Throughput: `effbench eval` of the tiny reasoner on the arith task (400 problems, n=4, temperature 0.7)
   at data_parallel_size=1 and 2, each in a process of its own, `rounds` times (default 2) alternating;
   the fastest generation of each is kept. Prints tokens/s, the ratio, and the engines' start-up time.
2. Skewed lengths: two replicas (Ray actors, the tiny random-weight model, max_num_seqs=8) answer
   `skewed_problems` problems (default 400), one in ten allowed 10x the tokens of the others. The same
   replicas answer them three ways, `rounds` times alternating: from effbench's one queue; in two fixed
   shards dealt in turn (lm-eval and lighteval); in two fixed halves (vLLM's data-parallel example).
   The long problems lie where data sets sorted by difficulty put them (the last tenth), every tenth,
   and at random. Prints each way's time and its ratio to the queue's. Every way generates the very same
   tokens (per-problem seeds), which the script checks.
`parts` picks the parts to run (default 12: both).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from effbench.backends.dispatch import Dispatcher, Replica
from effbench.backends.usage import Meter
from effbench.demo import ARITH_TASK, TINY_REASONER
from effbench.tasks.arith import write_test_set
from effbench.tinymodel import build_tiny_model
from effbench.types import Request, Sampling


def eval_generation(folder: Path, name: str, replicas: int) -> dict:
    command = [sys.executable, "-m", "effbench", "eval", f"model={TINY_REASONER}", f"tasks={ARITH_TASK}",
               f"data_dir={folder / 'data'}", "system=explicit", "n=4", "temperature=0.7", f"out={folder}", f"name={name}",
               f"data_parallel_size={replicas}", "enforce_eager=true", "dtype=float32", "store_token_ids=false"]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True)
    invocation = json.loads((folder / name / "run.json").read_text())["invocations"][-1]
    return {**invocation["generation"], "backend_start_s": invocation["backend_start_s"]}


def throughput(rounds: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        write_test_set(root / "data")
        best: dict[int, dict] = {}
        for round_ in range(rounds):
            for replicas in (1, 2):
                found = eval_generation(root, f"dp{replicas}-{round_}", replicas)
                if replicas not in best or found["generate_s"] < best[replicas]["generate_s"]:
                    best[replicas] = found
    print("1. throughput: tiny reasoner, arith, 400 problems, n=4, temperature 0.7 (fastest of", rounds, "rounds)")
    for replicas, found in best.items():
        print(f"   data_parallel_size={replicas}: {found['generated_tokens']:,} tokens in {found['generate_s']:5.2f} s = "
              f"{found['tokens_per_s']:8,.0f} tok/s   (engines started in {found['backend_start_s']:.1f} s)")  # fmt: skip
    print(f"   ratio DP=2 / DP=1: {best[2]['tokens_per_s'] / best[1]['tokens_per_s']:.2f}x tokens/s")


def skewed_requests(count: int, long_at: Callable[[int], bool]) -> list[Request]:
    def sampling(tokens: int) -> Sampling:
        return Sampling(n=1, temperature=1.0, top_p=1.0, top_k=-1, max_tokens=tokens)

    return [Request("bench", str(i), f"Problem {i}: think it through.", sampling(LONG if long_at(i) else SHORT), seed=i)
            for i in range(count)]  # fmt: skip


def answer(replicas: Sequence[Replica], batches: Sequence[Sequence[Request]]) -> tuple[float, dict[str, tuple]]:
    """Each batch to its own dispatcher over `replicas` (one batch over all: the queue; one per replica: shards), all at
    once; the seconds until the last answer, and every answer's token ids."""
    answers: dict[str, tuple] = {}

    def run(dispatcher: Dispatcher, batch: Sequence[Request]) -> None:
        for request, completions in dispatcher.generate(batch):
            answers[request.sample_id] = completions[0].token_ids or ()

    pools = [[*replicas]] if len(batches) == 1 else [[r] for r in replicas]
    threads = [threading.Thread(target=run, args=(Dispatcher(pool, Meter([r.name for r in pool])), batch))
               for pool, batch in zip(pools, batches, strict=True)]  # fmt: skip
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, answers


SHORT, LONG = 32, 320  # the tokens a problem is allowed: one in ten ten times as many
PLACES = {  # where the long tenth of the problems lies
    "long ones last": lambda count: lambda i: i >= count * 9 // 10,
    "long ones every tenth": lambda count: lambda i: i % 10 == 9,
    "long ones at random": lambda count: set(random.Random(0).sample(range(count), count // 10)).__contains__,
}


def skewed(rounds: int, count: int) -> None:
    from effbench.backends.replicas import ReplicaPool
    from effbench.backends.vllm import Options

    with tempfile.TemporaryDirectory() as folder:
        model = build_tiny_model(Path(folder) / "tiny")
        options = Options(data_parallel_size=2, max_num_seqs=8, enforce_eager=True, dtype="float32", max_model_len=512)
        pool = ReplicaPool(str(model), options, template_kwargs={}, address=None)
        try:
            print(f"2. skewed lengths: {count} problems on two replicas (max_num_seqs=8), one in ten allowed {LONG} tokens "
                  f"against {SHORT} (fastest of {rounds} rounds)")  # fmt: skip
            for placed, long_at in PLACES.items():
                compare_ways(pool.replicas, skewed_requests(count, long_at(count)), rounds, placed)
        finally:
            pool.close()


def compare_ways(replicas: Sequence[Replica], requests: list[Request], rounds: int, placed: str) -> None:
    half = len(requests) // 2
    ways = {
        "one queue (effbench)": [requests],
        "shards dealt in turn (lm-eval)": [requests[0::2], requests[1::2]],
        "fixed halves (vLLM example)": [requests[:half], requests[half:]],
    }
    best: dict[str, float] = {}
    reference: dict[str, tuple] = {}
    for _ in range(rounds):
        for way, batches in ways.items():
            seconds, answers = answer(replicas, batches)
            assert not reference or answers == reference, f"{way} generated other tokens"
            reference = answers
            best[way] = min(best.get(way, seconds), seconds)
    lengths = {
        budget: [len(reference[r.sample_id]) for r in requests if r.sampling.max_tokens == budget] for budget in (SHORT, LONG)
    }
    means = " and ".join(f"{sum(v) / len(v):.1f} ({k} allowed)" for k, v in lengths.items())
    print(f"   {placed}: mean tokens {means}")
    for way, seconds in best.items():
        print(f"     {way:32} {seconds:6.2f} s   {seconds / best['one queue (effbench)']:.2f}x the queue's time")


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 400
    parts = sys.argv[3] if len(sys.argv) > 3 else "12"
    if "1" in parts:
        throughput(rounds)
    if "2" in parts:
        skewed(rounds, count)


if __name__ == "__main__":
    main()
