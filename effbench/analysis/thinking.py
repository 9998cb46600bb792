"""Where a task's thinking tokens went: the thinking-efficiency metrics of the literature, from stored completions.

Each completion's first correct answer is located where grading found it stated (`Grade.first_correct_*`),
in tokens where its token ids and the tokenizer were at hand, else in characters (`positions` says which).

- Outcome efficiency ξ_O (Chen et al., "Do NOT Think That Much for 2+3=?", arXiv 2412.21187):
  mean over completions of T̂/T for correct ones (1 where no stated answer was located), 0 for the others.
- First-correct tokens T̂ and reflection tokens T − T̂ (evalscope's thinking-efficiency evaluation):
  over correct completions whose first correct answer was located; in tokens only.
- Underthinking ξ_UT (Wang et al., "Thoughts Are All Over the Place", arXiv 2501.18585, Eq. 1):
  (1/N) Σ (1 − T̂_i/T_i) over the N incorrect completions, T̂_i = T_i where no correct answer was stated.
- Harmful overthinking: incorrect completions that stated the correct answer on their way.
- Where the final answer settles (the answer-convergence view of Liu and Wang, "Answer Convergence as a Signal for
  Early Stopping in Reasoning", 2025): over completions with an answer, the tokens up to the first statement of their
  final answer, the tokens after it settled (after the first statement from which on every answer stated is the final
  one), and those as a share of all their tokens: what an early exit at the settled answer would have saved. Answers
  stated on the way are found by the same rules that grade; in tokens only.
- Reflection markers (`wait`, `alternatively`, `hmm`, `let me double-check`, `等等`, `不对`, `再检查`, …):
  markers per completion, and tokens per marker (all tokens over all markers).
- Accuracy on completed completions (not cut at max_tokens), beside the cap-hit rate.
- Difficulty adaptivity: mean tokens per difficulty level, and Spearman's rank correlation between a
  problem's difficulty and its mean tokens (positive: more thinking on harder problems).
- OAA_t and its area (OptimalThinkingBench, arXiv 2508.13141): OAA_t = (1/n) Σ correct_i · I(thinking_i < t),
  thinking = reasoning tokens (all tokens where the reasoning never ended); AUC_OAA = ∫_0^t_max OAA_t dt / t_max
  with t_max = 1000, in closed form the mean of correct_i · max(0, t_max − thinking_i) / t_max.
- ACU (CoT-Valve, arXiv 2502.09601, Eq. 5): accuracy (%) / (parameters (billions) × mean tokens), ×10² as the
  paper reports it.
- For a budget sweep, s1's Control, Scaling and Performance (Muennighoff et al., arXiv 2501.19393, Eqs. 1-3), each
  budget's run an evaluation a with x(a) its mean thinking tokens and f(a) its accuracy in percent: Control, the
  share of evaluations with x(a) within their budget; Scaling, the mean over all pairs b > a of the slope
  (f(b) − f(a)) / (x(b) − x(a)); Performance, max f(a). The paper's Eq. 2 measures x in thinking tokens, but its
  Table 3 prints values (15, −24, 13, …) that its appendix data reproduce only with x = log2(thinking tokens):
  `scaling` is that, points per doubling of thinking; `scaling_per_1k_tokens` is Eq. 2 read literally, per 1,000.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from effbench.store.records import TaskMetrics, ThinkingMetrics, TokenStats
from effbench.types import Scored

OAA_T_MAX = 1000  # OptimalThinkingBench's t_max, in thinking tokens
OAA_BUDGETS = (100, 250, 500, 1000, 2000, 4000, 8000, 16000, 32000)

# Reflection markers, each with the spellings counted as it; English ones as whole words, any case.
MARKERS: dict[str, str] = {
    "wait": r"\bwait\b",
    "alternatively": r"\balternatively\b",
    "hmm": r"\bhm{2,}\b",
    "let me double-check": r"\blet me double[- ]?check\b",
    "let me check": r"\blet me (?:re)?check\b",
    "let me verify": r"\blet me verify\b",
    "let me reconsider": r"\blet me reconsider\b",
    "on second thought": r"\bon second thought\b",
    "等等": "等等",
    "等一下": "等一下",
    "不对": "不对",
    "再检查": "再检查",
    "检查一下": "检查一下",
    "验证一下": "验证一下",
    "再确认": "再确认",
}
MARKER_PATTERN = re.compile("|".join(f"(?P<m{i}>{p})" for i, p in enumerate(MARKERS.values())), re.IGNORECASE)
MARKER_NAMES = tuple(MARKERS)


def reflection_markers(text: str) -> Counter[str]:
    """The reflection markers of a text, by marker (non-overlapping, left to right)."""
    return Counter(MARKER_NAMES[int(str(m.lastgroup)[1:])] for m in MARKER_PATTERN.finditer(text))


class Thought(NamedTuple):
    """One completion, as these metrics need it."""

    sample: str
    correct: bool
    tokens: int | None
    thinking: int | None  # reasoning tokens; all of them where the reasoning never ended
    finished: bool | None  # not cut at max_tokens; None where the finish reason is unknown
    searched: bool  # its stated answers were searched (runs stored before that searched correct ones only)
    first_correct_share: float | None  # of the text, up to the end of the first correct answer it states
    first_correct_tokens: int | None  # tokens up to there
    answer_first_tokens: int | None  # tokens up to the first statement of the final answer
    answer_settled_tokens: int | None  # tokens up to the statement from which on the answer stated no longer changed
    markers: Counter[str]
    difficulty: float | None


def thoughts(item: Scored, difficulty: str | None) -> list[Thought]:
    level = difficulty_of(item.sample.metadata.get(difficulty)) if difficulty else None
    return [
        Thought(
            sample=item.sample.id,
            correct=grade.correct,
            tokens=c.tokens,
            thinking=c.reasoning_tokens if c.reasoning_tokens is not None else c.tokens,
            finished=None if c.finish_reason == "unknown" else c.finish_reason != "length",
            searched=grade.searched,
            first_correct_share=grade.first_correct,
            first_correct_tokens=grade.first_correct_tokens,
            answer_first_tokens=grade.answer_first_tokens,
            answer_settled_tokens=grade.answer_settled_tokens,
            markers=reflection_markers(c.text if c.reasoning is None else f"{c.reasoning}\n{c.text}"),
            difficulty=level,
        )
        for c, grade in zip(item.completions, item.grades, strict=True)
    ]


def difficulty_of(value: object) -> float | None:
    """A difficulty level as a number: 3, "3" or "Level 3"; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    found = re.search(r"-?\d+(?:\.\d+)?", str(value)) if value is not None else None
    return float(found[0]) if found else None


