"""The run configuration, filled from `key=value` words on the command line and an optional YAML file."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from effbench.errors import ConfigError
from effbench.grading.reasoning import reasoning_format
from effbench.schema import Strict
from effbench.structured import load_json, read_yaml

RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def known_reasoning_format(value: str | None) -> str | None:
    """A validator: the name of a reasoning format (a ValueError names the formats)."""
    if value is not None:
        reasoning_format(value)
    return value


def at_most_the_cores(value: int) -> int:
    """A validator (after): grading workers beyond the cores this process may use only contend; capped there
    (`workers=100000` once drove the load to 170)."""
    return min(value, len(os.sched_getaffinity(0)))


def comma_separated(value: Any) -> Any:
    """A validator (before): `a,b, c` -> `['a', 'b', 'c']`; other values as they are."""
    return [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value


def json_object(value: Any, key: str) -> Any:
    """A validator (before): a JSON object given as text, read; a ValueError says what to give instead."""
    if isinstance(value, str):
        try:
            value = load_json(value)
        except json.JSONDecodeError:
            raise ValueError(f'{key}={value} is not JSON; give an object such as {{"top_k": 20}}') from None
    if value is not None and not isinstance(value, dict):
        raise ValueError(f"{key} must be a JSON object of the fields to add")
    return value


def plain_run_name(value: str | None) -> str | None:
    """A validator: a run folder name that is one plain path part."""
    if value is not None and not RUN_NAME.match(value):
        raise ValueError(
            f"{value!r} is not a plain folder name: use letters, digits, '.', '_' and '-', starting with a letter or digit"
        )
    return value


class JudgeKeys(Strict):
    """The keys that name a judge (eval, rescore and grade take the same)."""

    judge_base_url: str | None = Field(None, description="an OpenAI-compatible server that judges what the rules cannot")
    judge_model: str | None = Field(None, description="the judge's model on judge_base_url")
    judge: str | None = Field(None, description="vllm:MODEL: the judge on the offline engine instead of a server")
    judge_max_tokens: int = Field(1024, ge=1, description="token limit of each judge reply")
    judge_api_key_env: str = Field("OPENAI_API_KEY", description="environment variable holding the judge server's key")

    @model_validator(mode="after")
    def _one_judge(self):
        if self.judge is not None and not (self.judge.startswith("vllm:") and self.judge[5:].strip()):
            raise ValueError(f"judge={self.judge} is not vllm:MODEL; for a server give judge_base_url= and judge_model=")
        if self.judge is not None and (self.judge_base_url or self.judge_model):
            raise ValueError("give judge=vllm:MODEL or judge_base_url= with judge_model=, not both")
        if bool(self.judge_base_url) != bool(self.judge_model):
            raise ValueError("judge_base_url= and judge_model= go together: give both, or judge=vllm:MODEL")
        return self


class EvalConfig(JudgeKeys):
    """Keys common to every backend. Unset generation keys take the task's defaults."""

    model: str = Field(
        min_length=1, description="model to evaluate: a local folder or a hub id (the served name for backend=openai)"
    )
    tasks: tuple[str, ...] = Field(description="comma-separated task names (see `effbench tasks`) or paths to task YAML files")
    backend: str = Field("vllm", description="how to generate: vllm, openai, replay or scripted")
    n: int = Field(1, ge=1, description="completions per problem")
    temperature: float | None = Field(None, ge=0, description="sampling temperature (default: the task's, greedy)")
    top_p: float | None = Field(None, gt=0, le=1, description="nucleus sampling (default: the task's)")
    top_k: int | None = Field(None, ge=-1, description="top-k sampling, -1 for off (default: the task's)")
    max_tokens: int | None = Field(None, ge=1, description="completion token limit (default: the task's)")
    force: bool = Field(
        False,
        description="budget forcing: a completion that reaches max_tokens is ended (</think> where it "
        "thinks), given force_cue, and writes up to force_tokens more, which are graded",
    )
    method: str | None = Field(
        None,
        description="an inference-time way to shorten reasoning: nothinking, chain_of_draft, concise, token_budget, "
        "budget_forcing (effbench methods)",
    )
    prompt_budget: int | None = Field(None, ge=1, description="the token budget method=token_budget names in the prompt")
    force_cue: str = Field("Final answer: \\boxed{", description="the answer cue appended by budget forcing")
    force_tokens: int = Field(32, ge=1, description="tokens the model may write after the forced cue")
    seed: int = Field(0, description="sampling seed; each problem's seed derives from it and the problem id")
    limit: int | None = Field(None, ge=1, description="evaluate only the first N problems of each task")
    sample_ids: dict[str, tuple[str, ...]] | None = Field(
        None, description="evaluate only these problems of a task (by id; in a config file): a rescore of an imported run"
    )
    prompt: Literal["chat", "plain"] = Field(
        "chat", description="chat template (instruct/reasoning models) or plain text (base models)"
    )
    system: str | None = Field(None, description="system message for chat prompts")
    enable_thinking: bool | None = Field(None, description="passed to the model's chat template where it takes it")
    reasoning_effort: str | None = Field(
        None, description="how hard a reasoning model thinks (low, medium, high, …): sent to servers, given to chat templates"
    )
    reasoning: str | None = Field(
        None,
        description="reasoning format of the completions: think, none, sky-t1, marco, s1, "
        "harmony, or OPEN...CLOSE (default: the task's, think)",
    )
    data_dir: Path | None = Field(None, description="folder of local test sets (default: $EFFBENCH_DATA_DIR, else the hub)")
    out: Path = Field(Path("runs"), description="folder that holds run folders")
    name: str | None = Field(None, description="run folder name (default: the model's last path part)")
    step: int | None = Field(None, ge=0, description="training step of the checkpoint, recorded for checkpoint series")
    parameters: float | None = Field(
        None, gt=0, description="the model's parameters in billions, for ACU (default: counted from a local model's weights)"
    )
    prices: str | None = Field(
        None, description="price the run: a price table's name (effbench prices) or a YAML/JSON file; not part of the run"
    )
    price_model: str | None = Field(None, description="the price table's entry to price by (default: the model's name)")
    gpu_hour_usd: float | None = Field(None, gt=0, description="price a self-hosted run by its generation time instead")
    workers: int = Field(2, ge=1, description="grading worker processes (at most the cores this process may use)")
    grade_timeout: float = Field(10.0, gt=0, description="seconds before a stuck grading worker is killed")
    store_token_ids: bool = Field(True, description="keep every completion's token ids in the samples file")
    log_to: tuple[Literal["wandb", "mlflow", "tensorboard"], ...] = Field(
        (), description="trackers to log the results to (comma-separated): wandb, mlflow, tensorboard"
    )
    log_name: str | None = Field(
        None, description="the tracker's run: runs that share it are one series, a point per step (default: the run's name)"
    )
    log_baseline: Path | None = Field(None, description="a stored run the logged figures are set against: AES and compression")

    _log_to = field_validator("log_to", mode="before")(comma_separated)
    _workers = field_validator("workers")(at_most_the_cores)

    @field_validator("tasks", mode="before")
    @classmethod
    def _split_tasks(cls, value: Any) -> Any:
        value = comma_separated(value)
        if not value:
            raise ValueError("name at least one task")
        return value

    _known_format = field_validator("reasoning")(known_reasoning_format)

    _safe_name = field_validator("name")(plain_run_name)

    @field_validator("top_k")
    @classmethod
    def _top_k(cls, value: int | None) -> int | None:
        if value == 0:
            raise ValueError("top_k=0 keeps no token: use -1 for off, or a positive count")
        return value

    @model_validator(mode="after")
    def _sampling_for_n(self) -> EvalConfig:
        if self.n > 1 and self.temperature == 0:
            raise ValueError("n>1 needs sampling: set temperature above 0 (greedy decoding gives n identical completions)")
        return self

    @property
    def run_name(self) -> str:
        if self.name:
            return self.name
        base = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(self.model.rstrip("/")).name).strip(".-") or "run"
        return base[:128]


