"""Nothing lost, nothing hung, nothing mixed: the cases a hostile test found, each through the real command."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from effbench.grading.pool import GradingPool
from effbench.tasks.spec import TASK_FOLDER
from tests.conftest import assert_one_line_error, read_lines, run_cli, write_script
from tests.fake_server import FakeServer

RIGHT = "<think> 16 - 3 - 4 = 9 and 9 * 2 = 18 </think> The answer is \\boxed{18}."


@pytest.fixture
def script(tmp_path) -> Path:
    return write_script(tmp_path / "script.json", {"*": RIGHT})


def eval_words(tmp_path, script, *extra: str) -> tuple[str, ...]:
    words = {
        "model": "m",
        "tasks": "gsm8k",
        "backend": "scripted",
        "script": str(script),
        "out": str(tmp_path / "runs"),
        "limit": "4",
    }
    words.update(word.split("=", 1) for word in extra)
    return ("eval", *(f"{k}={v}" for k, v in words.items()))


# --- data mixed or made unusable -------------------------------------------------------------------


def test_a_second_eval_on_the_same_run_is_refused_at_once_and_the_first_finishes_whole(tmp_path, script):
    words = eval_words(tmp_path, script, "limit=12", "delay=0.3", "name=shared")
    first = subprocess.Popen(
        [sys.executable, "-m", "effbench", *words], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    samples = tmp_path / "runs" / "shared" / "gsm8k.samples.jsonl"
    deadline = time.time() + 60
    while time.time() < deadline and not samples.exists():
        time.sleep(0.05)
    started = time.time()
    second = run_cli(*words)
    assert time.time() - started < 20  # refused at once, not after generating
    assert_one_line_error(second, "is in use by another effbench (pid ")
    assert str(first.pid) in second.stderr
    assert first.wait(timeout=120) == 0, first.stderr.read()
    ids = [line["id"] for line in read_lines(samples)]
    assert sorted(ids, key=int) == [str(i) for i in range(12)]  # every sample once
    assert run_cli(*words).returncode == 0  # and the run stays usable
    assert not (samples.parent / ".effbench.lock").exists()


def test_a_run_whose_record_is_lost_is_never_resumed_with_a_guess(tmp_path, script):
    assert run_cli(*eval_words(tmp_path, script, "name=lost")).returncode == 0
    (tmp_path / "runs" / "lost" / "run.json").unlink()
    result = run_cli(*eval_words(tmp_path, script, "name=lost", "model=other", "system=be brief", "max_tokens=9", "seed=3"))
    assert_one_line_error(result, "holds samples but no run.json")


@pytest.mark.parametrize("content", ["[1, 2]", "42", "{not json", '{"identity": 5}'])
def test_a_run_file_that_is_not_effbench_s_is_one_line_in_eval_and_compare(tmp_path, script, content):
    assert run_cli(*eval_words(tmp_path, script, "name=odd")).returncode == 0
    assert run_cli(*eval_words(tmp_path, script, "name=base")).returncode == 0
    (tmp_path / "runs" / "odd" / "run.json").write_text(content)
    assert_one_line_error(run_cli(*eval_words(tmp_path, script, "name=odd")), "run.json")
    compared = run_cli("compare", str(tmp_path / "runs" / "base"), str(tmp_path / "runs" / "odd"))
    assert compared.returncode == (2 if content != '{"identity": 5}' else compared.returncode)
    assert "Traceback" not in compared.stderr


def test_a_lone_surrogate_from_a_model_is_stored_and_the_run_finishes(tmp_path):
    script = tmp_path / "surrogate.json"
    script.write_text('{"*": "<think> a \\ud800 b </think> \\\\boxed{18} \\udfff"}', encoding="utf-8")
    result = run_cli(*eval_words(tmp_path, script, "name=odd-unicode"))
    assert result.returncode == 0, result.stderr
    line = read_lines(tmp_path / "runs" / "odd-unicode" / "gsm8k.samples.jsonl")[0]
    assert "\ufffd" in line["completions"][0]["text"] and line["completions"][0]["grade"]["verdict"] == "correct"
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"gold": "18", "completion": "\\\\boxed{18} \\ud800"}\n', encoding="utf-8")
    graded = run_cli("grade", str(rows))
    assert graded.returncode == 0 and json.loads(graded.stdout)["correct"] is True


def test_an_interrupted_rescore_resumes_and_a_finished_one_is_kept(tmp_path, script):
    assert run_cli(*eval_words(tmp_path, script, "name=base", "limit=6")).returncode == 0
    base = tmp_path / "runs" / "base"
    assert run_cli("rescore", str(base)).returncode == 0
    target = tmp_path / "runs" / "base-rescored"
    whole = (target / "results.json").read_text()
    (target / "results.json").unlink()  # as a kill -9 before the end leaves it
    samples = target / "gsm8k.samples.jsonl"
    samples.write_text("".join(samples.read_text().splitlines(keepends=True)[:2]) + '{"id": "2", "que')
    (target / ".run.json.x1y2.tmp").write_text("{")  # an atomic write cut short before its rename
    resumed = run_cli("rescore", str(base))
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((target / "results.json").read_text())["tasks"] == json.loads(whole)["tasks"]
    assert len(read_lines(samples)) == 6 and not list(target.glob(".*.tmp"))
    assert_one_line_error(run_cli("rescore", str(base)), "is a finished run already")
    assert_one_line_error(run_cli("rescore", str(base), "name=../../x"), "is not a plain folder name")


def test_leaderboard_names_are_unique_and_runs_of_one_folder_name_get_pages_of_their_own(tmp_path, script):
    for out in ("runs", "other"):
        words = eval_words(tmp_path, script, f"out={tmp_path / out}", "name=a")
        assert run_cli(*words).returncode == 0
    board = tmp_path / "board.yaml"
    board.write_text(
        f"title: t\ntasks: [gsm8k]\nentries:\n  - {{name: x, model: m, run: {tmp_path / 'runs' / 'a'}}}\n"
        f"  - {{name: y, model: m, run: {tmp_path / 'other' / 'a'}}}\n"
    )
    result = run_cli("report", str(board), f"out={tmp_path / 'site'}")
    assert result.returncode == 0, result.stderr
    pages = sorted(p.name for p in (tmp_path / "site").glob("run-*.html"))
    assert pages == ["run-other-a.html", "run-runs-a.html"]
    index = (tmp_path / "site" / "index.html").read_text()
    assert 'href="run-runs-a.html"' in index and 'href="run-other-a.html"' in index
    board.write_text(board.read_text().replace("name: y", "name: x"))
    assert_one_line_error(run_cli("report", str(board), f"out={tmp_path / 'site2'}"), "entry name 'x' is given twice")


# --- waits without end -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "keys", "message"),
    [
        ("hang", ("request_timeout=1", "max_retries=1"), "kept failing"),
        ("trickle", ("request_timeout=1", "max_retries=1"), "no whole answer within request_timeout"),
        ("hang", ("request_timeout=60", "max_retries=0", "progress_timeout=2"), "progress_timeout=2"),
    ],
)
def test_a_server_that_never_answers_whole_ends_the_run_in_bounded_time(tmp_path, mode, keys, message):
    with FakeServer(mode) as url:
        started = time.time()
        result = run_cli(
            "eval",
            "model=m",
            "tasks=gsm8k",
            "limit=1",
            "backend=openai",
            f"base_url={url}",
            f"out={tmp_path}",
            *keys,
            timeout=120,
        )
    assert time.time() - started < 40
    assert_one_line_error(result, message)


def test_grading_never_waits_on_zero_workers_or_no_timeout(tmp_path):
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"gold": "1", "completion": "1"}\n')
    for words, message in (
        (("workers=0",), "bad value for workers"),
        (("timeout=0",), "bad value for timeout"),
        (("timeout=-1",), "bad value for timeout"),
    ):
        assert_one_line_error(run_cli("grade", str(rows), *words, timeout=60), message)
    with pytest.raises(ValueError, match="at least one worker"):
        GradingPool(workers=0)


def test_the_answers_one_completion_states_share_one_grading_budget(tmp_path):
    slow = "\\boxed{" + "9^{9^{9^{9^{9}}}}" + "}"
    rows = tmp_path / "rows.jsonl"
    completion = " ".join(f"Try {slow}." for _ in range(31)) + " So \\boxed{7}."
    rows.write_text(json.dumps({"gold": "7", "completion": completion}) + "\n")
    started = time.time()
    result = run_cli("grade", str(rows), "timeout=3", "workers=1", timeout=300)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["correct"] is True
    assert time.time() - started < 3 * 3 + 20  # the final answer's timeout plus two for all 31 (was one each: 93 s)


# --- one line, not a traceback ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("html", "not JSON ('<html><body>502 Bad Gateway"),
        ("list", "a JSON list, not an object"),
        ("choices-text", "no list of choices"),
        ("int-content", "content of type int, not text"),
        ("text-token-ids", "token_ids are not a list of integers"),
        ("models-html", "not JSON"),
        ("models-list", "a JSON list, not an object"),
        ("models-not-json", "not JSON"),
        ("models-data-text", "no model list"),
    ],
)
def test_a_server_answering_the_wrong_shape_is_one_line(tmp_path, mode, message):
    with FakeServer(mode) as url:
        result = run_cli(
            "eval",
            "model=m",
            "tasks=gsm8k",
            "limit=1",
            "backend=openai",
            f"base_url={url}",
            f"out={tmp_path}",
            "max_retries=0",
            timeout=120,
        )
    assert_one_line_error(result, message)


def test_a_base_url_that_is_not_a_url_is_one_line(tmp_path):
    result = run_cli("eval", "model=m", "tasks=gsm8k", "limit=1", "backend=openai", "base_url=http://[::1", f"out={tmp_path}")
    assert_one_line_error(result, "base_url=http://[::1 is not a URL")


def test_a_server_s_null_content_and_lone_surrogates_are_graded_not_fatal(tmp_path):
    for mode in ("null-content", "surrogate"):
        with FakeServer(mode) as url:
            result = run_cli(
                "eval",
                "model=m",
                "tasks=gsm8k",
                "limit=1",
                "backend=openai",
                f"base_url={url}",
                f"out={tmp_path}",
                f"name={mode}",
                timeout=120,
            )
        assert result.returncode == 0, result.stderr
    verdicts = [
        read_lines(tmp_path / m / "gsm8k.samples.jsonl")[0]["completions"][0]["grade"]["verdict"]
        for m in ("null-content", "surrogate")
    ]
    assert verdicts == ["no_answer", "correct"]


def test_a_server_s_token_ids_locate_answers_in_tokens_with_the_tokenizer_given(tmp_path):
    """The server's own token ids with tokenizer=: positions in tokens; without it, in characters, and the results say so."""
    from effbench.backends.codec import TokenizerCodec
    from tests.helpers import qwen_tokenizer

    tokenizer = qwen_tokenizer()
    tokenizer.save_pretrained(tmp_path / "tokenizer")
    said = "16 - 3 - 4 = 9 eggs, and 9 * 2 = 18, so the answer is 18. Wait, let me check: 18.</think> So \\boxed{18}."
    ids = tokenizer.encode(said, add_special_tokens=False)
    text = tokenizer.decode(ids, skip_special_tokens=True)
    body = json.dumps({"choices": [{"index": 0, "message": {"content": text}, "finish_reason": "stop", "token_ids": ids}]})
    for name, extra in (("with", (f"tokenizer={tmp_path / 'tokenizer'}",)), ("without", ())):
        with FakeServer("body", body.encode()) as url:
            result = run_cli("eval", "model=m", "tasks=gsm8k", "limit=1", "backend=openai", f"base_url={url}",
                             f"out={tmp_path}", f"name={name}", *extra, timeout=120)  # fmt: skip
        assert result.returncode == 0, result.stderr
    grade = read_lines(tmp_path / "with" / "gsm8k.samples.jsonl")[0]["completions"][0]["grade"]
    assert grade["verdict"] == "correct" and grade["first_correct_at"] == text.index("is 18") + 5
    assert grade["first_correct_tokens"] == TokenizerCodec(tokenizer).tokens_until(tuple(ids), text, grade["first_correct_at"])
    thinking = {n: json.loads((tmp_path / n / "results.json").read_text())["tasks"]["gsm8k"]["metrics"]["thinking"]
                for n in ("with", "without")}  # fmt: skip
    assert thinking["with"]["positions"] == "tokens" and thinking["with"]["first_correct_tokens"]["mean"] < len(ids)
    assert thinking["without"]["positions"] == "characters" and thinking["without"]["first_correct_tokens"] is None
    broken = run_cli("eval", "model=m", "tasks=gsm8k", "limit=1", "backend=openai", f"base_url={url}",
                     f"out={tmp_path}", "name=broken", f"tokenizer={tmp_path / 'nothing'}", timeout=120)  # fmt: skip
    assert_one_line_error(broken, f"tokenizer={tmp_path / 'nothing'} could not be loaded")