def position_unit(items: Sequence[Thought]) -> str | None:
    """ "tokens" where every located first correct answer was located in tokens, else "characters"; None where none
    was located."""
    located = [t for t in items if t.first_correct_share is not None]
    if not located:
        return None
    return "tokens" if all(t.first_correct_tokens is not None and t.tokens for t in located) else "characters"


def _fraction(thought: Thought, unit: str | None) -> float | None:
    """T̂/T of a completion whose first correct answer was located, in the unit of the task."""
    if thought.first_correct_share is None:
        return None
    if unit == "tokens" and thought.first_correct_tokens is not None and thought.tokens:
        return min(1.0, thought.first_correct_tokens / thought.tokens)
    return thought.first_correct_share


def _abandoned(thought: Thought, unit: str | None) -> float:
    """1 − T̂/T of an incorrect completion: the share spent after it first stated the correct answer (0 if it never did)."""
    fraction = _fraction(thought, unit)
    return 0.0 if fraction is None else 1.0 - fraction


def outcome_efficiency(items: Sequence[Thought], unit: str | None) -> float | None:
    """ξ_O: the mean over samples of the mean over their completions (as accuracy is averaged)."""
    per_sample: dict[str, list[float]] = defaultdict(list)
    for t in items:
        fraction = _fraction(t, unit)
        per_sample[t.sample].append((1.0 if fraction is None else fraction) if t.correct else 0.0)
    return float(np.mean([np.mean(v) for v in per_sample.values()])) if per_sample else None


