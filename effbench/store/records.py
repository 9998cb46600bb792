"""The run folder's records, `results.json` and `run.json`, as versioned models: read and written only through them.

A file of another schema version is refused with one line that says what to do: a newer one needs a
newer effbench; an older one is read again by `effbench rescore`, which writes it in this version.
Fields added after version 1 have defaults, so every version-1 file reads.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from effbench.errors import StoreError
from effbench.schema import first_problem
from effbench.store.folder import read_record, write_json_atomic
from effbench.types import Sampling

RESULTS_SCHEMA_VERSION = 1
RUN_SCHEMA_VERSION = 1


class Record(BaseModel):
    """Frozen; unknown keys are errors, so a file is either read whole or refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class TokenStats(Record):
    mean: float
    median: float
    p90: float
    max: float

    @classmethod
    def of(cls, values: Sequence[int]) -> TokenStats | None:
        if not values:
            return None
        array = np.asarray(values, dtype=float)
        return cls(
            mean=float(array.mean()), median=float(np.median(array)), p90=float(np.percentile(array, 90)), max=float(array.max())
        )


class Percentiles(Record):
    p50: float
    p90: float
    p99: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Percentiles | None:
        if not values:
            return None
        p50, p90, p99 = np.percentile(np.asarray(values, dtype=float), [50, 90, 99])
        return cls(p50=round(float(p50), 4), p90=round(float(p90), 4), p99=round(float(p99), 4))


class CostMetrics(Record):
    """What a task cost (`effbench.analysis.cost`): in all, per problem, and per solved problem (total ÷ accuracy ×
    problems), and how it was priced. `missing` says why there is no figure, where there is none."""

    basis: str
    total_usd: float | None = None
    per_problem_usd: float | None = None
    per_solved_usd: float | None = None
    missing: str | None = None


class LatencyMetrics(Record):
    """How long a user waited, over the completions that were timed (seconds from the request): for the whole
    completion, its first token and its first answer token. `estimated`: first answer tokens placed by their position
    in the completion, not seen arrive (offline, and on a server that does not stream)."""

    timed: int
    wall_s: Percentiles | None = None
    first_token_s: Percentiles | None = None
    first_answer_s: Percentiles | None = None
    estimated: int = 0


class ThinkingMetrics(Record):
    """Where the thinking tokens went (`effbench.analysis.thinking`, which gives each formula and its source).

    `positions` is the unit first correct answers were located in: "tokens", or "characters" where the completions'
    token ids or the tokenizer were missing (ξ_O and ξ_UT are then shares of characters; T̂ is absent)."""

    positions: Literal["tokens", "characters"] | None = None
    thinking_tokens: TokenStats | None = None  # reasoning tokens; all of a completion's where its reasoning never ended
    first_correct_tokens: TokenStats | None = None
    reflection_tokens: TokenStats | None = None
    answer_first_tokens: TokenStats | None = None  # up to the first statement of the final answer
    after_settled_tokens: TokenStats | None = None  # after the answer stated last stopped changing
    after_settled_share: float | None = None  # of the tokens of those completions
    underthinking: float | None = None
    incorrect_searched: int = 0
    harmful_overthinking: int | None = None
    reflection_markers: float | None = None
    marker_counts: dict[str, int] = {}
    tokens_per_marker: float | None = None
    completed: int | None = None
    completed_accuracy: float | None = None
    tokens_by_difficulty: dict[str, float] = {}
    difficulty_spearman: float | None = None
    oaa_t_max: int | None = None
    auc_oaa: float | None = None
    oaa: dict[str, float] = {}
    acu: float | None = None


class GroupStats(Record):
    """One value of a breakdown field (a MATH level, a subject)."""

    samples: int
    accuracy: float
    mean_tokens: float | None  # None where the completions' tokens were not counted
    thinking: ThinkingMetrics | None = None


