"""The thinking-efficiency metrics on tables computed by hand, the degenerate ones included."""

from __future__ import annotations

import pytest

from effbench.analysis.metrics import task_metrics
from effbench.analysis.thinking import reflection_markers, spearman
from effbench.types import Completion, Grade, Sample, Scored


def completion(verdict, tokens, *, reasoning=None, finish="stop", share=None, at_token=None, text="", searched=True):
    grade = Grade(verdict, answer="1", first_correct=share, first_correct_tokens=at_token, searched=searched)
    return Completion(text=text, tokens=tokens, finish_reason=finish, reasoning_tokens=reasoning), grade


def item(sample_id, *pairs, level=None):
    return Scored(
        Sample(sample_id, "q", "1", {"level": level} if level is not None else {}),
        "p",
        tuple(c for c, _ in pairs),
        tuple(g for _, g in pairs),
    )


def table(first_token=40):
    """Two problems of two completions each; the figures below are worked out from it by hand."""
    return [
        item(
            "a",
            completion("correct", 100, reasoning=80, share=0.3, at_token=first_token, text="Wait, hmm. Let me double-check."),
            completion("wrong", 200, finish="length", share=0.2, at_token=50, text="等等，不对。再检查一下"),
            level="Level 1",
        ),
        item(
            "b",
            completion("wrong", 300, reasoning=250, text="Alternatively, wait"),
            completion("correct", 50, reasoning=10, share=0.9, at_token=45),
            level="Level 3",
        ),
    ]


def thinking(items, **options):
    metrics = task_metrics(items, ("level",), difficulty="level", **options)
    return metrics, metrics.thinking


def test_thinking_metrics_by_hand():
    metrics, t = thinking(table(), parameters=2)
    assert t.positions == "tokens"
    assert metrics.outcome_efficiency == pytest.approx(((40 / 100 + 0) / 2 + (0 + 45 / 50) / 2) / 2)  # 0.325
    assert (t.first_correct_tokens.mean, t.reflection_tokens.mean) == (42.5, 32.5)  # [40, 45] and [60, 5]
    assert t.underthinking == pytest.approx(((1 - 50 / 200) + 0) / 2) and t.incorrect_searched == 2
    assert t.harmful_overthinking == 1  # the truncated wrong one stated the right answer on its way
    english = {"alternatively": 1, "hmm": 1, "let me double-check": 1, "wait": 2}
    assert t.marker_counts == {**english, "不对": 1, "再检查": 1, "等等": 1}
    assert t.reflection_markers == 2.0 and t.tokens_per_marker == pytest.approx(650 / 8)
    assert (t.completed, t.completed_accuracy) == (3, pytest.approx(2 / 3))
    assert t.tokens_by_difficulty == {"1": 150.0, "3": 175.0} and t.difficulty_spearman is None  # two problems only
    # thinking tokens: 80, 200 (no end of reasoning: all of it), 250, 10
    assert t.auc_oaa == pytest.approx(((920 / 1000 + 0) / 2 + (0 + 990 / 1000) / 2) / 2)
    assert t.oaa_t_max == 1000 and t.oaa["100"] == 0.5 and t.oaa["1000"] == 0.5
    assert t.acu == pytest.approx(50 / (2 * 162.5) * 100)
    level_1 = metrics.breakdown["level"]["Level 1"].thinking
    assert level_1.harmful_overthinking == 1 and level_1.underthinking == pytest.approx(0.75)


def test_where_the_final_answers_settled_by_hand():
    """Tokens up to each final answer's first statement, and after it settled, over the completions located in tokens."""
    pairs = [(100, 30, 60), (200, 50, 50), (40, None, None)]  # (tokens, first, settled); the last one not located
    completions = [
        (Completion(text="", tokens=tokens, finish_reason="stop"), Grade("correct", answer="1", answer_first_tokens=first,
                                                                         answer_settled_tokens=settled))
        for tokens, first, settled in pairs
    ]  # fmt: skip
    t = task_metrics([item("a", *completions)], ()).thinking
    assert t.answer_first_tokens.mean == 40 and t.after_settled_tokens.mean == 95  # [40, 150]
    assert t.after_settled_share == pytest.approx(190 / 300)
    assert thinking(table())[1].after_settled_share is None  # nothing located: absent, not 0


def test_positions_fall_back_to_characters_by_name_where_one_was_not_located_in_tokens():
    metrics, t = thinking(table(first_token=None))
    assert t.positions == "characters" and t.first_correct_tokens is None and t.reflection_tokens is None
    assert metrics.outcome_efficiency == pytest.approx(((0.3 + 0) / 2 + (0 + 0.9) / 2) / 2)
    assert t.underthinking == pytest.approx(((1 - 0.2) + 0) / 2)
    assert t.acu is None  # no parameter count given