def custom_task(tmp_path, lines: bytes, **replace: str) -> Path:
    """A copy of gsm8k's task over a data file of our own (its sha256 and count pinned), with fields replaced."""
    data = tmp_path / "data" / "mine.jsonl"
    data.parent.mkdir(exist_ok=True)
    data.write_bytes(lines)
    text = (TASK_FOLDER / "gsm8k.yaml").read_text()
    text = text.replace("local: gsm8k/test.jsonl", "local: mine.jsonl")
    text = text.replace("3730d312f6e3440559ace48831e51066acaca737f6eabec99bccb9e4b3c39d14", hashlib.sha256(lines).hexdigest())
    records = max(1, lines.count(b"\n"))
    text = text.replace("records: 1319", f"records: {records}")
    for old, new in replace.items():
        text = text.replace(old, new)
    path = tmp_path / "mine.yaml"
    path.write_bytes(text.encode("utf-8"))
    return path


GOOD_LINE = b'{"question": "What is 9 * 2?", "answer": "So\\n#### 18"}\n'


@pytest.mark.parametrize(
    ("lines", "replace", "message"),
    [
        (b'{"question": "\xff\xfe", "answer": "#### 1"}\n', {}, "line 1 is not UTF-8 text"),
        (b"[1, 2, 3]\n", {}, "line 1 holds a JSON list, not a record"),
        (b"42\n", {}, "line 1 holds a JSON int, not a record"),
        (GOOD_LINE, {"'####\\s*([^\\n]+?)\\s*$'": "'(['"}, "is not a regular expression"),
        (GOOD_LINE, {"{{ question }}": "{{ 1/0 }}"}, "ZeroDivisionError"),
    ],
)
def test_a_broken_task_or_dataset_is_one_line(tmp_path, script, lines, replace, message):
    task = custom_task(tmp_path, lines, **replace)
    words = eval_words(tmp_path, script, f"tasks={task}", f"data_dir={tmp_path / 'data'}")
    assert_one_line_error(run_cli(*words), message)


