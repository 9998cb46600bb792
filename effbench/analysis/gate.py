"""`effbench gate`: pass or fail candidate runs against a baseline, task by task, without failing on noise.

Every candidate is judged against the baseline with the same rules; the gate fails when any check of any
candidate fails.

Rules, globally or per task (a task's own rules replace the global ones of the same name):
- `max_accuracy_drop`: points of accuracy the candidate may lose. Fails when the paired bootstrap
  interval of the difference lies wholly below −threshold (the drop is real and too large);
- `max_token_increase`: relative growth of mean completion tokens (0.1 = 10%). Fails when the
  paired interval of the token ratio lies wholly above 1 + threshold;
- `min_compression`: 1 − L_candidate / L_baseline (0.2 = 20% shorter). Fails when its interval
  lies wholly below the threshold;
- `min_accuracy` (points): fails when the candidate's bootstrap interval lies wholly below it;
- `min_aes` (O1-Pruner's AES against the baseline) and `max_truncation_rate` (0.05 = 5%): judged
  on the value, which has no interval.
`strict=true` judges every rule on the point estimate instead. With no rule at all, the gate
checks `max_accuracy_drop=0` and `max_token_increase=0`: not worse and not longer, beyond noise.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal
from xml.etree import ElementTree

import yaml
from pydantic import Field, ValidationError

from effbench.analysis.compare import AESWeights, TaskComparison, compare_runs
from effbench.analysis.cost import Pricing, run_costs
from effbench.errors import ConfigError
from effbench.schema import Strict, first_problem
from effbench.store.records import CostMetrics
from effbench.store.runs import Run
from effbench.structured import read_yaml


class Rules(Strict):
    max_accuracy_drop: float | None = Field(None, ge=0, description="points of accuracy the candidate may lose")
    max_token_increase: float | None = Field(None, ge=0, description="relative growth of mean tokens allowed (0.1 = 10%)")
    min_compression: float | None = Field(None, le=1, description="least compression, 1 - L_candidate / L_baseline")
    min_aes: float | None = Field(None, description="least AES against the baseline")
    max_truncation_rate: float | None = Field(None, ge=0, le=1, description="largest share of completions cut at max_tokens")
    min_accuracy: float | None = Field(None, ge=0, le=100, description="least accuracy, in points")
    max_cost_per_problem: float | None = Field(None, ge=0, description="USD a problem may cost (needs prices= or gpu_hour_usd=)")
    max_cost_increase: float | None = Field(None, ge=0, description="relative growth of the cost per problem allowed (0.1 = 10%)")

    def given(self) -> dict[str, float]:
        return {name: value for name, value in self.model_dump().items() if value is not None}


DEFAULT_RULES = {"max_accuracy_drop": 0.0, "max_token_increase": 0.0}


class GateSettings(Strict):
    """How the gate judges its rules (a `rules=FILE.yaml` of `rules:` and `tasks:` may hold them; words override it)."""

    confidence: float = Field(0.95, gt=0.5, lt=1, description="level of the paired bootstrap intervals")
    strict: bool = Field(False, description="judge the point estimates, not the intervals")
    prices: str | None = Field(None, description="price the runs for the cost rules: a price table's name or file")
    price_model: str | None = Field(None, description="the price table's entry to price by (default: each run's model)")
    gpu_hour_usd: float | None = Field(None, gt=0, description="price self-hosted runs by their generation time instead")


class GateSpec(GateSettings):
    rules: Rules = Rules()
    tasks: dict[str, Rules] = Field(default_factory=dict)
    aes: AESWeights = AESWeights()

    def rules_for(self, task: str) -> dict[str, float]:
        merged = {**self.rules.given(), **self.tasks.get(task, Rules()).given()}
        if not self.rules.given() and not any(rules.given() for rules in self.tasks.values()):
            return dict(DEFAULT_RULES)
        return merged


SETTINGS = tuple(GateSettings.model_fields)


class GateOutputs(Strict):
    """Where `effbench gate` writes its verdict, besides the terminal (and $GITHUB_STEP_SUMMARY when it is set)."""

    junit: Path | None = Field(None, description="JUnit XML file, one test case per candidate, task and rule")
    markdown: Path | None = Field(None, description="Markdown summary file")
    format: Literal["table", "json"] = Field("table", description="how to print the checks")


def gate_spec(values: dict[str, str]) -> GateSpec:
    """The gate's spec from `key=value` words (and `rules=FILE.yaml`, which the words override)."""
    data: dict[str, Any] = {}
    if "rules" in values:
        data = _read_yaml(Path(values.pop("rules")))
    rules, tasks = data.get("rules") or {}, data.get("tasks") or {}
    if not isinstance(rules, dict) or not isinstance(tasks, dict) or not all(isinstance(v, dict) for v in tasks.values()):
        raise ConfigError(
            "gate rules: `rules:` must map rule names to values, and `tasks:` each task to such a mapping "
            "(tasks: {gsm8k: {max_accuracy_drop: 1}})"
        )
    rules, tasks = dict(rules), {k: dict(v) for k, v in tasks.items()}
    for key, value in values.items():
        task, _, name = key.rpartition(".")
        if name in SETTINGS and not task:
            data[name] = value
        elif name in Rules.model_fields:
            (tasks.setdefault(task, {}) if task else rules)[name] = value
        else:
            known = ", ".join([*Rules.model_fields, *SETTINGS, "rules", "junit", "markdown", "format"])
            raise ConfigError(f"unknown gate key {key!r}; keys: {known} (a rule may be per task: gsm8k.max_accuracy_drop=1)")
    data["rules"], data["tasks"] = rules, tasks
    try:
        return GateSpec.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"gate rule {first_problem(exc)}") from None


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = read_yaml(path) or {}
    except OSError as exc:
        raise ConfigError(f"rules file {path} cannot be read ({exc.strerror or type(exc).__name__})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"rules file {path} is not UTF-8 text; save it as UTF-8") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"rules file {path} is not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"rules file {path} must hold a mapping with rules: and tasks:")
    return data