class JudgeMetrics(Record):
    """The judge cascade of one task: the rules first, then a judge on the completions they could not settle."""

    model: str
    prompt: str  # the hash of the judge's prompt template
    unsettled: int  # completions the rules could not settle: no answer found, or one that could not be compared
    judged: int  # of those, the ones with this judge's verdict
    verdicts: dict[str, int] = {}  # the judge's: correct, wrong, no_answer, unclear
    accuracy: float | None = None  # by the rules and the judge together
    accuracy_ci95: tuple[float, float] | None = None


class TaskMetrics(Record):
    """The numbers of one task of a run (`effbench.analysis.metrics.task_metrics`)."""

    samples: int
    completions: int
    accuracy: float | None
    accuracy_ci95: tuple[float, float] | None = None
    pass_at_k: dict[str, float] = {}
    maj_at_k: dict[str, float] = {}
    outcome_efficiency: float | None = None
    outcome_efficiency_located: int = 0
    correct_completions: int = 0
    tokens: TokenStats | None = None
    total_tokens: int | None = 0  # None where the completions' tokens were not counted
    reasoning_tokens: TokenStats | None = None
    answer_tokens: TokenStats | None = None
    completions_with_reasoning: int = 0
    correct_tokens: TokenStats | None = None
    wrong_tokens: TokenStats | None = None
    tokens_per_correct: float | None = None
    truncation_rate: float | None = None
    forced_rate: float | None = None
    truncation_curve: dict[str, float] = {}
    verdicts: dict[str, int] = {}
    finish_reasons: dict[str, int] = {}
    breakdown: dict[str, dict[str, GroupStats]] = {}
    thinking: ThinkingMetrics | None = None
    counted_from: dict[str, dict[str, int]] = {}  # completions by where their tokens and reasoning tokens were counted
    reasoning_hidden: int = 0  # completions whose reasoning a server counted in usage and never returned
    accuracy_finished: float | None = None  # over the completions that were not cut off by max_tokens
    truncated_no_answer_rate: float | None = None  # the share cut off with no answer
    latency: LatencyMetrics | None = None  # how the serving went: differs from run to run, unlike the rest
    cost: CostMetrics | None = None  # where the run was priced (prices= or gpu_hour_usd=): an input, not what it generated
    rules: dict[str, int] = {}  # answers graded, by the extraction rule that found them
    fallback_answers: int = 0  # answers found only by the last-number fallback (no answer was marked)
    fallback_correct: int = 0  # of those, the correct ones
    judge: JudgeMetrics | None = None  # where a judge was named: accuracy by the rules and by rules + judge

    @property
    def mean_tokens(self) -> float | None:
        return self.tokens.mean if self.tokens else None

    def thinking_columns(self) -> dict[str, Any]:
        """The thinking-efficiency figures as flat columns (of `load_runs`, `compare` and the run pages)."""
        t = self.thinking or ThinkingMetrics()
        return {
            "positions": t.positions,
            "outcome_efficiency": self.outcome_efficiency,
            "first_correct_tokens": t.first_correct_tokens.mean if t.first_correct_tokens else None,
            "reflection_tokens": t.reflection_tokens.mean if t.reflection_tokens else None,
            "answer_first_tokens": t.answer_first_tokens.mean if t.answer_first_tokens else None,
            "after_settled_tokens": t.after_settled_tokens.mean if t.after_settled_tokens else None,
            "after_settled_share": t.after_settled_share,
            "underthinking": t.underthinking,
            "harmful_overthinking": t.harmful_overthinking,
            "reflection_markers": t.reflection_markers,
            "tokens_per_marker": t.tokens_per_marker,
            "completed_accuracy": t.completed_accuracy,
            "truncation_rate": self.truncation_rate,  # the cap-hit rate, beside accuracy on completed completions
            "difficulty_spearman": t.difficulty_spearman,
            "auc_oaa": t.auc_oaa,
            "acu": t.acu,
        }


class TaskResult(Record):
    version: int
    excluded: int = 0  # problems left out: by the task's exclusions, and those the backend could not generate for
    skipped: dict[str, str] = {}  # the latter, by id, with the reason (a prompt longer than the model's context)
    sampling: Sampling
    metrics: TaskMetrics


