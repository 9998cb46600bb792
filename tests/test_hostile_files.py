"""Bad files and refusals of the OS: each ends in one line naming the path and what to do, never a traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from effbench.structured import MAX_DEPTH, load_json, load_yaml
from tests.conftest import assert_one_line_error, run_cli, write_script

RIGHT = "<think> 16 - 3 - 4 = 9 and 9 * 2 = 18 </think> The answer is \\boxed{18}."
DEEP = 100_000


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """One small finished run, shared by the tests that only read it."""
    tmp = tmp_path_factory.mktemp("hostile")
    script = write_script(tmp / "script.json", {"*": RIGHT})
    result = run_cli(*eval_words(tmp, script, "name=base"))
    assert result.returncode == 0, result.stderr
    return tmp / "runs" / "base"


@pytest.fixture
def script(tmp_path) -> Path:
    return write_script(tmp_path / "script.json", {"*": RIGHT})


def eval_words(tmp_path: Path, script: Path, *extra: str) -> tuple[str, ...]:
    words = {"model": "m", "tasks": "gsm8k", "backend": "scripted", "script": str(script), "out": str(tmp_path / "runs"),
             "limit": "3"}  # fmt: skip
    words.update(word.split("=", 1) for word in extra)
    return ("eval", *(f"{k}={v}" for k, v in words.items()))


# --- files nested without end ----------------------------------------------------------------------


def test_yaml_and_json_are_read_to_a_depth_and_no_further():
    assert load_yaml("a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)) is not None
    assert load_json("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    with pytest.raises(yaml.YAMLError, match="nested deeper than"):
        load_yaml("a: " + "[" * MAX_DEPTH + "]" * MAX_DEPTH)
    with pytest.raises(json.JSONDecodeError, match="nested deeper than"):
        load_json("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    with pytest.raises(json.JSONDecodeError, match="nested deeper than"):
        load_json(b"[" * DEEP + b"]" * DEEP)
    assert load_json('{"text": "' + "{[" * 500 + '"}')["text"].startswith("{[")  # brackets in strings are text


@pytest.mark.parametrize("role", ["task", "rules", "leaderboard"])
def test_a_yaml_file_nested_100000_deep_is_one_line(tmp_path, run, script, role):
    deep = tmp_path / "deep.yaml"
    deep.write_text("a: " + "[" * DEEP + "]" * DEEP + "\n", encoding="utf-8")
    words = {
        "task": eval_words(tmp_path, script, f"tasks={deep}"),
        "rules": ("gate", str(run), str(run), f"rules={deep}"),
        "leaderboard": ("report", str(deep), f"out={tmp_path / 'site'}"),
    }[role]
    assert_one_line_error(run_cli(*words), f"{deep} is not valid YAML")


def test_a_grade_line_nested_100000_deep_is_one_line(tmp_path):
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"gold": "1", "completion": "1"}\n{"gold": "1", "completion": ' + "[" * DEEP + "]" * DEEP + "}\n")
    assert_one_line_error(run_cli("grade", str(rows)), f"{rows} line 2 is not valid JSON")


# --- files that are not text -----------------------------------------------------------------------


@pytest.mark.parametrize("key", ["rules", "config"])
def test_a_rules_or_config_file_that_is_not_utf8_is_one_line(tmp_path, run, key):
    rules = tmp_path / "rules.yaml"
    rules.write_bytes(b"max_accuracy_drop: 1\n# caf\xe9 \xff\xfe\n")
    assert_one_line_error(run_cli("gate", str(run), str(run), f"{key}={rules}"), f"{rules} is not UTF-8 text")


# --- places the OS refuses -------------------------------------------------------------------------

OBEYING_MODES = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-dac_override,-dac_read_search"]


def run_as(prefix: list[str], *words: str) -> subprocess.CompletedProcess:
    """The real `effbench` command behind `prefix` (a shell's `ulimit`, root without its power over file modes)."""
    command = [*prefix, sys.executable, "-m", "effbench", *words]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=os.environ.copy())