def thinking_metrics(items: Sequence[Thought], parameters: float | None = None, accuracy: float | None = None) -> ThinkingMetrics:
    """The metrics of a set of completions (a task's, or one breakdown group's); `accuracy` is the task's (a fraction)."""
    unit = position_unit(items)
    tokens = [t.tokens for t in items if t.tokens is not None]
    thinking = [t.thinking for t in items if t.thinking is not None]
    counted = bool(items) and len(tokens) == len(items)
    located = [
        (t.first_correct_tokens, t.tokens)
        for t in items
        if t.correct and t.first_correct_tokens is not None and t.tokens is not None
    ]
    incorrect = [t for t in items if not t.correct and t.searched]
    markers = sum((t.markers for t in items), Counter())
    total_markers = sum(markers.values())
    completed = [t for t in items if t.finished]
    known_finish = bool(items) and all(t.finished is not None for t in items)
    mean_tokens = float(np.mean(tokens)) if counted else None
    searched_any = any(t.searched for t in items)
    return ThinkingMetrics(
        positions=unit,
        thinking_tokens=TokenStats.of(thinking) if len(thinking) == len(items) else None,
        first_correct_tokens=TokenStats.of([first for first, _ in located]) if unit == "tokens" else None,
        reflection_tokens=TokenStats.of([tokens - first for first, tokens in located]) if unit == "tokens" else None,
        underthinking=float(np.mean([_abandoned(t, unit) for t in incorrect])) if incorrect else None,
        incorrect_searched=len(incorrect),
        harmful_overthinking=sum(t.first_correct_share is not None for t in incorrect) if searched_any else None,
        reflection_markers=total_markers / len(items) if items else None,
        marker_counts=dict(sorted(markers.items())),
        tokens_per_marker=sum(tokens) / total_markers if counted and total_markers else None,
        completed=len(completed) if known_finish else None,
        completed_accuracy=sum(t.correct for t in completed) / len(completed) if known_finish and completed else None,
        **_difficulty(items) if counted else {},
        **_settling(items),
        **_oaa(items),
        acu=acu(accuracy * 100, mean_tokens, parameters) if accuracy is not None and parameters and mean_tokens else None,
    )


def _settling(items: Sequence[Thought]) -> dict[str, object]:
    """Where the final answers first appeared and settled, over the completions located in tokens."""
    first = [t.answer_first_tokens for t in items if t.answer_first_tokens is not None]
    settled = [(t.answer_settled_tokens, t.tokens) for t in items if t.answer_settled_tokens is not None and t.tokens]
    after = [max(0, tokens - at) for at, tokens in settled]
    return {
        "answer_first_tokens": TokenStats.of(first),
        "after_settled_tokens": TokenStats.of(after),
        "after_settled_share": sum(after) / sum(tokens for _, tokens in settled) if settled else None,
    }


def acu(accuracy_percent: float, mean_tokens: float, parameters_billions: float) -> float:
    """CoT-Valve's accuracy per computation unit, in the ×10² units of its tables."""
    return accuracy_percent / (parameters_billions * mean_tokens) * 100


