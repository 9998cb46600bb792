"""The real vLLM CPU engine on a tiny random-weight model: offline, killed and resumed, and served."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from effbench.tasks.spec import load_task
from effbench.tinymodel import build_tiny_model
from tests.conftest import as_generated, read_lines, run_cli, without_latency

pytestmark = pytest.mark.vllm
SECRET = "sk-effbench-test-secret-4f1c9a"
ENGINE = ("enforce_eager=true", "dtype=float32")
GREEDY = 20  # problems of the greedy run that is killed and resumed


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("model") / "tiny")


@pytest.fixture(scope="module", autouse=True)
def vllm_env(tmp_path_factory):
    saved = dict(os.environ)
    os.environ["VLLM_RPC_BASE_PATH"] = str(tmp_path_factory.mktemp("rpc"))
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    yield
    os.environ.clear()
    os.environ.update(saved)


def completions(folder: Path, task: str) -> dict[str, list[dict]]:
    """The task's completions by sample, without what only measured their serving (time, cache hits)."""
    return {line["id"]: as_generated(line)["completions"] for line in read_lines(folder / f"{task}.samples.jsonl")}


def test_offline_engine_run_is_complete_exact_and_reproducible(tiny_model, tmp_path):
    words = (
        "eval",
        f"model={tiny_model}",
        "tasks=gsm8k,math500",
        "limit=10",
        "n=2",
        "temperature=0.8",
        "max_tokens=48",
        f"out={tmp_path}",
        *ENGINE,
    )
    first, second = run_cli(*words, "name=a"), run_cli(*words, "name=b")
    assert first.returncode == 0, first.stderr[-2000:]
    assert second.returncode == 0, second.stderr[-2000:]
    for task in ("gsm8k", "math500"):
        stored = completions(tmp_path / "a", task)
        assert len(stored) == 10
        for outs in stored.values():
            assert len(outs) == 2
            for out in outs:
                assert out["tokens"] == len(out["token_ids"]) > 0
                assert out["finish_reason"] in {"stop", "length"}
            assert outs[0]["prompt_tokens"] > 0 and outs[1]["prompt_tokens"] == 0  # the request's prompt, billed once
        assert stored == completions(tmp_path / "b", task)
        for line in read_lines(tmp_path / "a" / f"{task}.samples.jsonl"):  # vLLM's own per-request timings
            for timing in (c["timing"] for c in line["completions"]):
                assert 0 < timing["first_token_s"] <= timing["wall_s"]
                answer = timing["first_answer_s"]  # placed by token position where a reasoning ended: said as such
                assert answer is None or (timing["first_token_s"] <= answer <= timing["wall_s"] and timing["estimated"])
    a, b = (without_latency(json.loads((tmp_path / n / "results.json").read_text())) for n in ("a", "b"))
    a.pop("run"), b.pop("run")
    assert a == b
    run = json.loads((tmp_path / "a" / "run.json").read_text())
    assert run["backend"]["engine"] == "vllm" and run["environment"]["packages"]["torch"]
    assert run["tasks"]["math500"]["dataset"]["records"] == 500


NEW_TASKS = (
    "gaokao2024_I",
    "gaokao2024_II",
    "gaokao2024_mix",
    "gaokao_math_cloze",
    "gaokao_math_qa",
    "o1pruner_math",
    "o1pruner_gaokao",
    "olympiadbench",
    "minerva_math",
    "aime26",
    "hmmt_feb25",
)


