"""The inference-time methods (method=): the exact request each produces, what each needs, and the run's record."""

from __future__ import annotations

import json

import pytest

from effbench.backends.openai_request import RequestShape
from effbench.backends.vllm import chat_prompt_text
from effbench.config import EvalConfig
from effbench.errors import ConfigError
from effbench.run.evaluate import plan_tasks
from effbench.store.folder import RunStore
from effbench.tasks.methods import METHODS
from tests.conftest import assert_one_line_error, run_cli, write_script

NO_THINKING = "<think>\nOkay, I think I have finished thinking.\n</think>\n\n"
GSM8K_FIRST = "Janet’s ducks lay 16 eggs per day."


def request_for(tmp_path, data_dir, **keys):
    config = EvalConfig(model="m", tasks=("gsm8k",), limit=1, data_dir=data_dir, out=tmp_path, **keys)
    plan = plan_tasks(config, RunStore.open(tmp_path, "r"))[0]
    return plan.todo[0], plan.method


def test_each_method_s_exact_request(tmp_path, data_dir):
    plain, _ = request_for(tmp_path, data_dir)
    (system, user) = ({"role": "system", "content": "Be concise."}, plain.prompt[-1])
    assert user["content"].startswith(GSM8K_FIRST) and plain.prefill == ""
    expected = {
        "nothinking": (plain.prompt, NO_THINKING),
        "chain_of_draft": (
            ({"role": "user", "content": f"{METHODS['chain_of_draft'].before_user}\n{user['content']}"},),
            "",
        ),
        "concise": ((system, user), ""),
        "token_budget": (
            ({"role": "user", "content": f"{user['content']}\nLet's think step by step and use less than 300 tokens:"},),
            "",
        ),
        "budget_forcing": (plain.prompt, ""),
    }
    assert len(plain.prompt) == 1  # gsm8k's chat prompt is one user message
    for name, (prompt, prefill) in expected.items():
        budget = {"prompt_budget": 300} if name == "token_budget" else {}
        request, applied = request_for(tmp_path, data_dir, method=name, **budget)
        assert (request.prompt, request.prefill) == (prompt, prefill), name
        assert applied["name"] == name and "arXiv:" in applied["citation"]
    _, applied = request_for(tmp_path, data_dir, method="nothinking")
    assert applied["prefill"] == NO_THINKING


def test_a_system_message_is_kept_and_the_method_s_sentence_added_to_it(tmp_path, data_dir):
    request, _ = request_for(tmp_path, data_dir, method="concise", system="You are a careful solver.")
    assert request.prompt[0] == {"role": "system", "content": "You are a careful solver.\nBe concise."}


def test_the_prefill_is_written_after_the_template_s_generation_prompt_once(tmp_path, data_dir):
    """A chat template that opens <think> itself is not given a second one; one that does not, is."""
    from transformers import AutoTokenizer

    from effbench.demo import TINY_REASONER

    tokenizer = AutoTokenizer.from_pretrained(TINY_REASONER)
    request, _ = request_for(tmp_path, data_dir, method="nothinking")
    closed = chat_prompt_text(tokenizer, request, {})
    assert closed.endswith("<|im_start|>assistant\n" + NO_THINKING)
    opened = chat_prompt_text(tokenizer, request, {"enable_thinking": True})
    assert opened.endswith("<|im_start|>assistant\n<think>\nOkay, I think I have finished thinking.\n</think>\n\n")
    assert opened.count("<think>") == 1 and request.prefill_closes_reasoning


def test_the_server_request_continues_the_assistant_s_turn(tmp_path, data_dir):
    request, _ = request_for(tmp_path, data_dir, method="nothinking")
    path, body = RequestShape("m", {}, "low", {}).body(request, 1, 7)
    assert path == "/chat/completions" and body["messages"][-1] == {"role": "assistant", "content": NO_THINKING}
    assert body["continue_final_message"] is True and body["add_generation_prompt"] is False
    assert body["reasoning_effort"] == "low" and body["seed"] == 7


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"method": "token_budget"}, "give prompt_budget=N"),
        ({"method": "nothinking", "prompt": "plain"}, "use prompt=chat"),
        ({"method": "nothinking", "reasoning": "none"}, "give a reasoning= format that has them"),
    ],
)
def test_what_a_method_needs_is_one_line(tmp_path, data_dir, keys, message):
    with pytest.raises(ConfigError, match=message):
        request_for(tmp_path, data_dir, **keys)


def test_a_method_is_part_of_the_run_s_identity_and_record(tmp_path):
    script = write_script(tmp_path / "script.json", {"*": "<think> a b </think> \\boxed{18}"})
    words = ("eval", "model=m", "tasks=gsm8k", "limit=2", "backend=scripted", f"script={script}", f"out={tmp_path}", "name=r")
    assert run_cli(*words, "method=concise").returncode == 0
    record = json.loads((tmp_path / "r" / "run.json").read_text())
    assert record["identity"]["method"] == "concise" and record["tasks"]["gsm8k"]["method"]["system"] == "Be concise."
    assert_one_line_error(run_cli(*words, "method=chain_of_draft"), "was made with method='concise'")
    assert_one_line_error(run_cli(*words, "method=shorter"), "unknown method 'shorter'")
    assert_one_line_error(run_cli(*words, "prompt_budget=100"), "give method=token_budget")
    listed = run_cli("methods")
    assert listed.returncode == 0 and all(name in listed.stdout for name in METHODS)
    assert "arXiv:2504.09858" in listed.stdout and "Be concise." in listed.stdout


def test_a_run_s_method_is_shown_in_compare_the_report_and_load_runs(tmp_path):
    from effbench.store.runs import load_runs

    script = write_script(tmp_path / "script.json", {"*": "<think> a b </think> \\boxed{18}"})
    words = ("eval", "model=m", "tasks=gsm8k", "limit=3", "backend=scripted", f"script={script}", f"out={tmp_path / 'runs'}")
    assert run_cli(*words, "name=base").returncode == 0
    assert run_cli(*words, "name=short", "method=concise").returncode == 0
    compared = run_cli("compare", str(tmp_path / "runs" / "base"), str(tmp_path / "runs" / "short"), "format=json")
    assert compared.returncode == 0 and json.loads(compared.stdout)["runs"]["short"]["method"] == "concise"
    table = run_cli("compare", str(tmp_path / "runs" / "base"), str(tmp_path / "runs" / "short"), env={"COLUMNS": "250"})
    assert "(concise)" in table.stdout
    board = tmp_path / "board.yaml"
    board.write_text(f"title: t\ntasks: [gsm8k]\nentries:\n  - {{name: base, model: m, run: {tmp_path / 'runs' / 'base'}}}\n"
                     f"  - {{name: short, model: m, run: {tmp_path / 'runs' / 'short'}, baseline: base}}\n")  # fmt: skip
    assert run_cli("report", str(board), f"out={tmp_path / 'site'}").returncode == 0
    page = (tmp_path / "site" / "run-short.html").read_text()
    assert "method <b>concise</b>" in page and "arXiv:2401.05618" in page
    assert "m · concise" in (tmp_path / "site" / "index.html").read_text()  # the board's entry, from the run's method
    frame = load_runs(tmp_path / "runs")
    methods = frame.set_index("run")["method"]
    assert methods.isna()["base"] and methods["short"] == "concise"