def test_a_task_file_that_is_not_utf8_is_one_line(tmp_path, script):
    task = tmp_path / "latin.yaml"
    task.write_bytes((TASK_FOLDER / "gsm8k.yaml").read_bytes().replace(b"GSM8K test", b"GSM8K t\xe9st"))
    assert_one_line_error(run_cli(*eval_words(tmp_path, script, f"tasks={task}")), "is not UTF-8 text")


def test_a_question_with_line_separators_loads_and_grades(tmp_path, script):
    line = '{"question": "What is\u2028 9 * 2?\u0085", "answer": "#### 18"}\n'.encode()
    task = custom_task(tmp_path, line)
    result = run_cli(*eval_words(tmp_path, script, f"tasks={task}", f"data_dir={tmp_path / 'data'}", "name=separators"))
    assert result.returncode == 0, result.stderr
    stored = read_lines(tmp_path / "runs" / "separators" / "gsm8k.samples.jsonl")
    assert len(stored) == 1 and "\u2028" in stored[0]["question"]
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"gold": "18", "completion": "So\u2028 \\\\boxed{18}\u0085"}\n', encoding="utf-8")
    graded = run_cli("grade", str(rows))
    assert graded.returncode == 0 and json.loads(graded.stdout.split("\n")[0])["correct"] is True


