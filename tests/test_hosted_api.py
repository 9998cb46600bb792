"""A reasoning model behind a strict hosted API: what the endpoint takes is learned, hidden reasoning is counted from
`usage` and said to be, n completions are n requests, and reasoning_effort / extra_body reach every request."""

from __future__ import annotations

import json

import pytest

from tests.conftest import assert_one_line_error, read_lines, run_cli
from tests.fake_server import HostedApi, StreamingServer


def eval_words(url: str, tmp_path, *extra: str) -> tuple[str, ...]:
    return ("eval", "model=m", "tasks=gsm8k", "limit=6", "backend=openai", f"base_url={url}", f"out={tmp_path}", *extra)


def test_a_strict_api_s_hidden_reasoning_is_counted_from_usage_and_said_so(tmp_path):
    api = HostedApi()
    with api as url:
        words = eval_words(url, tmp_path, "n=2", "temperature=0.7", "reasoning_effort=low", "extra_body.service_tier=flex")
        result = run_cli(*words, "name=hosted")
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines() == [  # learned from the first request, said once each
        "effbench: the server does not take max_tokens: sent as max_completion_tokens",
        "effbench: the server does not take return_token_ids: tokens are counted from its usage, one completion a request",
        "effbench: the server does not take stream: its answers come whole, timed as a whole (no first-token times)",
    ]
    lines = read_lines(tmp_path / "hosted" / "gsm8k.samples.jsonl")
    completions = [c for line in lines for c in line["completions"]]
    assert len(completions) == 12
    assert {(c["tokens"], c["reasoning_tokens"], c["token_count_source"], c["reasoning_count_source"]) for c in completions} == {
        (105, 100, "usage", "usage")
    }
    first, second, third, *answered = api.requests  # three refused, then what the API takes
    assert "max_tokens" in first and "return_token_ids" in second and "max_completion_tokens" in second
    assert "stream" in third and "return_token_ids" not in third
    assert len(answered) == 12 and all(b["n"] == 1 and b["reasoning_effort"] == "low" for b in answered)
    assert all(b["service_tier"] == "flex" and "return_token_ids" not in b and "max_tokens" not in b for b in answered)
    seeds = sorted(b["seed"] for b in answered)
    assert all(seed + 1 in seeds for seed in seeds[::2])  # each problem's two completions: seeds s and s+1, as vLLM's n
    metrics = json.loads((tmp_path / "hosted" / "results.json").read_text())["tasks"]["gsm8k"]["metrics"]
    assert metrics["counted_from"] == {"tokens": {"usage": 12}, "reasoning_tokens": {"usage": 12}}
    assert metrics["reasoning_hidden"] == 12 and metrics["reasoning_tokens"]["mean"] == 100
    record = json.loads((tmp_path / "hosted" / "run.json").read_text())
    accepted = {"return_token_ids": False, "seed": True, "budget_key": "max_completion_tokens", "stream": False}
    assert record["backend"]["accepted"] == accepted
    assert record["identity"]["reasoning_effort"] == "low" and record["identity"]["extra_body"] == {"service_tier": "flex"}
    assert "100 hidden" in result.stdout  # the results table says how the reasoning was counted


def test_the_report_marks_reasoning_counted_from_usage(tmp_path):
    with HostedApi() as url:
        assert run_cli(*eval_words(url, tmp_path, "name=hosted")).returncode == 0
    board = tmp_path / "board.yaml"
    board.write_text(f"title: t\ntasks: [gsm8k]\nentries:\n  - {{name: api, model: m, run: {tmp_path / 'hosted'}}}\n")
    assert run_cli("report", str(board), f"out={tmp_path / 'site'}").returncode == 0
    page = next((tmp_path / "site").glob("run-*.html")).read_text()
    assert "reasoning hidden: counted from usage" in page and "6 of 6 completions" in page
    assert "Time and cost" in page and "wall s p50 / p90 / p99" in page and "$ / problem" not in page  # timed, not priced
    priced = run_cli(
        "report",
        str(board),
        f"out={tmp_path / 'priced-site'}",
        f"prices={price_table(tmp_path / 'p.json', input=1.0, output=4.0)}",
    )
    assert priced.returncode == 0, priced.stderr
    index = (tmp_path / "priced-site" / "index.html").read_text()
    assert "$ / problem" in index and f"{2 * (40 * 1.0 + 305 * 4.0) / 1e6 / 2:.4g}" in index  # one completion a problem
    finished = json.loads((tmp_path / "hosted" / "results.json").read_text())["tasks"]["gsm8k"]["metrics"]["accuracy_finished"]
    assert "accuracy % finished" in index and f'class="col-finished" data-value="{finished}"' in index