def parse_words(words: list[str] | tuple[str, ...]) -> dict[str, str]:
    """`['model=x', 'n=4']` -> `{'model': 'x', 'n': '4'}`; a `config=FILE.yaml` word is read first."""
    values: dict[str, Any] = {}
    given: dict[str, str] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if not sep or not key:
            raise ConfigError(f"expected key=value, got {word!r}; run with --help to see the keys")
        if key in given:
            raise ConfigError(f"key {key!r} is given twice")
        given[key] = value
    if "config" in given:
        values.update(read_config_file(Path(given.pop("config"))))
    values.update(given)
    return values


def read_config_file(path: Path) -> dict[str, Any]:
    try:
        data = read_yaml(path)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read ({exc.strerror or type(exc).__name__})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not UTF-8 text; save it as UTF-8") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of key: value")
    return {k: ",".join(map(str, v)) if isinstance(v, list) else v for k, v in data.items()}


M = TypeVar("M", bound=BaseModel)


def build(model: type[M], values: dict[str, Any], *, what: str) -> M:
    """Validate `values` into `model`, turning the first problem into one ConfigError line."""
    try:
        return model(**values)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, model, what=what)) from None


def describe_validation_error(exc: ValidationError, model: type[BaseModel], *, what: str) -> str:
    error = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")[0]  # a misspelling explains the rest
    key = ".".join(str(part) for part in error["loc"]) or "config"
    if error["type"] == "extra_forbidden":
        hint = closest(key, list(model.model_fields))
        suggestion = f"; did you mean {hint}?" if hint else ""
        return f"unknown key {key!r} for {what}{suggestion} (run with --help to see the keys)"
    if error["type"] == "missing":
        return f"missing key {key}= for {what}"
    given = error.get("input")
    plain = WORDED.get(error["type"])
    if plain is not None and error["loc"] and isinstance(given, str | int | float):
        expected = (error.get("ctx") or {}).get("expected", "")
        return f"{key}={given} {plain.format(expected=expected.replace(chr(39), '').replace(' or ', ', '))}"
    message = error["msg"].removeprefix("Value error, ")
    return f"bad value for {key}: {message}" if error["loc"] else message