@dataclass(frozen=True)
class Check:
    candidate: str
    task: str
    rule: str
    observed: float | None
    interval: tuple[float, float] | None
    threshold: float
    passed: bool
    why: str


def run_gate(baseline: Run, candidates: Sequence[Run], spec: GateSpec) -> list[Check]:
    """One check per candidate, task and rule; a mismatch between the runs is a ConfigError, not a failed check."""
    if not candidates:
        raise ConfigError("gate needs at least one candidate: effbench gate BASELINE RUN [RUN ...]")
    repeated = [name for name, count in Counter(c.name for c in candidates).items() if count > 1]
    if repeated:
        raise ConfigError(f"gate: two candidates are named {repeated[0]!r}; give run folders of distinct names")
    comparison = compare_runs(baseline, list(candidates), spec.aes, confidence=spec.confidence, same_tasks=True, same_prompt=True)
    unknown = set(spec.tasks) - set(baseline.tasks)
    if unknown:
        raise ConfigError(f"gate rules name task {sorted(unknown)[0]!r}, which these runs do not have")
    costs = _costs(baseline, candidates, spec)
    checks = []
    for candidate in candidates:
        for task, result in comparison.runs[candidate.name].tasks.items():
            observed = Observed(result, candidate.tasks[task].metrics.truncation_rate, costs.get(baseline.name, {}).get(task),
                                costs.get(candidate.name, {}).get(task))  # fmt: skip
            for rule, threshold in spec.rules_for(task).items():
                checks.append(_check(candidate.name, task, rule, threshold, observed, spec))
    return checks


COST_RULES = ("max_cost_per_problem", "max_cost_increase")


