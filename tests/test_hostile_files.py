"""Bad files and refusals of the OS: each ends in one line naming the path and what to do, never a traceback."""

from __future__ import annotations

import json
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
