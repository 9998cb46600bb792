"""`effbench gate` and `effbench rescore` on pairs of real runs, made by the scripted backend."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from effbench.tasks.data import load_dataset
from effbench.tasks.spec import load_task
from tests.conftest import assert_one_line_error, run_cli, write_script
from tests.helpers import chain

LIMIT = 80
TASK_FOLDER = Path(__file__).parent.parent / "effbench" / "tasks" / "definitions"


@pytest.fixture(scope="module")
def runs(tmp_path_factory, data_dir):
    """Named runs of gsm8k over the same 80 samples: a baseline and candidates built from it."""
    tmp = tmp_path_factory.mktemp("gate")
    samples = load_dataset(load_task("gsm8k"), root=data_dir, limit=LIMIT).samples

    def script(name: str, right, words) -> Path:
        entries = {f"gsm8k/{s.id}": chain(words(i), s.gold if right(i) else "-1") for i, s in enumerate(samples)}
        return write_script(tmp / f"{name}.json", entries)

    variants = {
        "base": script("base", lambda i: i % 4 != 0, lambda i: 20 + i % 7),
        "worse": script("worse", lambda i: i % 4 != 0 and i % 3 != 0, lambda i: 20 + i % 7),  # loses a third of its right answers
        "noise": script("noise", lambda i: (i % 4 != 0) != (i in (1, 4, 5, 13)), lambda i: 20 + (i + 3) % 7),  # 3 lost, 1 won
        "longer": script("longer", lambda i: i % 4 != 0, lambda i: 30 + i % 7),  # every chain ten words longer
    }
    for name, path in variants.items():
        result = run_cli(
            "eval", "model=m", "tasks=gsm8k", "backend=scripted", f"script={path}", f"out={tmp}", f"limit={LIMIT}", f"name={name}"
        )
        assert result.returncode == 0, result.stderr
    fewer = run_cli(
        "eval", "model=m", "tasks=gsm8k", "backend=scripted", f"script={variants['base']}", f"out={tmp}", "limit=40", "name=fewer"
    )
    assert fewer.returncode == 0, fewer.stderr
    other_prompt = tmp / "gsm8k.yaml"
    other_prompt.write_text((TASK_FOLDER / "gsm8k.yaml").read_text().replace("step by step", "step by careful step"))
    reprompted = run_cli(
        "eval",
        "model=m",
        f"tasks={other_prompt}",
        "backend=scripted",
        f"script={variants['base']}",
        f"out={tmp}",
        f"limit={LIMIT}",
        "name=reprompted",
    )
    assert reprompted.returncode == 0, reprompted.stderr
    shutil.copytree(tmp / "base", tmp / "base-copy")
    return tmp


def gate(runs, candidate, *words, baseline="base", env=None):
    return run_cli("gate", str(runs / baseline), str(runs / candidate), *words, env=env)


@pytest.mark.parametrize(
    ("candidate", "code", "says"),
    [
        ("base", 0, "gate: PASS (2 of 2 checks hold)"),
        ("worse", 1, "FAIL gsm8k max_accuracy_drop: accuracy drop (points)"),
        ("noise", 0, "gate: PASS"),
        ("longer", 1, "FAIL gsm8k max_token_increase: mean-token increase"),
        ("fewer", 2, "not the same ones"),
        ("reprompted", 2, "different prompt templates"),
    ],
)
def test_gate_exit_codes_and_reasons(runs, candidate, code, says):
    result = gate(runs, candidate)
    assert result.returncode == code, result.stderr
    assert says in result.stderr
    if code == 1:
        assert sum(line.startswith("FAIL ") for line in result.stderr.splitlines()) == 1
    if code == 2:
        assert len(result.stderr.strip().splitlines()) == 1


def test_noise_fails_only_when_judged_on_the_point_estimate(runs):
    assert gate(runs, "noise", "max_accuracy_drop=0").returncode == 0  # 2.5 points down, well inside the interval
    assert gate(runs, "noise", "max_accuracy_drop=0", "strict=true").returncode == 1
    result = gate(runs, "worse", "max_accuracy_drop=20")  # a real drop, but within a generous allowance
    assert result.returncode == 0, result.stderr


def test_per_task_rules_from_yaml_and_words(runs, tmp_path):
    rules = tmp_path / "gate.yaml"
    rules.write_text(
        "confidence: 0.9\nrules: {max_accuracy_drop: 30, min_accuracy: 10}\ntasks:\n  gsm8k: {max_truncation_rate: 0}\n"
    )
    result = gate(runs, "worse", f"rules={rules}", "format=json")
    assert result.returncode == 0, result.stderr
    checks = {c["rule"]: c for c in json.loads(result.stdout)["checks"]}
    assert set(checks) == {"max_accuracy_drop", "min_accuracy", "max_truncation_rate"}
    assert gate(runs, "worse", f"rules={rules}", "gsm8k.max_accuracy_drop=1").returncode == 1  # the word wins


def test_junit_validates_and_markdown_is_a_table(runs, tmp_path):
    import xmlschema
    from markdown_it import MarkdownIt

    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    junit = tmp_path / "gate.xml"
    result = gate(runs, "worse", f"junit={junit}", "min_compression=0.5", env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert result.returncode == 1
    xmlschema.XMLSchema(str(Path(__file__).parent / "junit.xsd")).validate(str(junit))
    cases = ElementTree.parse(junit).getroot().findall("testsuite/testcase")
    assert [(c.get("classname"), c.get("name"), c.find("failure") is not None) for c in cases] == [
        ("effbench.gate.worse.gsm8k", "min_compression", True)
    ]
    text = summary.read_text()
    assert text.startswith("earlier step\n")  # appended, not overwritten
    html = MarkdownIt("commonmark").enable("table").render(text)
    assert html.count("<tr>") == 2 and "<th>threshold</th>" in html and "<th>candidate</th>" in html and "FAIL" in html


def test_several_candidates_are_judged_with_the_same_rules(runs, tmp_path):
    import xmlschema
    from markdown_it import MarkdownIt

    junit, summary = tmp_path / "gate.xml", tmp_path / "gate.md"
    names = ("worse", "noise", "longer")
    result = run_cli(
        "gate", str(runs / "base"), *(str(runs / n) for n in names), f"junit={junit}", f"markdown={summary}", "format=json"
    )
    assert result.returncode == 1, result.stderr
    verdict = json.loads(result.stdout)
    assert "candidate" not in verdict and verdict["passed"] is False
    assert verdict["candidates"] == [
        {"name": "worse", "passed": False},
        {"name": "noise", "passed": True},
        {"name": "longer", "passed": False},
    ]
    checks = [(c["candidate"], c["rule"], c["passed"]) for c in verdict["checks"]]
    assert checks == [
        ("worse", "max_accuracy_drop", False),
        ("worse", "max_token_increase", True),
        ("noise", "max_accuracy_drop", True),
        ("noise", "max_token_increase", True),
        ("longer", "max_accuracy_drop", True),
        ("longer", "max_token_increase", False),
    ]
    fails = [line for line in result.stderr.splitlines() if line.startswith("FAIL ")]
    assert [line.split(":")[0] for line in fails] == [
        "FAIL worse gsm8k max_accuracy_drop",
        "FAIL longer gsm8k max_token_increase",
    ]
    assert "gate: FAIL (4 of 6 checks hold; failing: worse, longer)" in result.stderr
    xmlschema.XMLSchema(str(Path(__file__).parent / "junit.xsd")).validate(str(junit))
    root = ElementTree.parse(junit).getroot()
    assert len(root.findall("testsuite")) == 1 and root.get("tests") == "6" and root.get("failures") == "2"
    cases = [(c.get("classname"), c.get("name"), c.find("failure") is not None) for c in root.findall("testsuite/testcase")]
    assert cases == [(f"effbench.gate.{candidate}.gsm8k", rule, not passed) for candidate, rule, passed in checks]
    html = MarkdownIt("commonmark").enable("table").render(summary.read_text())
    assert html.count("<tr>") == 7 and "<code>worse</code>, <code>noise</code>, <code>longer</code>" in html


def test_several_candidates_pass_together_and_the_table_names_each(runs):
    result = run_cli("gate", str(runs / "base"), str(runs / "noise"), str(runs / "base-copy"))
    assert result.returncode == 0, result.stderr
    assert "gate: PASS (4 of 4 checks hold)" in result.stderr
    assert "candidate" in result.stdout and "noise" in result.stdout and "base-copy" in result.stdout


def test_one_candidate_keeps_the_one_candidate_json(runs):
    verdict = json.loads(gate(runs, "noise", "format=json").stdout)
    assert verdict["candidate"] == "noise" and verdict["candidates"] == [{"name": "noise", "passed": True}]
    assert {c["candidate"] for c in verdict["checks"]} == {"noise"}


@pytest.mark.parametrize(
    ("candidates", "message"),
    [
        ((), "gate needs a baseline and at least one candidate run"),
        (("noise", "fewer"), "not the same ones"),
        (("noise", "noise"), "two candidates are named 'noise'"),
    ],
)
def test_a_bad_candidate_among_several_is_one_line_and_exit_2(runs, candidates, message):
    assert_one_line_error(run_cli("gate", str(runs / "base"), *(str(runs / c) for c in candidates)), message)


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (("max_accuracy_drop=-1",), "greater than or equal to 0"),
        (("max_acuracy_drop=1",), "unknown gate key 'max_acuracy_drop'"),
        (("math500.max_accuracy_drop=1",), "task 'math500', which these runs do not have"),
        (("confidence=2",), "confidence"),
        (("rules=/nonexistent.yaml",), "cannot be read"),
        (("format=xml",), "format=xml is not one of"),
    ],
)
def test_gate_bad_input_is_one_line_and_exit_2(runs, words, message):
    assert_one_line_error(gate(runs, "base", *words), message)


def test_rescore_unchanged_run_reports_nothing(runs):
    result = run_cli("rescore", str(runs / "base"), "name=base-again")
    assert result.returncode == 0, result.stderr
    assert f"rescored {LIMIT} completions" in result.stdout and "0 verdicts changed" in result.stdout
    assert gate(runs, "base-again").returncode == 0  # a grader upgrade can itself be gated
    assert run_cli("rescore", str(runs / "base"), "name=base-again").returncode == 2  # never overwrites a run


def test_rescore_reports_exactly_the_verdicts_an_older_grader_got_wrong(runs, tmp_path):
    import shutil

    old = tmp_path / "old"
    shutil.copytree(runs / "base", old)
    samples = old / "gsm8k.samples.jsonl"
    lines = [json.loads(line) for line in samples.read_text().splitlines()]
    changed = []
    for line in lines[:9:3]:  # an older rule: these right answers were once graded wrong
        grade = line["completions"][0]["grade"]
        if grade["verdict"] == "correct":
            grade.update(verdict="wrong", first_correct=None)
            changed.append(line["id"])
    samples.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = run_cli("rescore", str(old))
    assert result.returncode == 0, result.stderr
    reported = [line.split()[1] for line in result.stdout.splitlines() if "wrong -> correct" in line]
    assert reported == changed and len(changed) >= 2
    assert f"{len(changed)} verdicts changed" in result.stdout