def _difficulty(items: Sequence[Thought]) -> dict[str, object]:
    """Each problem's level and mean tokens, over the problems whose level is known (completions all counted)."""
    levels: dict[str, float] = {}
    tokens: dict[str, list[int]] = defaultdict(list)
    for t in items:
        if t.difficulty is not None and t.tokens is not None:
            levels[t.sample] = t.difficulty
            tokens[t.sample].append(t.tokens)
    if not levels:
        return {}
    means = {sample: float(np.mean(tokens[sample])) for sample in levels}
    by_level: dict[float, list[float]] = defaultdict(list)
    for sample, level in levels.items():
        by_level[level].append(means[sample])
    return {
        "tokens_by_difficulty": {f"{level:g}": float(np.mean(v)) for level, v in sorted(by_level.items())},
        "difficulty_spearman": spearman(list(levels.values()), [means[sample] for sample in levels]),
    }


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's rank correlation (ties take their mean rank); None for fewer than 3 pairs or a constant side."""
    if len(x) < 3:
        return None
    rx, ry = _ranks(np.asarray(x, dtype=float)), _ranks(np.asarray(y, dtype=float))
    if rx.std() == 0 or ry.std() == 0:
        return None
    return float(np.corrcoef(rx, ry)[0, 1])


def _ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1)
    for value in np.unique(values):
        tied = values == value
        ranks[tied] = ranks[tied].mean()
    return ranks


def _oaa(items: Sequence[Thought]) -> dict[str, object]:
    """OAA_t at a few budgets and AUC_OAA, as means over samples of means over completions; absent uncounted."""
    counted = [(t.sample, t.correct, t.thinking) for t in items if t.thinking is not None]
    if not items or len(counted) != len(items):
        return {}
    per_sample: dict[str, list[tuple[bool, int]]] = defaultdict(list)
    for sample, correct, thinking in counted:
        per_sample[sample].append((correct, thinking))

    def mean(score) -> float:
        return float(np.mean([np.mean([score(ok, tokens) for ok, tokens in v]) for v in per_sample.values()]))

    longest = max(thinking for _, _, thinking in counted)
    budgets = [b for b in OAA_BUDGETS if b <= OAA_T_MAX or b <= 2 * longest]
    return {
        "oaa_t_max": OAA_T_MAX,
        "auc_oaa": mean(lambda ok, tokens: ok * max(0, OAA_T_MAX - tokens) / OAA_T_MAX),
        "oaa": {str(b): mean(lambda ok, tokens, b=b: float(ok and tokens < b)) for b in budgets},
    }


class BudgetControl(NamedTuple):
    """s1's three numbers for a budget sweep (see the module's docstring); Scaling is None for fewer than two points."""

    control: float
    scaling: float | None
    scaling_per_1k_tokens: float | None
    performance: float


def budget_control(points: Sequence[tuple[int, float, float]]) -> BudgetControl | None:
    """From (budget, mean thinking tokens, accuracy as a fraction) per evaluation; None for no points."""
    if not points:
        return None
    within = [thinking <= budget for budget, thinking, _ in points]
    ordered = sorted((thinking, 100 * accuracy) for _, thinking, accuracy in points)
    pairs = [(a, b) for i, a in enumerate(ordered) for b in ordered[i + 1 :] if b[0] > a[0] > 0]
    return BudgetControl(
        control=sum(within) / len(within),
        scaling=float(np.mean([(fb - fa) / (np.log2(xb) - np.log2(xa)) for (xa, fa), (xb, fb) in pairs])) if pairs else None,
        scaling_per_1k_tokens=float(np.mean([(fb - fa) / (xb - xa) * 1000 for (xa, fa), (xb, fb) in pairs])) if pairs else None,
        performance=max(f for _, f in ordered),
    )


def sweep_budget_control(curve: Sequence[tuple[int, TaskMetrics]]) -> BudgetControl | None:
    """`budget_control` of a sweep's curve for one task (`Sweep.curve`); None where a budget's thinking was not counted."""
    points = []
    for budget, metrics in curve:
        thinking = metrics.thinking.thinking_tokens if metrics.thinking else None
        if thinking is None or metrics.accuracy is None:
            return None
        points.append((budget, thinking.mean, metrics.accuracy))
    return budget_control(points)