def test_paths_that_are_files_or_folders_in_the_wrong_place_are_one_line(tmp_path, script):
    (tmp_path / "afile").write_text("x")
    assert_one_line_error(run_cli(*eval_words(tmp_path, script, f"out={tmp_path / 'afile'}")), "a part of its path is a file")
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "m").write_text("x")
    assert_one_line_error(run_cli(*eval_words(tmp_path, script)), "is a file, not a run folder")
    assert run_cli(*eval_words(tmp_path, script, "name=ok")).returncode == 0
    run = tmp_path / "runs" / "ok"
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"gold": "1", "completion": "1"}\n{"gold": "1", "completion": "1", "task": 5}\n')
    assert_one_line_error(run_cli("grade", str(rows)), "line 2: task must be a string")
    rows.write_text('{"gold": "1", "completion": "1"}\n')
    assert_one_line_error(run_cli("grade", str(rows), f"out={tmp_path}"), f"out={tmp_path} cannot be written")
    assert_one_line_error(run_cli("gate", str(run), str(run), f"junit={tmp_path}"), f"junit={tmp_path} cannot be written")
    board = tmp_path / "board.yaml"
    board.write_text(f"title: t\ntasks: [gsm8k]\nentries:\n  - {{name: x, model: m, run: {run}}}\n")
    assert_one_line_error(run_cli("report", str(board), f"out={tmp_path / 'afile'}"), "is a file; give a folder")
    board.write_bytes(b"title: t\xe9\n")
    assert_one_line_error(run_cli("report", str(board)), "is not UTF-8 text")
    rules = tmp_path / "rules.yaml"
    rules.write_text("tasks: {gsm8k: 5}\n")
    assert_one_line_error(run_cli("gate", str(run), str(run), f"rules={rules}"), "`tasks:` each task to such a mapping")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[1]", "must hold a JSON object"),
        ('{"*": 5}', "'*' must be a text or a non-empty list of texts"),
        ('{"*": "x", "after_cue": "y"}', "after_cue must be an object"),
        ('{"*": []}', "non-empty list of texts"),
    ],
)
def test_a_malformed_script_is_one_line(tmp_path, content, message):
    script = tmp_path / "bad.json"
    script.write_text(content)
    assert_one_line_error(run_cli(*eval_words(tmp_path, script)), message)


