"""The answer conventions of OlympiadBench, Minerva Math, AIME 2026 and HMMT, graded as their own harnesses intend:
cases written from the datasets' README, each with a near miss that must stay wrong; and every gold of the four
tasks graded correct against itself, boxed."""

from __future__ import annotations

import pytest

from effbench.grading.gold import split_answers
from effbench.grading.pool import GradingPool
from effbench.grading.scoring import score
from effbench.tasks.data import load_dataset
from effbench.tasks.spec import load_task
from effbench.types import Completion

NEW_TASKS = ("olympiadbench", "minerva_math", "aime26", "hmmt_feb25")


@pytest.fixture(scope="module")
def pool():
    with GradingPool(workers=2, timeout=30) as shared:
        yield shared


def verdicts(pool, task: str, gold: str, answers: list[str], **metadata) -> list[str]:
    rules = load_task(task).rules()
    futures = [score(pool, Completion(f"\\boxed{{{a}}}", 1, "stop"), gold, rules, metadata) for a in answers]
    return [f.result(timeout=120).verdict for f in futures]


def test_olympiadbench_lists_several_answers_all_required_in_any_order(pool):
    several = {"multiple": "True"}
    assert (
        verdicts(pool, "olympiadbench", "$12$,$30$", ["30, 12", "12 \\text{ and } 30", "\\{12, 30\\}"], **several)
        == ["correct"] * 3
    )
    assert verdicts(pool, "olympiadbench", "$12$,$30$", ["12", "12, 30, 31", "12, 31"], **several) == ["wrong"] * 3
    pairs = "$(1,2), (5,7)$"  # tuples of a list: each is one answer, never split at its own comma
    assert verdicts(pool, "olympiadbench", pairs, ["(5,7), (1,2)", "(1,2)", "(2,1), (5,7)"], **several) == [
        "correct",
        "wrong",
        "wrong",
    ]
    assert split_answers(pairs) == ["(1,2)", "(5,7)"] and split_answers("$[-1, 3)$") == ["[-1, 3)"]


def test_olympiadbench_single_answers_with_commas_are_not_split(pool):
    single = {"multiple": "False"}
    assert verdicts(pool, "olympiadbench", "$(3,8)$", ["(3, 8)", "(8, 3)", "8, 3"], **single) == ["correct", "wrong", "wrong"]
    assert verdicts(pool, "olympiadbench", "$[\\frac{1}{4}, 5]$", ["\\left[\\frac14, 5\\right]", "(\\frac14, 5)"], **single) == [
        "correct",
        "wrong",
    ]


def test_olympiadbench_unit_written_or_not_and_its_tolerance(pool):
    minutes = {"multiple": "False", "unit": "minutes"}
    assert (
        verdicts(pool, "olympiadbench", "35", ["35", "35 \\text{ minutes}", "35\\,\\mathrm{minutes}"], **minutes)
        == ["correct"] * 3
    )
    assert verdicts(pool, "olympiadbench", "35", ["36 \\text{ minutes}", "36"], **minutes) == ["wrong", "wrong"]
    area = {"unit": "$cm^2$"}
    assert verdicts(pool, "olympiadbench", "$72$", ["72 \\text{ cm}^2", "72 cm^2", "27 \\text{ cm}^2"], **area) == [
        "correct",
        "correct",
        "wrong",
    ]
    percent = {"unit": "%", "error": "1e-1"}  # an absolute tolerance, where the problem gives one
    assert verdicts(pool, "olympiadbench", "6.3", ["6.3\\%", "6.38", "6.2", "6.45\\%", "6.15"], **percent) == [
        "correct",
        "correct",
        "correct",
        "wrong",
        "wrong",
    ]
    assert verdicts(pool, "olympiadbench", "6.3", ["6.38"]) == ["wrong"]  # no tolerance where the problem gives none