def _costs(baseline: Run, candidates: Sequence[Run], spec: GateSpec) -> dict[str, dict[str, CostMetrics]]:
    """Each run's cost per task, where a rule asks for it (prices are an input of the gate, like its rules)."""
    asked = any(rule in COST_RULES for task in baseline.tasks for rule in spec.rules_for(task))
    pricing = Pricing.of(spec.prices, spec.price_model, spec.gpu_hour_usd)
    if not asked:
        return {}
    if pricing is None:
        raise ConfigError("the cost rules price the runs: give prices=TABLE (effbench prices) or gpu_hour_usd=")
    return run_costs([baseline, *candidates], pricing)


@dataclass(frozen=True)
class Observed:
    """What the rules of one candidate's task judge: its comparison, truncation rate, and both sides' costs."""

    comparison: TaskComparison
    truncation: float | None
    baseline_cost: CostMetrics | None
    cost: CostMetrics | None


def _check(candidate: str, task: str, rule: str, threshold: float, seen: Observed, spec: GateSpec) -> Check:
    """Observed value and interval in the rule's units; a `max_` rule fails above, a `min_` rule below."""
    observed, interval = _observed(rule, seen)
    if observed is None:
        return Check(candidate, task, rule, None, None, threshold, False, f"{DESCRIBE[rule]} is undefined for these runs")
    if spec.strict or interval is None:
        value, basis = observed, "point estimate"
    else:
        value, basis = (interval[0] if rule.startswith("max_") else interval[1]), f"{100 * spec.confidence:g}% interval"
    passed = value <= threshold if rule.startswith("max_") else value >= threshold
    limit = "at most" if rule.startswith("max_") else "at least"
    why = (
        f"{DESCRIBE[rule]} {_format(rule, observed)}{' ' + _interval_text(rule, interval) if interval else ''} "
        f"(judged on the {basis}); {limit} {_format(rule, threshold)} {'holds' if passed else 'does not hold'}"
    )
    return Check(candidate, task, rule, observed, interval, threshold, passed, why)


DESCRIBE = {
    "max_accuracy_drop": "accuracy drop (points)",
    "max_token_increase": "mean-token increase",
    "min_compression": "compression",
    "min_aes": "AES",
    "max_truncation_rate": "truncation rate",
    "min_accuracy": "accuracy (points)",
    "max_cost_per_problem": "cost per problem (USD)",
    "max_cost_increase": "cost-per-problem increase",
}
PERCENT_RULES = ("max_token_increase", "min_compression", "max_truncation_rate", "max_cost_increase")


def _observed(rule: str, seen: Observed) -> tuple[float | None, tuple[float, float] | None]:
    def pair(ci: tuple[float, float] | None, factor: float = 1.0, shift: float = 0.0) -> tuple[float, float] | None:
        if ci is None:
            return None
        low, high = sorted((factor * ci[0] + shift, factor * ci[1] + shift))
        return low, high

    r = seen.comparison

    if rule == "max_accuracy_drop":
        return -100 * r.accuracy_delta, pair(r.accuracy_delta_ci95, -100)
    if rule == "max_token_increase":
        return (None if r.token_ratio is None else r.token_ratio - 1), pair(r.token_ratio_ci95, 1, -1)
    if rule == "min_compression":
        return r.compression, pair(r.token_ratio_ci95, -1, 1)
    if rule == "min_accuracy":
        return 100 * r.run.accuracy, pair(r.run.accuracy_ci95, 100)
    if rule == "min_aes":
        return r.aes, None
    if rule in COST_RULES:
        return _cost_observed(rule, seen.baseline_cost, seen.cost), None
    return seen.truncation, None


def _cost_observed(rule: str, baseline: CostMetrics | None, cost: CostMetrics | None) -> float | None:
    mine = cost.per_problem_usd if cost else None
    if rule == "max_cost_per_problem" or mine is None:
        return mine
    theirs = baseline.per_problem_usd if baseline else None
    return None if not theirs else mine / theirs - 1