# --- accepted silently, wrongly --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (("temperature=inf",), "temperature=inf must be a finite number"),
        (("temperature=nan",), "temperature=nan must be a finite number"),
        (("top_k=-5",), "bad value for top_k"),
        (("top_k=0",), "top_k=0 keeps no token"),
        (("model=",), "bad value for model"),
        (("grade_timeout=inf",), "grade_timeout=inf must be a finite number"),
    ],
)
def test_values_that_would_be_silently_wrong_are_refused(tmp_path, script, words, message):
    assert_one_line_error(run_cli(*eval_words(tmp_path, script, *words)), message)


def test_compare_and_report_refuse_values_without_meaning(tmp_path, script):
    for name in ("a", "b"):
        assert run_cli(*eval_words(tmp_path, script, f"name={name}")).returncode == 0
    runs = tmp_path / "runs"
    assert_one_line_error(run_cli("compare", str(runs / "a"), str(runs / "b"), "alpha=nan"), "alpha=nan must be a finite number")
    board = tmp_path / "board.yaml"
    board.write_text(f"title: t\ntasks: [gsm8k]\nentries:\n  - {{name: x, model: m, run: {runs / 'a'}}}\n")
    assert_one_line_error(run_cli("report", str(board), "samples_per_task=-5"), "bad value for samples_per_task")


# --- let in ----------------------------------------------------------------------------------------


def test_only_web_links_are_written_into_pages(tmp_path):
    board = tmp_path / "board.yaml"
    board.write_text(
        'title: t\nurl: "javascript:alert(1)"\ntasks: [gsm8k]\n'
        "entries:\n  - {name: p, model: m, reported: {gsm8k: {accuracy: 50, mean_tokens: 10}}}\n"
    )
    assert_one_line_error(run_cli("report", str(board)), "is not an http or https link")


def test_markup_and_escape_codes_from_data_reach_the_terminal_as_text(tmp_path):
    answer = "\x1b[31m[link=http://evil]x[/link]\x1b]8;;http://evil\x07"
    script = write_script(tmp_path / "hostile.json", {"*": f"\\boxed{{{answer}}}"})
    model = "[/bold]\x1b[2J[bold red]m"
    result = run_cli(*eval_words(tmp_path, script, f"model={model}", "name=hostile"))
    assert result.returncode == 0, result.stderr
    assert "[/bold]" in result.stdout and "\x1b" not in result.stdout
    rescored = run_cli("rescore", str(tmp_path / "runs" / "hostile"), "reasoning=none")
    assert rescored.returncode == 0 and "\x1b" not in rescored.stdout


@pytest.mark.parametrize(
    ("file", "version", "message"),
    [
        ("results.json", 99, "is of schema version 99, this effbench reads 1: upgrade effbench"),
        ("run.json", 2, "is of schema version 2, this effbench reads 1: upgrade effbench"),
        ("results.json", 0, "make it again with effbench rescore"),
    ],
)
def test_a_run_of_another_schema_version_is_refused_with_what_to_do(tmp_path, script, file, version, message):
    for name in ("a", "b"):
        assert run_cli(*eval_words(tmp_path, script, f"name={name}")).returncode == 0
    path = tmp_path / "runs" / "b" / file
    path.write_text(json.dumps({**json.loads(path.read_text()), "schema_version": version}))
    assert_one_line_error(run_cli("compare", str(tmp_path / "runs" / "a"), str(tmp_path / "runs" / "b")), message)


def test_more_grading_workers_than_cores_are_capped_at_the_cores(tmp_path):
    script = write_script(tmp_path / "s.json", {"*": "The answer is \\boxed{18}."})
    result = run_cli("eval", "model=m", "backend=scripted", f"script={script}", "tasks=gsm8k", "limit=2", "workers=100000",
                     f"out={tmp_path}", "name=capped", timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    config = json.loads((tmp_path / "capped" / "run.json").read_text())["config"]
    assert config["workers"] == len(os.sched_getaffinity(0))
