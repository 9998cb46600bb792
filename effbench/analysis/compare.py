"""A run against a baseline: compression, O1-Pruner's AES, and paired statistics over shared samples.

compression = 1 − L_model / L_base (C3oT's convention: 0 is the baseline's length, 1 no chain at
all), where L is mean completion tokens.

AES (O1-Pruner, arXiv 2501.12570): ΔL = (L_base − L_model) / L_base, ΔA = (A_model − A_base) / A_base;
AES = α·ΔL + β·|ΔA| when ΔA ≥ 0, else α·ΔL − γ·|ΔA|. `aes` is that formula. The paper's Table 2
does not apply the penalty branch: every row where accuracy fell matches α·ΔL + β·|ΔA|.
`aes_as_published` is that variant, which reproduces the table; use it only to compare with
published numbers.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from effbench.analysis.stats import bootstrap_ci, mcnemar_exact, mean_difference, mean_or_none, mean_ratio, paired_bootstrap_ci
from effbench.errors import ConfigError
from effbench.store.runs import Run, TaskSamples


@dataclass(frozen=True)
class AESWeights:
    """α rewards shorter output, β higher accuracy, γ penalises lower accuracy (O1-Pruner: 1, 3, 5)."""

    alpha: float = 1.0
    beta: float = 3.0
    gamma: float = 5.0

    def __post_init__(self) -> None:
        if not all(math.isfinite(w) for w in (self.alpha, self.beta, self.gamma)):
            raise ValueError("alpha, beta and gamma must be finite numbers")


def compression(base_tokens: float, model_tokens: float) -> float | None:
    """1 − L_model / L_base; None when the baseline wrote nothing."""
    return None if base_tokens <= 0 else 1.0 - model_tokens / base_tokens


def aes(
    base_accuracy: float,
    model_accuracy: float,
    base_tokens: float,
    model_tokens: float,
    weights: AESWeights = AESWeights(),
    *,
    as_published: bool = False,
) -> float | None:
    """O1-Pruner's Accuracy-Efficiency Score; None when the baseline's accuracy or length is 0 (ΔA or ΔL undefined)."""
    if base_accuracy <= 0 or base_tokens <= 0:
        return None
    length_gain = (base_tokens - model_tokens) / base_tokens
    accuracy_change = (model_accuracy - base_accuracy) / base_accuracy
    if accuracy_change >= 0 or as_published:
        return weights.alpha * length_gain + weights.beta * abs(accuracy_change)
    return weights.alpha * length_gain - weights.gamma * abs(accuracy_change)


@dataclass(frozen=True)
class Efficiency:
    compression: float | None
    aes: float | None
    aes_as_published: float | None


def efficiency(
    base_accuracy: float, model_accuracy: float, base_tokens: float, model_tokens: float, weights: AESWeights
) -> Efficiency:
    return Efficiency(
        compression=compression(base_tokens, model_tokens),
        aes=aes(base_accuracy, model_accuracy, base_tokens, model_tokens, weights),
        aes_as_published=aes(base_accuracy, model_accuracy, base_tokens, model_tokens, weights, as_published=True),
    )


@dataclass(frozen=True)
class Side:
    """One side of a comparison on one task: its accuracy, with its interval, and its mean tokens."""

    accuracy: float
    accuracy_ci95: tuple[float, float] | None
    mean_tokens: float | None  # None where its completions' tokens were not counted


def summary(samples: TaskSamples, confidence: float = 0.95) -> Side:
    per_sample_accuracy = samples.correct.mean(axis=1)
    tokens = float(samples.tokens.mean()) if samples.counted else None
    return Side(float(per_sample_accuracy.mean()), bootstrap_ci(per_sample_accuracy, level=confidence), tokens)


@dataclass(frozen=True)
class Paired:
    """A run against its baseline over the same samples: paired intervals and McNemar on the discordant pairs."""

    samples: int
    accuracy_delta: float
    accuracy_delta_ci95: tuple[float, float] | None
    mcnemar_p: float
    only_baseline_correct: int
    only_run_correct: int
    token_ratio: float | None
    token_ratio_ci95: tuple[float, float] | None


def paired(base: TaskSamples, model: TaskSamples, confidence: float = 0.95) -> Paired:
    """Accuracy difference and token ratio over the same samples, with paired bootstrap intervals and McNemar."""
    base_accuracy, model_accuracy = base.correct.mean(axis=1), model.correct.mean(axis=1)
    base_tokens, model_tokens = base.tokens.mean(axis=1), model.tokens.mean(axis=1)
    pairs = min(base.correct.shape[1], model.correct.shape[1])  # completion i of a sample against completion i
    only_base = int((base.correct[:, :pairs] & ~model.correct[:, :pairs]).sum())
    only_model = int((~base.correct[:, :pairs] & model.correct[:, :pairs]).sum())
    counted = base.counted and model.counted
    return Paired(
        samples=len(base.ids),
        accuracy_delta=float(model_accuracy.mean() - base_accuracy.mean()),
        accuracy_delta_ci95=paired_bootstrap_ci(base_accuracy, model_accuracy, mean_difference, level=confidence),
        mcnemar_p=mcnemar_exact(only_base, only_model),
        only_baseline_correct=only_base,
        only_run_correct=only_model,
        token_ratio=float(model_tokens.mean() / base_tokens.mean()) if counted and base_tokens.mean() > 0 else None,
        token_ratio_ci95=paired_bootstrap_ci(base_tokens, model_tokens, mean_ratio, level=confidence) if counted else None,
    )


@dataclass(frozen=True)
class TaskComparison(Efficiency, Paired):
    """A run against the baseline on one task: both sides, the efficiency scores, the paired statistics, and notes
    on the settings that differ."""

    baseline: Side
    run: Side
    notes: tuple[str, ...]


@dataclass(frozen=True)
class Average:
    """A run's averages over the tasks, both ways, named: the mean of the tasks' AES (the paper's average) and
    the AES of the mean accuracy and length."""

    baseline_accuracy: float | None
    run_accuracy: float | None
    baseline_mean_tokens: float | None
    run_mean_tokens: float | None
    compression_of_means: float | None
    aes_mean_of_tasks: float | None
    aes_of_means: float | None
    aes_as_published_mean_of_tasks: float | None
    aes_as_published_of_means: float | None


@dataclass(frozen=True)
class RunComparison:
    tasks: dict[str, TaskComparison]
    average: Average
    skipped_tasks: tuple[str, ...]
    method: str | None = None  # the run's inference-time method (method=), where it has one


@dataclass(frozen=True)
class Comparison:
    """`compare_runs`' answer; `to_json()` is what `effbench compare format=json` prints."""

    baseline: str
    weights: AESWeights
    confidence: float
    runs: dict[str, RunComparison]
    baseline_method: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def check_comparable(baseline: Run, run: Run, task: str, *, same_prompt: bool = False) -> list[str]:
    """Refuses a comparison over different samples or task versions (and prompts, with `same_prompt`);
    returns notes on the differences that a comparison may legitimately have."""
    base_id, run_id = baseline.identity(task), run.identity(task)
    if base_id.version != run_id.version:
        raise ConfigError(
            f"{task}: {run.name} used task version {run_id.version} and {baseline.name} "
            f"version {base_id.version}; compare runs of the same task version"
        )
    if base_id.samples_sha256 != run_id.samples_sha256:
        raise ConfigError(
            f"{task}: {run.name} and {baseline.name} were run on different samples (another limit= or "
            f"dataset); compare runs over the same samples"
        )
    notes = []
    if base_id.template_sha256 != run_id.template_sha256:
        if same_prompt:
            raise ConfigError(
                f"{task}: {run.name} and {baseline.name} used different prompt templates; "
                f"a gate compares runs made with the same prompt"
            )
        notes.append("prompt templates differ")
    for key in ("max_tokens", "temperature", "n"):
        base_value, run_value = base_id.sampling.get(key), run_id.sampling.get(key)
        if base_value != run_value:
            notes.append(f"{key} {base_value} -> {run_value}")
    return notes


def compare_runs(
    baseline: Run,
    runs: list[Run],
    weights: AESWeights = AESWeights(),
    *,
    confidence: float = 0.95,
    same_tasks: bool = False,
    same_prompt: bool = False,
) -> Comparison:
    """Per run and task: both sides' accuracy and length, efficiency scores and paired statistics; plus averages.

    `same_tasks` and `same_prompt` (for gates) refuse runs whose tasks or prompts differ.
    """
    comparisons: dict[str, RunComparison] = {}
    base_samples: dict[str, TaskSamples] = {}
    for run in runs:
        shared = [task for task in baseline.tasks if task in run.tasks]
        if not shared:
            raise ConfigError(f"{run.name} shares no task with the baseline {baseline.name}")
        if same_tasks and set(baseline.tasks) != set(run.tasks):
            raise ConfigError(
                f"{run.name} has tasks {', '.join(sorted(run.tasks))} and {baseline.name} "
                f"{', '.join(sorted(baseline.tasks))}; a gate compares runs of the same tasks"
            )
        tasks = {}
        for task in shared:
            notes = check_comparable(baseline, run, task, same_prompt=same_prompt)
            base = base_samples.setdefault(task, baseline.samples(task))
            model = run.samples(task)
            if set(model.ids) != set(base.ids):
                raise ConfigError(
                    f"{task}: {run.name} has {len(model.ids)} samples and {baseline.name} {len(base.ids)}, "
                    f"not the same ones: these runs were made on different samples (another limit=?); "
                    f"compare runs over the same samples"
                )
            tasks[task] = compare_task(base, model.aligned(base.ids), weights, confidence, tuple(notes))
        skipped = tuple(sorted(set(baseline.tasks) ^ set(run.tasks)))
        comparisons[run.name] = RunComparison(tasks, average(tasks, weights), skipped, run.method)
    return Comparison(baseline.name, weights, confidence, comparisons, baseline.method)


def compare_task(
    base: TaskSamples,
    model: TaskSamples,
    weights: AESWeights,
    confidence: float,
    notes: tuple[str, ...],
    *,
    base_side: Side | None = None,
) -> TaskComparison:
    """One task of a run against the baseline's, over the same samples in the same order; `base_side` is the
    baseline's summary where the caller has it already (one baseline against many runs)."""
    base_side, model_side = base_side or summary(base, confidence), summary(model, confidence)
    scores = Efficiency(None, None, None)
    if base_side.mean_tokens is not None and model_side.mean_tokens is not None:
        scores = efficiency(base_side.accuracy, model_side.accuracy, base_side.mean_tokens, model_side.mean_tokens, weights)
    else:
        notes = (*notes, "token counts absent: no compression, AES or token ratio")
    return TaskComparison(
        **asdict(scores), **asdict(paired(base, model, confidence)), baseline=base_side, run=model_side, notes=notes
    )


def average(tasks: dict[str, TaskComparison], weights: AESWeights) -> Average:
    """Both averages, named: the mean of the per-task AES (the paper's) and the AES of the mean accuracy and length."""
    mean = mean_or_none
    base_accuracy = mean([t.baseline.accuracy for t in tasks.values()])
    model_accuracy = mean([t.run.accuracy for t in tasks.values()])
    base_tokens = mean([t.baseline.mean_tokens for t in tasks.values()])
    model_tokens = mean([t.run.mean_tokens for t in tasks.values()])
    of_means = Efficiency(None, None, None)
    if base_accuracy is not None and model_accuracy is not None and base_tokens is not None and model_tokens is not None:
        of_means = efficiency(base_accuracy, model_accuracy, base_tokens, model_tokens, weights)
    return Average(
        baseline_accuracy=base_accuracy,
        run_accuracy=model_accuracy,
        baseline_mean_tokens=base_tokens,
        run_mean_tokens=model_tokens,
        compression_of_means=of_means.compression,
        aes_mean_of_tasks=mean([t.aes for t in tasks.values()]),
        aes_of_means=of_means.aes,
        aes_as_published_mean_of_tasks=mean([t.aes_as_published for t in tasks.values()]),
        aes_as_published_of_means=of_means.aes_as_published,
    )