class Results(Record):
    """results.json: a pure function of the stored samples, so equal runs give byte-equal files."""

    schema_version: int = RESULTS_SCHEMA_VERSION
    run: str
    model: str
    backend: str
    parameters: float | None = None  # billions, for ACU: given with parameters=, or counted from a local model's weights
    tasks: dict[str, TaskResult]


class TaskIdentity(Record):
    """What must match, per task, for a stored run to be resumed or compared."""

    version: int | None = None
    template_sha256: str | None = None
    samples_sha256: str | None = None
    sampling: dict[str, Any] = {}


class Identity(Record):
    """What must match for a stored run to be resumed: anything that changes what is generated or graded."""

    model: str | None = None
    revision: str | None = None
    dtype: str | None = None
    prompt: str | None = None
    system: str | None = None
    enable_thinking: bool | None = None
    reasoning_effort: str | None = None
    extra_body: dict[str, Any] | None = None
    method: str | None = None
    prompt_budget: int | None = None
    reasoning: str | None = None
    seed: int | None = None
    force: dict[str, Any] | None = None
    tasks: dict[str, TaskIdentity] = {}


class TaskInfo(Record):
    """How a task of the run was made: its version, grading rules, dataset fingerprint, exclusions and sampling."""

    version: int
    template_sha256: str
    extractor: str
    grader: str
    reasoning: str = "think"
    dataset: dict[str, Any]
    excluded: list[dict[str, str]] = []
    sampling: dict[str, Any]
    method: dict[str, Any] | None = None  # the method as applied: its citation and the exact texts it added


class RunRecord(Record):
    """run.json: the resolved config, the identity, each task's making, the environment and every invocation."""

    schema_version: int = RUN_SCHEMA_VERSION
    effbench_version: str
    created: str
    config: dict[str, Any]
    identity: Identity
    tasks: dict[str, TaskInfo] = {}
    environment: dict[str, Any] = {}
    backend: dict[str, Any] | None = None
    invocations: list[dict[str, Any]] = []
    status: str = "running"
    imported: dict[str, Any] | None = Field(None, alias="import")  # how an imported run was made (lm-eval)

    @property
    def model(self) -> str:
        return str(self.config.get("model", self.identity.model))

    @property
    def backend_options(self) -> dict[str, Any]:
        options = self.config.get("backend_options")
        return options if isinstance(options, dict) else {}


class SweepRecord(Record):
    """sweep.json: a budget sweep's budgets, mode and how the budgets were made; or the key a sweep goes over and its
    values; and the run of each finished budget or value."""

    schema_version: int = 1
    model: str
    tasks: list[str]
    mode: str
    derive: bool
    how: str
    force: dict[str, Any] | None = None
    budgets: list[int] = []
    over: str | None = None  # the key of a sweep over values (None: over token budgets)
    values: list[str] = []
    runs: dict[str, str] = {}  # budget (or value) -> its run folder name


R = TypeVar("R", Results, RunRecord, SweepRecord)


def read_results(path: Path) -> Results:
    return _read(path, Results, RESULTS_SCHEMA_VERSION)


def read_run_record(path: Path) -> RunRecord:
    return _read(path, RunRecord, RUN_SCHEMA_VERSION)


def _read(path: Path, model: type[R], current: int) -> R:
    data = read_record(path)
    version = data.get("schema_version", 1)
    if version != current:
        newer = isinstance(version, int) and version > current
        raise StoreError(
            f"{path} is of schema version {version!r}, this effbench reads {current}: "
            + ("upgrade effbench to read it" if newer else "make it again with effbench rescore")
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise StoreError(
            f"{path} is not a {model.__name__} effbench wrote ({first_problem(exc)}); restore it, or make the run again"
        ) from None


def read_sweep_record(path: Path) -> SweepRecord:
    return _read(path, SweepRecord, 1)


def write_record(path: Path, record: Results | RunRecord | SweepRecord) -> None:
    """The record as JSON, written atomically; `import` keeps its name on disk."""
    write_json_atomic(path, json.loads(record.model_dump_json(by_alias=True, exclude_none=False)))