def obeying_modes() -> list[str]:
    """A prefix under which a folder of mode 555 cannot be written: root keeps none of its override of file modes."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("root can write a read-only folder, and setpriv (util-linux) is not here to stop that")
    return OBEYING_MODES


def with_file_size_limit(kib: int) -> list[str]:
    """A prefix under which no file grows past `kib` KiB: writes past it fail as on a full disk (EFBIG)."""
    return ["bash", "-c", f'ulimit -f {kib} && exec "$@"', "bash"]


def assert_whole_lines(path: Path) -> int:
    """Every line of a samples file whole and terminated; their number."""
    raw = path.read_bytes()
    assert raw.endswith(b"\n"), raw[-200:]
    return len([json.loads(line) for line in raw.split(b"\n") if line])


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (("grade", "{rows}", "out=/proc/effbench/graded.jsonl"), "out=/proc/effbench/graded.jsonl cannot be written"),
        (("report", "{board}", "out=/proc/effbench/site"), "/proc/effbench"),
        (("gate", "{run}", "{run}", "junit=/proc/effbench/junit.xml"), "junit=/proc/effbench/junit.xml cannot be written"),
    ],
)
def test_an_output_in_a_place_that_cannot_hold_files_is_one_line(tmp_path, run, words, message):
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"gold": "1", "completion": "1"}\n')
    board = tmp_path / "board.yaml"
    board.write_text(f"title: t\ntasks: [gsm8k]\nentries:\n  - {{name: a, model: m, run: {run}}}\n")
    words = tuple(w.format(rows=rows, board=board, run=run) for w in words)
    assert_one_line_error(run_cli(*words), message)


@pytest.mark.parametrize("file", ["gsm8k.samples.jsonl", ".effbench.lock"])
def test_a_folder_where_a_run_keeps_a_file_is_one_line(tmp_path, script, file):
    (tmp_path / "runs" / "odd" / file).mkdir(parents=True)
    result = run_cli(*eval_words(tmp_path, script, "name=odd"))
    assert_one_line_error(result, f"{tmp_path / 'runs' / 'odd' / file}: Is a directory; a folder stands where")


def test_a_full_disk_while_appending_samples_keeps_the_finished_ones_whole(tmp_path, script):
    words = eval_words(tmp_path, script, "name=full", "limit=20")
    samples = tmp_path / "runs" / "full" / "gsm8k.samples.jsonl"
    assert_one_line_error(run_as(with_file_size_limit(12), *words), f"{samples}: File too large;")
    kept = assert_whole_lines(samples)
    assert 0 < kept < 20
    resumed = run_cli(*words)
    assert resumed.returncode == 0, resumed.stderr
    assert assert_whole_lines(samples) == 20


def test_a_full_disk_during_a_rescore_is_one_line_and_the_rescore_resumes(tmp_path, script):
    assert run_cli(*eval_words(tmp_path, script, "name=base", "limit=20")).returncode == 0
    base = tmp_path / "runs" / "base"
    samples = tmp_path / "runs" / "base-rescored" / "gsm8k.samples.jsonl"
    assert_one_line_error(run_as(with_file_size_limit(12), "rescore", str(base)), f"{samples}: File too large;")
    assert 0 < assert_whole_lines(samples) < 20
    resumed = run_cli("rescore", str(base))
    assert resumed.returncode == 0, resumed.stderr
    assert assert_whole_lines(samples) == 20


@pytest.mark.parametrize("case", ["new run", "extend", "rescore", "sweep", "report"])
def test_a_read_only_folder_is_one_line(tmp_path, run, script, case):
    runs = tmp_path / "runs"
    assert run_cli(*eval_words(tmp_path, script, "name=kept")).returncode == 0
    read_only = {"new run": runs, "extend": runs / "kept", "rescore": runs, "sweep": runs, "report": tmp_path / "reports"}
    read_only[case].mkdir(exist_ok=True)
    board = tmp_path / "board.yaml"
    board.write_text(f"title: t\ntasks: [gsm8k]\nentries:\n  - {{name: a, model: m, run: {run}}}\n")
    words = {
        "new run": eval_words(tmp_path, script, "name=new"),
        "extend": eval_words(tmp_path, script, "name=kept", "limit=5"),
        "rescore": ("rescore", str(runs / "kept")),
        "sweep": ("sweep", *eval_words(tmp_path, script, "budgets=64,128")[1:]),
        "report": ("report", str(board), f"out={tmp_path / 'reports' / 'site'}"),
    }[case]
    read_only[case].chmod(0o555)
    try:
        result = run_as(obeying_modes(), *words)
    finally:
        read_only[case].chmod(0o755)
    assert_one_line_error(result, f"{read_only[case]}")
    assert "Permission denied" in result.stderr


# --- a CI summary that cannot be written -----------------------------------------------------------


@pytest.mark.parametrize("summary", ["folder", "/proc/effbench/summary.md"])
def test_a_step_summary_that_cannot_be_written_is_a_warning_and_the_gate_keeps_its_verdict(tmp_path, run, summary):
    summary = str(tmp_path) if summary == "folder" else summary
    passing = run_cli("gate", str(run), str(run), env={"GITHUB_STEP_SUMMARY": summary})
    assert passing.returncode == 0, passing.stderr
    warnings = [line for line in passing.stderr.splitlines() if "warning" in line]
    assert warnings == [warnings[0]] and f"GITHUB_STEP_SUMMARY={summary} cannot be written" in warnings[0]
    assert "Traceback" not in passing.stderr and "gate: PASS" in passing.stderr
    failing = run_cli("gate", str(run), str(run), "min_compression=0.5", env={"GITHUB_STEP_SUMMARY": summary})
    assert failing.returncode == 1 and "gate: FAIL" in failing.stderr and "Traceback" not in failing.stderr


# --- a report cut short ----------------------------------------------------------------------------


def board_of(tmp_path: Path, run: Path, entries: int = 1) -> Path:
    board = tmp_path / "board.yaml"
    lines = "".join(f"  - {{name: e{i}, model: m, run: {run}}}\n" for i in range(entries))
    board.write_text(f"title: t\ntasks: [gsm8k]\nentries:\n{lines}")
    return board


def test_a_killed_report_leaves_the_old_one_whole_and_the_next_replaces_it(tmp_path, run):
    site = tmp_path / "site"
    assert run_cli("report", str(board_of(tmp_path, run)), f"out={site}").returncode == 0
    old = {p.name: p.read_bytes() for p in site.rglob("*") if p.is_file()}
    board = board_of(tmp_path, run, entries=8)
    report = subprocess.Popen([sys.executable, "-m", "effbench", "report", str(board), f"out={site}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.time() + 60
    while time.time() < deadline and not list(tmp_path.glob(".site.*.partial/index.html")):
        time.sleep(0.01)
    report.kill()
    report.wait(timeout=30)
    assert {p.name: p.read_bytes() for p in site.rglob("*") if p.is_file()} == old  # the old report, whole
    assert list(tmp_path.glob(".site.*.partial"))  # what was cut short is marked so, beside it
    assert run_cli("report", str(board), f"out={site}").returncode == 0
    assert "e7" in (site / "index.html").read_text() and not list(tmp_path.glob(".site.*"))


def test_a_report_never_replaces_a_folder_holding_other_files(tmp_path, run):
    site = tmp_path / "site"
    site.mkdir()
    (site / "notes.txt").write_text("mine")
    assert_one_line_error(run_cli("report", str(board_of(tmp_path, run)), f"out={site}"), "holds 'notes.txt'")
    assert [p.name for p in site.iterdir()] == ["notes.txt"]


def test_a_report_failing_halfway_leaves_nothing_half_written(tmp_path, run):
    site = tmp_path / "site"
    result = run_as(with_file_size_limit(4), "report", str(board_of(tmp_path, run)), f"out={site}")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert not site.exists() and not list(tmp_path.glob(".site.*"))


# --- names a figure cannot draw --------------------------------------------------------------------


def cjk_font_installed() -> bool:
    listed = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True) if shutil.which("fc-list") else None
    return bool(listed and listed.stdout.strip())


def test_names_with_escapes_and_cjk_reach_the_plots_clean_and_the_terminal_never(tmp_path, run):
    board = tmp_path / "board.yaml"
    entries = [("a\x1b[31mred\x1b[0m 模型", "m\x1b]0;owned\x07"), ("b\x07\ue000", "m2")]
    board.write_text(
        "title: t\ntasks: [gsm8k]\nentries:\n"
        + "".join(f"  - {{name: {json.dumps(n)}, model: {json.dumps(m)}, run: {run}}}\n" for n, m in entries),
        encoding="utf-8",
    )
    result = run_cli("report", str(board), f"out={tmp_path / 'site'}")
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stderr + result.stdout and "\x07" not in result.stderr and "Glyph" not in result.stderr
    said = [line for line in result.stderr.splitlines() if "leave out" in line]
    assert len(said) == 1 and "\ue000" in said[0], result.stderr  # a private-use character: no font has it
    svg = (tmp_path / "site" / "plots" / "pareto-gsm8k.svg").read_text(encoding="utf-8")
    assert "\x1b" not in svg and "\x07" not in svg and "\ue000" not in svg and "ared" in svg
    if cjk_font_installed():
        assert "模型" in svg and "模" not in said[0]
    else:
        assert "模" in said[0] and "型" in said[0]