def test_no_correct_answer_anywhere():
    items = [item(str(i), completion("wrong", 10 * (i + 1), text="wait"), level=i) for i in range(4)]
    metrics, t = thinking(items)
    assert metrics.outcome_efficiency == 0.0 and t.positions is None and t.first_correct_tokens is None
    assert t.underthinking == 0.0 and t.harmful_overthinking == 0 and t.auc_oaa == 0.0
    assert t.difficulty_spearman == pytest.approx(1.0) and t.tokens_per_marker == pytest.approx(100 / 4)


def test_all_truncated_and_one_completion():
    _, t = thinking([item("a", completion("wrong", 64, finish="length"))])
    assert (t.completed, t.completed_accuracy) == (0, None)
    assert t.reflection_markers == 0.0 and t.tokens_per_marker is None and t.difficulty_spearman is None
    _, one = thinking([item("a", completion("correct", 8, reasoning=4, share=0.5, at_token=4), level=2)])
    assert one.first_correct_tokens.mean == 4 and one.underthinking is None and one.incorrect_searched == 0
    assert one.tokens_by_difficulty == {"2": 8.0} and one.difficulty_spearman is None


def test_older_runs_and_uncounted_imports_leave_what_they_cannot_give_absent():
    old = [item("a", completion("wrong", 10, searched=False), completion("correct", 10, share=0.5, searched=False))]
    _, t = thinking(old)
    assert t.harmful_overthinking is None and t.underthinking is None and t.incorrect_searched == 0
    uncounted = [item("a", completion("correct", None, share=0.5, text="hmm"), level=1)]
    metrics, u = thinking(uncounted, parameters=7)
    assert u.positions == "characters" and metrics.outcome_efficiency == 0.5
    assert u.tokens_per_marker is None and u.auc_oaa is None and u.oaa == {} and u.acu is None
    assert u.tokens_by_difficulty == {} and u.reflection_markers == 1.0
    assert task_metrics([]).thinking is None


def test_reflection_markers_are_whole_words_in_any_case():
    found = reflection_markers("Wait. Hmmm, let me double check; awaited, hm, WAIT")
    assert found == {"wait": 2, "hmm": 1, "let me double-check": 1}
    assert reflection_markers("等等，这不对。再检查。验证一下") == {"等等": 1, "不对": 1, "再检查": 1, "验证一下": 1}


def test_spearman_takes_mean_ranks_for_ties():
    assert spearman([1, 2, 2, 3], [10, 30, 20, 40]) == pytest.approx(3 / 10**0.5)
    assert spearman([1, 2, 3], [5, 5, 5]) is None and spearman([1, 2], [1, 2]) is None
    assert spearman([3, 2, 1], [1, 2, 3]) == pytest.approx(-1.0)


def test_s1_budget_control_reproduces_its_table_3_from_its_appendix_data():
    """s1 (arXiv 2501.19393) Table 3 from the per-budget runs of its appendix (v3 Tables 12 and 13): AIME24 accuracy
    as k/30, thinking tokens, and the budget each run was given. Scaling is points per doubling of thinking."""
    from effbench.analysis.thinking import budget_control

    def runs(budgets, thinking, solved):
        return budget_control(list(zip(budgets, thinking, [k / 30 for k in solved], strict=True)))

    budgets = (1024, 2048, 4096, 8192, 16384)
    tcc = runs(budgets, (7939, 7158, 8263, 7108, 7500), (8, 9, 10, 10, 12))
    tcc_bf = runs(budgets, (1024, 2048, 4031, 5664, 6330), (1, 9, 10, 10, 12))
    steps = (1600, 3200, 6400, 12800, 25600)  # the paper's proxy limit: 100 tokens per instructed step
    scc = runs(steps, (7252, 6277, 5396, 5552, 7551), (10, 7, 10, 11, 10))
    assert (tcc.control, round(tcc.scaling), round(tcc.performance, 1)) == (0.4, -24, 40.0)
    assert (tcc_bf.control, round(tcc_bf.scaling), round(tcc_bf.performance, 1)) == (1.0, 13, 40.0)
    assert (scc.control, round(scc.scaling), round(scc.performance, 1)) == (0.6, 3, 36.7)
    assert tcc_bf.scaling_per_1k_tokens == pytest.approx(6.72, abs=0.01)  # Eq. 2 read literally, per 1,000 tokens


def test_s1_budget_control_degenerate_cases():
    from effbench.analysis.thinking import budget_control

    assert budget_control([]) is None
    one = budget_control([(64, 30.0, 0.5)])
    assert (one.control, one.scaling, one.performance) == (1.0, None, 50.0)
    same = budget_control([(16, 40.0, 0.1), (32, 40.0, 0.2)])  # no extra thinking between the two: no slope
    assert same.control == 0.0 and same.scaling is None and same.performance == pytest.approx(20.0)