WORDED = {  # pydantic's error types, said as effbench says them
    "literal_error": "is not one of {expected}",
    "bool_parsing": "must be true or false",
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
}


def closest(word: str, choices: list[str]) -> str | None:
    import difflib

    matches = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return matches[0] if matches else None


def split_keys(values: dict[str, Any], options_model: type[BaseModel]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Separate the common keys from those of the backend's own options."""
    common = {k: v for k, v in values.items() if k in EvalConfig.model_fields or k not in options_model.model_fields}
    backend = {k: v for k, v in values.items() if k in options_model.model_fields and k not in EvalConfig.model_fields}
    return common, backend


def parse_keys(model: type[M], words: list[str] | tuple[str, ...], *, what: str) -> M:
    """A command's `key=value` words (and a `config=FILE.yaml`) validated into its keys model, or one ConfigError line."""
    return build(model, parse_words(words), what=what)


def keys_help(model: type[BaseModel]) -> str:
    """One line per key: name, default and description, for --help; the model's own keys first, then those it shares
    with other commands (the judge's)."""
    shared = set(JudgeKeys.model_fields) if issubclass(model, JudgeKeys) else set()
    ordered = [k for k in model.model_fields if k not in shared] + [k for k in model.model_fields if k in shared]
    lines = []
    for key, info in ((k, model.model_fields[k]) for k in ordered):
        default = "(required)" if info.is_required() else f"default {info.get_default()!s}"
        lines.append(f"  {key:<24} {info.description or ''} [{default}]")
    return "\n".join(lines)
