"""Several OpenAI-compatible endpoints used as one: dead at start, dying mid-run, serving another model."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from tests.conftest import assert_one_line_error, read_lines, run_cli
from tests.fake_server import FakeServer


def dead_url() -> str:
    """The API root of a port that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/v1"


def served(folder: Path) -> dict[str, dict]:
    generation = json.loads((folder / "run.json").read_text())["invocations"][-1]["generation"]
    return {engine["engine"]: engine for engine in generation["engines"]}


def eval_words(tmp_path: Path, *extra: str) -> tuple[str, ...]:
    return ("eval", "model=m", "tasks=gsm8k", "limit=30", "backend=openai", f"out={tmp_path}", "max_retries=2", *extra)


def test_a_run_outlives_an_endpoint_dead_at_start_and_one_that_dies_mid_run(tmp_path):
    dead = dead_url()
    with FakeServer("good", delay=0.05, die_after=5) as dying, FakeServer("good", delay=0.05) as good:
        result = run_cli(*eval_words(tmp_path, f"base_url={dead},{dying},{good}", "concurrency=2", "name=three"), timeout=300)
    assert result.returncode == 0, result.stderr
    ids = [line["id"] for line in read_lines(tmp_path / "three" / "gsm8k.samples.jsonl")]
    assert sorted(ids, key=int) == [str(i) for i in range(30)]  # every problem once
    engines = served(tmp_path / "three")
    assert list(engines) == [dead, dying, good]
    assert engines[dead]["requests"] == 0 and engines[dying]["requests"] == 5 and engines[good]["requests"] == 25
    assert all(engines[url]["tokens"] == 3 * engines[url]["requests"] for url in engines)  # the fake's three token ids
    assert f"{dead} left out of the run" in result.stderr and f"{dying} left out of the run" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 2  # one line each
    record = json.loads((tmp_path / "three" / "run.json").read_text())
    assert record["backend"]["endpoints"] == [dead, dying, good]


def test_requests_go_to_the_endpoint_with_the_fewest_in_flight(tmp_path):
    """A slow endpoint holds its requests longer, so it is handed fewer."""
    with FakeServer("good", delay=0.5) as slow, FakeServer("good", delay=0.02) as fast:
        urls = tmp_path / "urls.txt"
        urls.write_text(f"# the pool\n{slow}\n\n{fast}  # the fast one\n")
        result = run_cli(*eval_words(tmp_path, f"base_urls_file={urls}", "concurrency=1", "name=two"))
    assert result.returncode == 0, result.stderr
    engines = served(tmp_path / "two")
    assert engines[slow]["requests"] + engines[fast]["requests"] == 30
    assert engines[fast]["requests"] > 2 * engines[slow]["requests"] > 0


def test_an_endpoint_serving_another_model_is_named_and_none_answering_is_one_line(tmp_path):
    with FakeServer("good") as good, FakeServer("good", model="other") as odd:
        result = run_cli(*eval_words(tmp_path, f"base_url={good},{odd}"))
    assert_one_line_error(result, f"the server at {odd} does not serve model 'm'; it serves: other")
    assert not (tmp_path / "m").exists()
    first, second = dead_url(), dead_url()
    assert_one_line_error(
        run_cli(*eval_words(tmp_path, f"base_url={first},{second}")), f"the server at {first}/models does not answer"
    )
    with FakeServer("good") as good:
        assert_one_line_error(run_cli(*eval_words(tmp_path, f"base_url={good},{good}/")), "is named twice")
        missing = tmp_path / "missing.txt"
        assert_one_line_error(
            run_cli(*eval_words(tmp_path, f"base_urls_file={missing}")), f"base_urls_file {missing} cannot be read"
        )


def test_a_run_whose_every_endpoint_dies_stops_with_one_line_and_keeps_what_finished(tmp_path):
    with FakeServer("good", die_after=4) as first, FakeServer("good", die_after=4) as second:
        result = run_cli(*eval_words(tmp_path, f"base_url={first},{second}", "concurrency=1", "name=gone"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    *notices, error = result.stderr.strip().splitlines()
    assert "every endpoint kept failing" in error and len(notices) == 2  # each endpoint left out, said once
    assert len(read_lines(tmp_path / "gone" / "gsm8k.samples.jsonl")) == 8