def test_what_changes_generation_is_the_run_s_identity_and_what_the_api_refuses_is_one_line(tmp_path):
    with HostedApi() as url:
        assert run_cli(*eval_words(url, tmp_path, "reasoning_effort=low", "name=a")).returncode == 0
        assert_one_line_error(
            run_cli(*eval_words(url, tmp_path, "reasoning_effort=high", "name=a")), "was made with reasoning_effort='low'"
        )
        with_body = run_cli(*eval_words(url, tmp_path, "reasoning_effort=low", "extra_body.service_tier=flex", "name=a"))
        assert_one_line_error(with_body, "was made with extra_body=None")
        refused = run_cli(*eval_words(url, tmp_path, "extra_body.top_k=20", "name=c"))
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "HTTP 400: " in refused.stderr and "top_k" in refused.stderr.splitlines()[-1]  # not dropped: it changes sampling
    assert_one_line_error(run_cli(*eval_words("http://127.0.0.1:9/v1", tmp_path, "extra_body={not json")), "is not JSON")


def test_a_sweep_over_reasoning_effort_is_one_series_on_the_leaderboard(tmp_path):
    with HostedApi() as url:
        words = ("sweep", "model=m", "tasks=gsm8k", "limit=4", "backend=openai", f"base_url={url}", f"out={tmp_path}")
        result = run_cli(*words, "over=reasoning_effort", "values=low,medium,high", "name=effort")
        assert result.returncode == 0, result.stderr
        again = run_cli(*words, "over=reasoning_effort", "values=low,medium,high", "name=effort")  # resumed: nothing new
    assert again.returncode == 0 and "a sweep over reasoning_effort" in again.stdout
    sweep = json.loads((tmp_path / "effort" / "sweep.json").read_text())
    assert sweep["over"] == "reasoning_effort" and sweep["values"] == ["low", "medium", "high"]
    thinking = [json.loads((tmp_path / "effort" / sweep["runs"][v] / "results.json").read_text())["tasks"]["gsm8k"]["metrics"]
                ["reasoning_tokens"]["mean"] for v in ("low", "medium", "high")]  # fmt: skip
    assert thinking == [100, 300, 900]
    board = tmp_path / "board.yaml"
    board.write_text(f"title: t\ntasks: [gsm8k]\nentries:\n  - {{name: effort, model: m, sweep: {tmp_path / 'effort'}}}\n")
    assert run_cli("report", str(board), f"out={tmp_path / 'site'}").returncode == 0
    index = (tmp_path / "site" / "index.html").read_text()
    assert "reasoning_effort <a" in index and ">high</a>" in index and not list((tmp_path / "site" / "plots").glob("budgets-*"))
    assert_one_line_error(run_cli(*words, "over=reasoning_effort", "values=low"), "at least two different values")
    assert_one_line_error(run_cli(*words, "over=nothing", "values=a,b"), "over=nothing is not a key a sweep can go over")
    assert_one_line_error(run_cli(*words, "budgets=8,16", "over=seed", "values=1,2"), "give one")
    assert_one_line_error(run_cli(*words, "over=method", "values=concise,shorter"), "unknown method 'shorter'")


def price_table(path, **prices) -> str:
    path.write_text(json.dumps({"m": {**prices, "source": "the test's own", "as_of": "2026-12-01"}}))
    return str(path)