def _format(rule: str, value: float) -> str:
    value += 0.0  # no "-0.0"
    if rule == "max_cost_per_problem":
        return f"${value:.4g}"
    return f"{100 * value:.1f}%" if rule in PERCENT_RULES else f"{value:.3f}" if rule == "min_aes" else f"{value:.1f}"


def _interval_text(rule: str, interval: tuple[float, float]) -> str:
    return f"[{_format(rule, interval[0])}, {_format(rule, interval[1])}]"


# --- output ----------------------------------------------------------------------------------


def candidates_of(checks: list[Check]) -> list[str]:
    """The candidates the checks judge, in their order."""
    return list(dict.fromkeys(c.candidate for c in checks))


def label(check: Check, *, many: bool) -> str:
    """`task rule`, led by the candidate when the gate judges more than one."""
    return f"{check.candidate} {check.task} {check.rule}" if many else f"{check.task} {check.rule}"


def failed_candidates(checks: list[Check]) -> list[str]:
    return [name for name in candidates_of(checks) if any(not c.passed for c in checks if c.candidate == name)]


def checks_json(checks: list[Check], baseline: str, candidates: list[str]) -> dict[str, Any]:
    """The verdict as JSON; with one candidate it also keeps `candidate`, the shape of a one-candidate gate."""
    failed = failed_candidates(checks)
    verdict: dict[str, Any] = {"baseline": baseline}
    if len(candidates) == 1:
        verdict["candidate"] = candidates[0]
    verdict["candidates"] = [{"name": name, "passed": name not in failed} for name in candidates]
    verdict["passed"] = all(c.passed for c in checks)
    verdict["checks"] = [asdict(c) for c in checks]
    return verdict


def rows(checks: list[Check]) -> list[tuple[str, ...]]:
    return [
        (
            c.candidate,
            c.task,
            c.rule,
            "-" if c.observed is None else _format(c.rule, c.observed),
            _interval_text(c.rule, c.interval) if c.interval else "",
            _format(c.rule, c.threshold),
            "PASS" if c.passed else "FAIL",
        )
        for c in checks
    ]


HEADER = ("candidate", "task", "rule", "observed", "interval", "threshold", "result")


def markdown(checks: list[Check], baseline: str, candidates: list[str]) -> str:
    failed = sum(not c.passed for c in checks)
    verdict = "PASS" if not failed else f"FAIL ({failed} of {len(checks)} checks)"
    many = len(candidates) > 1
    lines = [
        f"### effbench gate: {verdict}",
        "",
        f"{', '.join(f'`{name}`' for name in candidates)} against `{baseline}`",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "---|" * len(HEADER),
    ]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows(checks)]
    lines += [""] + [f"- **{label(c, many=many)}**: {c.why}" for c in checks if not c.passed]
    return "\n".join(lines) + "\n"


def junit_xml(checks: list[Check], baseline: str, candidates: list[str]) -> str:
    """JUnit XML as Jenkins, GitLab, GitHub and Azure read it: one test suite, one test case per candidate, task
    and rule (classname `effbench.gate.CANDIDATE.TASK`, name the rule)."""
    failures = str(sum(not c.passed for c in checks))
    suites = ElementTree.Element(
        "testsuites", name="effbench gate", tests=str(len(checks)), failures=failures, errors="0", time="0"
    )
    suite = ElementTree.SubElement(
        suites,
        "testsuite",
        name=f"effbench gate: {', '.join(candidates)} against {baseline}",
        tests=str(len(checks)),
        failures=failures,
        errors="0",
        skipped="0",
        time="0",
    )
    for check in checks:
        classname = f"effbench.gate.{check.candidate}.{check.task}"
        case = ElementTree.SubElement(suite, "testcase", classname=classname, name=check.rule, time="0")
        if not check.passed:
            failure = ElementTree.SubElement(case, "failure", message=check.why, type="GateFailure")
            failure.text = f"{check.candidate} {check.task} {check.rule}: {check.why}"
        else:
            ElementTree.SubElement(case, "system-out").text = check.why
    ElementTree.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(suites, encoding="unicode") + "\n"
