"""The judge cascade against a fake judge server: only what the rules could not settle reaches it, each once."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from effbench.grading.judge_prompt import prompt_hash, read_verdict
from tests.conftest import assert_one_line_error, read_lines, run_cli, write_script

THINK = "<think> 16 - 3 - 4 = 9 and 9 * 2 = 18 </think> "
SCRIPT = {
    "0": THINK + "The answer is \\boxed{18}.",  # settled: correct
    "1": THINK + "I could not finish it.",  # no answer: the judge is asked
    "2": THINK + "The answer is \\boxed{\\frac{}{}}.",  # an answer that cannot be parsed: the judge is asked
    "3": THINK + "The answer is \\boxed{17}.",  # settled: wrong (the gold is 1,500)
}


class FakeJudge:
    """An OpenAI-compatible judge that answers `reply` to every question and keeps what it was asked."""

    def __init__(self, reply: str = "CORRECT"):
        self.reply, self.asked = reply, []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                self._send({"data": [{"id": "judge"}]})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.asked.append(body["messages"][-1]["content"])
                choice = {"index": 0, "message": {"content": fake.reply}, "finish_reason": "stop"}
                self._send({"choices": [choice], "usage": {"prompt_tokens": 50, "completion_tokens": 1}})

            def _send(self, data: dict) -> None:
                payload = json.dumps(data).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    def __enter__(self) -> FakeJudge:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def judge():
    with FakeJudge() as server:
        yield server


def eval_words(tmp_path: Path, *extra: str) -> tuple[str, ...]:
    script = write_script(tmp_path / "script.json", SCRIPT)
    base = ("eval", "model=m", "tasks=gsm8k", "backend=scripted", f"script={script}", f"out={tmp_path / 'runs'}", "limit=4")
    return (*base, "name=judged", *extra)


def test_only_unsettled_completions_reach_the_judge_once_and_both_accuracies_are_stored(tmp_path, judge):
    keys = (f"judge_base_url={judge.url}", "judge_model=judge")
    first = run_cli(*eval_words(tmp_path, *keys))
    assert first.returncode == 0, first.stderr
    assert len(judge.asked) == 2  # the no-answer and the unparsable one; never the settled two
    assert not any("Janet" in asked for asked in judge.asked)  # sample 0's question: settled by the rules
    assert any("I could not finish it." in asked for asked in judge.asked)
    folder = tmp_path / "runs" / "judged"
    metrics = json.loads((folder / "results.json").read_text())["tasks"]["gsm8k"]["metrics"]
    assert metrics["accuracy"] == 0.25  # by the rules: the samples file is never rewritten
    assert metrics["judge"]["accuracy"] == 0.75 and metrics["judge"]["unsettled"] == metrics["judge"]["judged"] == 2
    assert metrics["judge"]["model"] == "judge" and metrics["judge"]["prompt"] == prompt_hash()
    assert "by rules + judge 75.0%" in first.stdout
    grades = {s["id"]: s["completions"][0]["grade"] for s in read_lines(folder / "gsm8k.samples.jsonl")}
    assert {i: (g["verdict"], g["unsettled"]) for i, g in grades.items()} == {
        "0": ("correct", False),
        "1": ("no_answer", False),
        "2": ("wrong", True),
        "3": ("wrong", False),
    }  # the rule verdicts stay as the rules gave them
    verdicts = read_lines(folder / "gsm8k.judge.jsonl")
    assert sorted(v["sample_id"] for v in verdicts) == ["1", "2"] and {v["verdict"] for v in verdicts} == {"correct"}

    board = tmp_path / "board.yaml"
    board.write_text(f"title: t\ntasks: [gsm8k]\nentries:\n  - {{name: judged, model: m, run: {folder}}}\n")
    assert run_cli("report", str(board), f"out={tmp_path / 'site'}").returncode == 0
    page = next((tmp_path / "site").glob("run-*.html")).read_text()
    assert "<h2>Grading</h2>" in page and "2 / 2" in page and "judge (" + prompt_hash() + ")" in page

    again = run_cli(*eval_words(tmp_path, *keys))  # the same command: resumed, nothing asked twice
    assert again.returncode == 0 and len(judge.asked) == 2
    rescored = run_cli("rescore", str(folder), *keys)  # a rescore reuses the run's verdicts
    assert rescored.returncode == 0, rescored.stderr
    assert len(judge.asked) == 2
    rescored_metrics = json.loads((tmp_path / "runs" / "judged-rescored" / "results.json").read_text())
    assert rescored_metrics["tasks"]["gsm8k"]["metrics"]["judge"]["accuracy"] == 0.75


def test_without_a_judge_nothing_is_asked_and_results_have_no_judge(tmp_path):
    result = run_cli(*eval_words(tmp_path))
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "runs" / "judged"
    assert json.loads((folder / "results.json").read_text())["tasks"]["gsm8k"]["metrics"]["judge"] is None
    assert not (folder / "gsm8k.judge.jsonl").exists()


def test_grade_puts_unsettled_lines_to_the_judge_once(tmp_path):
    lines = [
        {"gold": "18", "completion": "\\boxed{18}"},
        {"gold": "18", "completion": "Okay, I give up."},
        {"gold": "18", "completion": "\\boxed{17}"},
    ]
    source = tmp_path / "outputs.jsonl"
    source.write_text("".join(json.dumps(line) + "\n" for line in lines))
    out = tmp_path / "graded.jsonl"
    with FakeJudge("WRONG") as judge:
        words = ("grade", str(source), f"out={out}", f"judge_base_url={judge.url}", "judge_model=judge")
        first = run_cli(*words)
        assert first.returncode == 0, first.stderr
        assert len(judge.asked) == 1
        assert run_cli(*words).returncode == 0 and len(judge.asked) == 1  # kept beside the output: not asked again
    graded = read_lines(out)
    assert [row["judge"] and row["judge"]["verdict"] for row in graded] == [None, "wrong", None]
    assert [row["correct_with_judge"] for row in graded] == [True, False, False]
    assert "by rules + judge 1" in first.stderr and "asked about 1 lines" in first.stderr
    assert (tmp_path / "graded.jsonl.judge.jsonl").exists()


def test_the_prompt_is_shown_with_its_hash():
    shown = run_cli("judge", "--show-prompt")
    assert shown.returncode == 0 and prompt_hash() in shown.stdout and "Reference answer:" in shown.stdout


@pytest.mark.parametrize(
    ("reply", "verdict"),
    [
        ("CORRECT", "correct"),
        ("<think>it says 17, hmm, not correct</think>WRONG", "wrong"),
        ("The response is incorrect.", "wrong"),
        ("NONE", "no_answer"),
        ("I cannot tell", "unclear"),
    ],
)
def test_a_judge_reply_is_read_by_its_last_verdict_word(reply, verdict):
    assert read_verdict(reply) == verdict


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        (("judge_base_url=http://127.0.0.1:9/v1",), "judge_base_url= and judge_model= go together"),
        (("judge=gpt-4o",), "is not vllm:MODEL"),
        (("judge=vllm:x", "judge_model=y", "judge_base_url=http://127.0.0.1:9/v1"), "not both"),
    ],
)
def test_a_judge_named_wrong_is_one_line(tmp_path, keys, message):
    assert_one_line_error(run_cli(*eval_words(tmp_path, *keys)), message)