def test_cost_comes_from_the_server_s_usage_and_new_prices_need_no_new_generation(tmp_path):
    prices = price_table(tmp_path / "prices.json", input=1.0, cached_input=0.25, output=4.0)
    with HostedApi() as url:
        words = eval_words(url, tmp_path, "n=2", "temperature=0.7", "reasoning_effort=low", f"prices={prices}")
        result = run_cli(*words, "name=priced")
        assert result.returncode == 0, result.stderr
        assert run_cli(*eval_words(url, tmp_path, "n=2", "temperature=0.7", "name=base")).returncode == 0
    # by hand: each completion is its own request: 16 prompt tokens at 1.0, 24 cached at 0.25, 105 written at 4.0
    each = (16 * 1.0 + 24 * 0.25 + 105 * 4.0) / 1e6
    cost = json.loads((tmp_path / "priced" / "results.json").read_text())["tasks"]["gsm8k"]["metrics"]["cost"]
    assert cost["per_problem_usd"] == pytest.approx(2 * each) and cost["total_usd"] == pytest.approx(12 * each)
    assert cost["per_solved_usd"] == pytest.approx(12 * each)  # one of the six problems is solved (both completions)
    assert "prices's prices for m (2026-12-01; the test's own)" in cost["basis"]
    assert "per solved problem" in result.stdout
    lines = read_lines(tmp_path / "priced" / "gsm8k.samples.jsonl")
    assert {(c["prompt_tokens"], c["cached_tokens"]) for line in lines for c in line["completions"]} == {(40, 24)}
    other = price_table(tmp_path / "other.json", input=2.0, output=8.0)  # no cached price: cached tokens at the input's
    compared = run_cli("compare", str(tmp_path / "base"), str(tmp_path / "priced"), f"prices={other}", "format=json")
    assert compared.returncode == 0, compared.stderr
    costs = json.loads(compared.stdout)["costs"]
    base_each = (40 * 2.0 + (300 + 5) * 8.0) / 1e6  # reasoning_effort unset: the API thinks 300 tokens
    assert costs["priced"]["gsm8k"]["per_problem_usd"] == pytest.approx(2 * (40 * 2.0 + 105 * 8.0) / 1e6)
    assert costs["base"]["gsm8k"]["per_problem_usd"] == pytest.approx(2 * base_each)
    table = run_cli("compare", str(tmp_path / "base"), str(tmp_path / "priced"), f"prices={other}", env={"COLUMNS": "300"})
    assert "OckScore" in table.stdout and "$ per solved" in table.stdout and "efficiency scores" in table.stdout
    runs = (str(tmp_path / "base"), str(tmp_path / "priced"))
    cheaper = run_cli("gate", *runs, f"prices={other}", "max_cost_increase=0", "max_cost_per_problem=0.002")
    assert cheaper.returncode == 0, cheaper.stdout + cheaper.stderr  # low effort: fewer tokens, so cheaper
    dearer = run_cli("gate", *reversed(runs), f"prices={other}", "max_cost_increase=0.5", "format=json")
    check = json.loads(dearer.stdout)["checks"][0]
    assert dearer.returncode == 1 and check["observed"] == pytest.approx(base_each / (40 * 2.0 + 105 * 8.0) * 1e6 - 1)
    assert_one_line_error(run_cli("gate", *runs, "max_cost_per_problem=1"), "the cost rules price the runs")
    missing = eval_words("http://127.0.0.1:9/v1", tmp_path, f"prices={tmp_path / 'none.yaml'}")
    assert_one_line_error(run_cli(*missing), "is neither a shipped price table")


@pytest.mark.parametrize("split", [False, True])
def test_a_streamed_answer_times_its_first_token_and_its_first_answer_token(tmp_path, split):
    """The server thinks at once, then pauses before the answer: the first answer token's time shows the pause."""
    with StreamingServer(pause=0.6, split=split) as url:
        result = run_cli(*eval_words(url, tmp_path, f"name=s{split}"))
    assert result.returncode == 0, result.stderr
    lines = read_lines(tmp_path / f"s{split}" / "gsm8k.samples.jsonl")
    for completion in (c for line in lines for c in line["completions"]):
        timing = completion["timing"]
        assert timing["first_token_s"] < 0.4 <= 0.6 <= timing["first_answer_s"] <= timing["wall_s"]
        assert timing["estimated"] is False and completion["token_ids"] == [1, 2, 3, 4, 5, 6][: 4 if split else 6]
        assert completion["grade"]["answer"] == "18" and completion["prompt_tokens"] == 9  # the answer put together
    latency = json.loads((tmp_path / f"s{split}" / "results.json").read_text())["tasks"]["gsm8k"]["metrics"]["latency"]
    assert latency["timed"] == 6 and latency["first_answer_s"]["p50"] >= 0.6 > latency["first_token_s"]["p90"]
    if split:  # compare shows the timings (as a table, and in its JSON and CSV)
        run = str(tmp_path / f"s{split}")
        table, data = (run_cli("compare", run, run, *f, env={"COLUMNS": "300"}) for f in ((), ("format=json",)))
        assert "first answer token" in table.stdout and f"{latency['first_answer_s']['p50']:.3f}" in table.stdout
        assert json.loads(data.stdout)["latency"][0]["first_answer_s_p50"] == latency["first_answer_s"]["p50"]