def test_chinese_gaokao_o1_pruner_olympiad_minerva_aime26_and_hmmt_tasks_run_end_to_end(tiny_model, tmp_path):
    result = run_cli(
        "eval",
        f"model={tiny_model}",
        f"tasks={','.join(NEW_TASKS)}",
        "limit=3",
        "max_tokens=16",
        f"out={tmp_path}",
        "name=new",
        *ENGINE,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    results = json.loads((tmp_path / "new" / "results.json").read_text())
    assert sorted(results["tasks"]) == sorted(NEW_TASKS)
    for task in NEW_TASKS:
        lines = read_lines(tmp_path / "new" / f"{task}.samples.jsonl")
        assert len(lines) == 3 and all(c["tokens"] == len(c["token_ids"]) > 0 for line in lines for c in line["completions"])
        assert results["tasks"][task]["metrics"]["samples"] == 3
    run = json.loads((tmp_path / "new" / "run.json").read_text())
    assert run["tasks"]["olympiadbench"]["dataset"]["sha256"] == load_task("olympiadbench").source.sha256
    prompt = read_lines(tmp_path / "new" / "gaokao_math_qa.samples.jsonl")[0]["prompt"]
    assert prompt[0]["role"] == "system" and "\n选项: (A)" in prompt[1]["content"]  # Qwen2.5-Math's prompt and layout


@pytest.fixture(scope="module")
def greedy_run(tiny_model, tmp_path_factory) -> tuple[Path, int]:
    """A greedy run interrupted after a few samples by Ctrl-C (SIGINT to its process group, the engine and the grading
    workers with it), then resumed: (run folder, samples stored before the interrupt). The interrupt is one line."""
    out = tmp_path_factory.mktemp("greedy")
    words = (
        "eval",
        f"model={tiny_model}",
        "tasks=gsm8k",
        f"limit={GREEDY}",
        "max_tokens=160",
        "max_num_seqs=2",
        f"out={out}",
        "name=greedy",
        *ENGINE,
    )
    samples = out / "greedy" / "gsm8k.samples.jsonl"
    child = subprocess.Popen(
        [sys.executable, "-m", "effbench", *words], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    deadline = time.time() + 300
    while time.time() < deadline and child.poll() is None and (not samples.exists() or samples.read_bytes().count(b"\n") < 4):
        time.sleep(0.02)
    os.killpg(child.pid, signal.SIGINT)
    try:
        _, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
    said = err.decode()
    assert child.returncode == 130 and "Traceback" not in said and len(said.strip().splitlines()) == 1, said[-3000:]
    before = samples.read_bytes().count(b"\n")
    resumed = run_cli(*words)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    return out / "greedy", before


def test_killed_run_resumes_with_only_the_missing_samples(greedy_run):
    folder, before = greedy_run
    assert 4 <= before < GREEDY, "the kill should land mid-run"
    ids = [line["id"] for line in read_lines(folder / "gsm8k.samples.jsonl")]
    assert sorted(ids, key=int) == [str(i) for i in range(GREEDY)]
    invocations = json.loads((folder / "run.json").read_text())["invocations"]
    assert invocations[-1]["tasks"]["gsm8k"]["generated_samples"] == GREEDY - before


def test_kill_9_of_eval_and_its_watchdog_together_leaves_no_engine_or_worker_behind(tiny_model, tmp_path):
    """The engine core in a process of its own (as on a GPU), the grading workers and the resource tracker die with
    effbench within seconds even when its watchdog is killed with it (`pkill -9 -f effbench`): each is tied to its
    parent by the parent-death signal, from its own side."""
    from effbench.run.watchdog import descendants, start_time

    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "effbench",
            "eval",
            f"model={tiny_model}",
            "tasks=gsm8k",
            "limit=200",
            "max_tokens=400",
            "max_num_seqs=2",
            f"out={tmp_path}",
            "name=killed",
            *ENGINE,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, "VLLM_ENABLE_V1_MULTIPROCESSING": "1"},
    )
    samples = tmp_path / "killed" / "gsm8k.samples.jsonl"
    try:
        deadline = time.time() + 300
        while time.time() < deadline and (not samples.exists() or samples.read_bytes().count(b"\n") < 2):
            time.sleep(0.1)
        started = {pid: start_time(pid) for pid in descendants(child.pid)}
        names = {pid: Path(f"/proc/{pid}/cmdline").read_bytes() for pid in started if Path(f"/proc/{pid}").exists()}
        watchdogs = [pid for pid, name in names.items() if b"effbench.run.watchdog" in name]
        assert len(watchdogs) == 1 and any(b"spawn_main" in n for n in names.values()), names
        assert any(b"EngineCore" in n for n in names.values()), names  # the engine in a process of its own
        for pid in (child.pid, *watchdogs):  # together, as `pkill -9 -f effbench` does
            os.kill(pid, signal.SIGKILL)
    finally:  # a failed check above kills the whole run too
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    time.sleep(10)
    left = [pid for pid, begun in started.items() if start_time(pid) == begun]
    names_left = [Path(f"/proc/{pid}/cmdline").read_bytes()[:80] for pid in left]
    for pid in left:  # a failing check leaves nothing running either
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    assert not left, names_left


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tiny_model, tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    with log.open("w") as handle:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "vllm.entrypoints.openai.api_server",
                "--model",
                str(tiny_model),
                "--served-model-name",
                "tiny",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--dtype",
                "float32",
                "--enforce-eager",
                "--no-enable-chunked-prefill",
                "--max-num-seqs",
                "2",
                "--kv-cache-memory-bytes",
                str(1 << 30),
                "--api-key",
                SECRET,
            ],
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.time() + 300
        while True:
            request = urllib.request.Request(f"{url}/models", headers={"Authorization": f"Bearer {SECRET}"})
            try:
                urllib.request.urlopen(request, timeout=2)
                break
            except OSError:
                assert process.poll() is None and time.time() < deadline, log.read_text()[-3000:]
                time.sleep(1)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def test_server_gives_the_offline_token_counts_and_keeps_the_key_secret(server, greedy_run, tmp_path):
    offline, _ = greedy_run
    result = run_cli(
        "eval",
        "model=tiny",
        "backend=openai",
        f"base_url={server}",
        "tasks=gsm8k",
        f"limit={GREEDY}",
        "max_tokens=160",
        f"out={tmp_path}",
        "name=served",
        "concurrency=8",
        env={"OPENAI_API_KEY": SECRET},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    served, local = completions(tmp_path / "served", "gsm8k"), completions(offline, "gsm8k")
    assert served.keys() == local.keys()
    for sample_id, outs in served.items():
        assert outs[0]["token_count_source"] == "token_ids"
        assert outs[0]["tokens"] == local[sample_id][0]["tokens"], sample_id
        assert outs[0]["token_ids"] == local[sample_id][0]["token_ids"], sample_id
        assert outs[0]["prompt_tokens"] == local[sample_id][0]["prompt_tokens"] > 0, sample_id  # the server's usage, the engine's
    for path in (tmp_path / "served").iterdir():
        assert SECRET not in path.read_text(), path
    assert SECRET not in result.stdout + result.stderr
    refused = run_cli(
        "eval",
        "model=tiny",
        "backend=openai",
        f"base_url={server}",
        "tasks=gsm8k",
        "limit=2",
        f"out={tmp_path}",
        "name=nokey",
        env={"OPENAI_API_KEY": ""},
    )
    assert refused.returncode == 2 and "refused the API key" in refused.stderr


def test_a_real_vllm_server_judges_each_completion_the_rules_could_not_settle_once(server, greedy_run, tiny_model):
    offline, _ = greedy_run
    keys = (f"judge_base_url={server}", "judge_model=tiny", "judge_max_tokens=4", "judge_api_key_env=JUDGE_KEY")
    result = run_cli("rescore", str(offline), "name=judged", *keys, env={"JUDGE_KEY": SECRET})
    assert result.returncode == 0, result.stderr[-2000:]
    folder = offline.parent / "judged"
    grades = [c["grade"] for line in read_lines(folder / "gsm8k.samples.jsonl") for c in line["completions"]]
    unsettled = sum(g["verdict"] == "no_answer" or g["unsettled"] for g in grades)
    assert unsettled > 0  # the tiny model's chains seldom state an answer: the judge has work
    verdicts = read_lines(folder / "gsm8k.judge.jsonl")
    assert len(verdicts) == len({v["key"] for v in verdicts}) == unsettled  # each unsettled completion once, no other
    judge = json.loads((folder / "results.json").read_text())["tasks"]["gsm8k"]["metrics"]["judge"]
    assert judge["judged"] == judge["unsettled"] == unsettled and judge["model"] == "tiny"
    assert judge["accuracy"] is not None  # the tiny judge's verdicts are noise: the mechanism is what is tested
    assert "by rules + judge" in result.stdout
    offline = run_cli("rescore", str(folder), "name=judged-offline", f"judge=vllm:{tiny_model}", "judge_max_tokens=4")
    assert offline.returncode == 0, offline.stderr[-2000:]  # the same completions, put to the offline engine
    verdicts = read_lines(folder.parent / "judged-offline" / "gsm8k.judge.jsonl")
    assert len(verdicts) == unsettled and {v["model"] for v in verdicts} == {str(tiny_model)}


def test_tiny_model_sweep_derives_budgets_token_for_token_and_the_report_draws_it(tiny_model, tmp_path):
    common = ("sweep", f"model={tiny_model}", "tasks=gsm8k", "limit=8", "budgets=8,16,32", f"out={tmp_path}", *ENGINE)
    for words in (("name=derived",), ("name=separate", "derive=false"), ("name=forced", "mode=force", "enable_thinking=true")):
        result = run_cli(*common, *words)
        assert result.returncode == 0, result.stderr[-2000:]
    for budget in (8, 16, 32):
        derived = completions(tmp_path / "derived" / f"derived-b{budget}", "gsm8k")
        assert derived == completions(tmp_path / "separate" / f"separate-b{budget}", "gsm8k")  # the real engine, greedy
        assert all(c["tokens"] <= budget for outs in derived.values() for c in outs)
        for outs in completions(tmp_path / "forced" / f"forced-b{budget}", "gsm8k").values():
            for c in outs:
                if c["forced"] is None:
                    assert c["tokens"] <= budget and c["finish_reason"] == "stop"
                    continue
                assert c["forced"]["at_token"] == budget
                assert c["text"].count("</think>\n\nFinal answer: \\boxed{") == 1  # the template opened <think>: closed once
                assert c["tokens"] == budget + c["forced"]["answer_tokens"] == len(c["token_ids"]) - c["forced"]["tokens"]
    board = tmp_path / "board.yaml"
    board.write_text(
        f"title: tiny sweeps\ntasks: [gsm8k]\nentries:\n"
        f"  - {{name: truncated, model: tiny, sweep: {tmp_path / 'derived'}}}\n"
        f"  - {{name: forced, model: tiny, sweep: {tmp_path / 'forced'}}}\n",
        encoding="utf-8",
    )
    result = run_cli("report", str(board), f"out={tmp_path / 'site'}")
    assert result.returncode == 0, result.stderr
    plot = (tmp_path / "site" / "plots" / "pareto-gsm8k.svg").read_text()
    assert "truncated (sweep)" in plot and "forced (sweep)" in plot
    index = (tmp_path / "site" / "index.html").read_text()
    assert "budget AUC %" in index and 'href="run-forced-b16.html"' in index
    assert {f"run-{name}-b{b}.html" for name in ("derived", "forced") for b in (8, 16, 32)} <= {
        p.name for p in (tmp_path / "site").iterdir()
    }


def test_prompts_longer_than_the_context_are_skipped_with_their_reason_and_the_rest_generated(tiny_model, tmp_path):
    """Of the first ten GSM8K prompts, four are longer than 220 of the tiny tokenizer's tokens (231, 233, 314, 361)."""
    words = ("eval", f"model={tiny_model}", "tasks=gsm8k", "limit=10", "max_tokens=16", "max_model_len=220", f"out={tmp_path}")
    result = run_cli(*words, "name=short", *ENGINE)
    assert result.returncode == 0, result.stderr[-2000:]
    folder = tmp_path / "short"
    skipped = read_lines(folder / "gsm8k.skipped.jsonl")
    assert len(skipped) == 4 and all("does not fit the model's context" in s["reason"] for s in skipped)
    assert len(read_lines(folder / "gsm8k.samples.jsonl")) == 6  # the rest generated
    task = json.loads((folder / "results.json").read_text())["tasks"]["gsm8k"]
    assert task["excluded"] == 4 and sorted(task["skipped"]) == sorted(s["id"] for s in skipped)
    assert task["metrics"]["samples"] == 6
    again = run_cli(*words, "name=short", *ENGINE)  # nothing left to generate: the engine is not started again
    assert again.returncode == 0 and len(read_lines(folder / "gsm8k.skipped.jsonl")) == 4
    assert "backend_start_s" in json.loads((folder / "run.json").read_text())["invocations"][-1]
    assert json.loads((folder / "run.json").read_text())["invocations"][-1]["backend_start_s"] is None


def test_an_engine_that_cannot_start_is_one_line_that_names_its_log(tiny_model, tmp_path):
    broken = tmp_path / "broken-model"
    shutil.copytree(tiny_model, broken)
    config = json.loads((broken / "config.json").read_text())
    (broken / "config.json").write_text(json.dumps({**config, "architectures": ["NoSuchForCausalLM"]}))
    result = run_cli("eval", f"model={broken}", "tasks=gsm8k", "limit=1", f"out={tmp_path}", "name=broken", *ENGINE)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    log = tmp_path / "broken" / "engine.log"
    assert "could not be loaded by vLLM" in result.stderr and f"its start-up output: {log}" in result.stderr
    assert log.read_text().strip()  # what the engine said is kept there