def test_minerva_numbers_within_a_relative_tolerance_e_notation_and_python_golds(pool):
    assert verdicts(pool, "minerva_math", "3.2e21", ["3.2 \\times 10^{21}", "3.2\\cdot10^{21}", "3.20002e21"]) == ["correct"] * 3
    assert verdicts(pool, "minerva_math", "3.2e21", ["3.21 \\times 10^{21}", "3.2 \\times 10^{12}", "3.2e-21"]) == ["wrong"] * 3
    assert verdicts(pool, "minerva_math", "7.5 \\times 10^{-4}", ["7.5e-4", "0.00075", "0.0007", "7.6e-4"]) == [
        "correct",
        "correct",
        "wrong",
        "wrong",
    ]
    assert verdicts(pool, "minerva_math", "2.47", ["2.47 \\mathrm{~m}", "2.470", "2.48"]) == ["correct", "correct", "wrong"]
    python = ["np.arcsin(3/5)", "-2./7"]  # the Python-like golds read as the numbers they mean
    assert verdicts(pool, "minerva_math", python[0], ["\\arcsin\\left(\\frac{3}{5}\\right)", "0.6435", "0.644", "0.6"]) == [
        "correct",
        "correct",
        "wrong",
        "wrong",
    ]
    assert verdicts(pool, "minerva_math", python[1], ["-\\frac{2}{7}", "-0.285714", "-0.29", "\\frac{2}{7}"]) == [
        "correct",
        "correct",
        "wrong",
        "wrong",
    ]
    assert verdicts(pool, "minerva_math", "y = C_{1} e^{2t} + t", ["y=C_1e^{2t}+t", "y = C_{1} e^{3t} + t"]) == [
        "correct",
        "wrong",
    ]


def test_a_tolerance_is_the_task_s_never_the_grader_s(pool):
    """MATH-500 and GSM8K accept no more than before: the same near numbers stay wrong there."""
    for task in ("math500", "gsm8k", "hmmt_feb25"):
        assert verdicts(pool, task, "3.2 \\times 10^{21}", ["3.20002e21"]) == ["wrong"], task
        assert verdicts(pool, task, "2.47", ["2.4702"]) == ["wrong"], task
        assert verdicts(pool, task, "12, 30", ["12"]) == ["wrong"], task


def test_hmmt_latex_golds_and_aime26_integers(pool):
    two = "\\frac{-1+\\sqrt{13}}{2}, \\frac{-1-\\sqrt{13}}{2}"
    assert verdicts(
        pool, "hmmt_feb25", two, ["\\frac{-1-\\sqrt{13}}{2}, \\frac{-1+\\sqrt{13}}{2}", "\\frac{-1+\\sqrt{13}}{2}"]
    ) == [
        "correct",
        "wrong",
    ]
    assert verdicts(pool, "hmmt_feb25", "3^{10} \\cdot 7!", ["59049 \\cdot 5040", "297606960", "3^{10}\\cdot 6!"]) == [
        "correct",
        "correct",
        "wrong",
    ]
    assert verdicts(pool, "aime26", "62", ["062", "62", "26"]) == ["correct", "correct", "wrong"]


@pytest.mark.parametrize("name", NEW_TASKS)
def test_every_gold_grades_correct_against_itself_boxed(name, pool, data_dir):
    spec = load_task(name)
    samples = load_dataset(spec, root=data_dir).samples
    rules = spec.rules()
    futures = [(s, score(pool, Completion(f"\\boxed{{{s.gold}}}", 1, "stop"), s.gold, rules, s.metadata)) for s in samples]
    wrong = [(s.id, s.gold, f.result(timeout=300).verdict) for s, f in futures if f.result(timeout=300).verdict != "correct"]
    assert not wrong


def test_the_data_reads_as_the_readme_describes_it(data_dir):
    olympiad = {s.id: s for s in load_dataset(load_task("olympiadbench"), root=data_dir).samples}
    assert sum(s.metadata["multiple"] == "True" for s in olympiad.values()) == 94
    assert sum(bool(s.metadata["unit"]) for s in olympiad.values()) == 8 and olympiad["2592"].metadata["error"] == "1e-1"
    minerva = load_dataset(load_task("minerva_math"), root=data_dir).samples
    assert sum("e" in s.gold and s.gold.replace("e", "").replace(".", "").replace("-", "").isdigit() for s in minerva) > 0
    assert {s.gold for s in minerva if s.id in ("5", "38", "49")} == {"np.arcsin(10/13)", "-1./3", "-3./2"}
    aime = load_dataset(load_task("aime26"), root=data_dir).samples
    assert {s.metadata["contest"] for s in aime} == {"I", "II"} and all(s.gold.isdigit() for s in aime)
