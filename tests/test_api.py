"""effbench from Python: grade (a reward function's verdict), evaluate, compare and load_runs at the package top."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import pytest

import effbench
from effbench.errors import ConfigError, DataError
from effbench.tasks.data import load_dataset
from effbench.tasks.spec import load_task
from tests.conftest import write_script


def test_grade_uses_the_rules_of_the_task_and_of_the_reasoning_format():
    assert effbench.grade("So she makes \\boxed{18} dollars.", "Janet sells 9 eggs... #### 18", task="gsm8k").correct
    wrong = effbench.grade("So she makes \\boxed{19} dollars.", "18", task="gsm8k")
    assert wrong.verdict == "wrong" and wrong.answer == "19"
    assert effbench.grade("no number stated", "18").verdict == "no_answer"
    assert effbench.grade("<think>still going", "18").verdict == "unfinished"  # the default format: think
    assert effbench.grade("<think>still going \\boxed{18}", "18", reasoning="none").correct
    assert effbench.grade("故选 B", "B", task="gaokao2024_I").correct
    with pytest.raises(DataError, match="unknown task 'gsm9k'"):
        effbench.grade("\\boxed{1}", "1", task="gsm9k")


def test_grade_is_safe_from_many_threads_at_once():
    pairs = [(f"The answer is \\boxed{{{i}}}.", str(i if i % 3 else i + 1)) for i in range(120)]
    expected = [i % 3 != 0 for i in range(120)]
    with ThreadPoolExecutor(8) as executor:
        verdicts = list(executor.map(lambda pair: effbench.grade(*pair).correct, pairs))
    assert verdicts == expected


def test_a_pathological_answer_times_out_and_the_next_grade_still_works(tmp_path):
    script = tmp_path / "reward.py"
    script.write_text(
        textwrap.dedent("""
        import effbench

        if __name__ == "__main__":  # the grading workers import the main script again
            print(effbench.grade("\\\\boxed{9^{9^{9^{9^{9}}}}}", "1").verdict)
            print(effbench.grade("\\\\boxed{\\\\frac{1}{2}}", "0.5").verdict)
    """)
    )
    env = {**os.environ, "EFFBENCH_GRADE_TIMEOUT": "1", "EFFBENCH_GRADE_WORKERS": "1"}
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["timeout", "correct"] and "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory, data_dir):
    tmp = tmp_path_factory.mktemp("api")
    samples = load_dataset(load_task("gsm8k"), root=data_dir, limit=12).samples
    for name, words in (("base", 40), ("short", 8)):
        script = {f"gsm8k/{s.id}": "<think>" + " step" * words + f"</think> \\boxed{{{s.gold if i % 4 else -1}}}"
                  for i, s in enumerate(samples)}  # fmt: skip
        path = write_script(tmp / f"{name}.json", script)
        outcome = effbench.evaluate(model="m", tasks="gsm8k", backend="scripted", script=path, limit=12, out=tmp, name=name)
        assert outcome.folder == tmp / name and outcome.results.tasks["gsm8k"].metrics.accuracy == pytest.approx(0.75)
    return tmp


def test_evaluate_and_compare_return_results_and_frames(two_runs):
    frame = effbench.compare(two_runs / "base", two_runs / "short")
    row = frame.set_index("task").loc["gsm8k"]
    assert list(frame["task"]) == ["gsm8k", "average"]
    assert row["accuracy_delta"] == 0 and 0.5 < row["compression"] < 0.9 and row["mean_tokens"] < row["baseline_mean_tokens"]
    loaded = effbench.load_runs(two_runs)
    assert sorted(loaded["run"]) == ["base", "short"]


def test_evaluate_refuses_bad_keys_with_the_command_s_message(tmp_path):
    with pytest.raises(ConfigError, match="unknown key 'modle'"):
        effbench.evaluate(modle="m", tasks="gsm8k", backend="scripted", script=str(tmp_path / "x.json"))
