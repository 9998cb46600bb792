"""Load and validate task definitions. The registry is the folder of YAML files itself."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from effbench.errors import TaskError
from effbench.grading.gold import Grading
from effbench.grading.reasoning import reasoning_format
from effbench.grading.scoring import Rules
from effbench.schema import Strict, first_problem
from effbench.structured import read_yaml

TASK_FOLDER = Path(__file__).parent / "definitions"


class FieldSpec(Strict):
    """Where a value comes from in a record, optionally narrowed by a regex or an extractor: a field (a dotted
    path such as `other.source` reaches into nested objects; a list names fields, the first that is not
    empty gives the value), or a jinja2 template over the record's fields."""

    field: str | tuple[str, ...] | None = None
    template: str | None = Field(None, description="jinja2 template over the record's fields, instead of a field")
    pattern: str | None = Field(None, description="regex; the first group (or whole match) is the value")
    extract: str | None = Field(None, description="an extractor from effbench.grading.extract applied to the field")

    @model_validator(mode="after")
    def _one_source(self) -> FieldSpec:
        if (self.field is None) == (self.template is None):
            raise ValueError("give either field: or template:")
        return self

    @property
    def fields(self) -> tuple[str, ...]:
        return (self.field,) if isinstance(self.field, str) else self.field or ()

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"{value!r} is not a regular expression ({exc})") from None
        return value


def _field_shorthand(value: Any) -> Any:
    return {"field": value} if isinstance(value, str) else value


class Fields(Strict):
    question: FieldSpec
    answer: FieldSpec
    id: FieldSpec | None = Field(None, description="unset: the record's position in the file")
    metadata: dict[str, FieldSpec] = Field(default_factory=dict, description="breakdown fields")

    _shorthand = field_validator("question", "answer", "id", mode="before")(_field_shorthand)

    @field_validator("metadata", mode="before")
    @classmethod
    def _metadata_shorthand(cls, value: Any) -> Any:
        return {k: _field_shorthand(v) for k, v in (value or {}).items()}


class HubSource(Strict):
    path: str
    config: str | None = None
    split: str
    revision: str | None = None
    filter: dict[str, str] | None = Field(None, description="keep rows whose field contains the given text")
    fields: dict[str, Any] | None = Field(None, description="field mapping where the hub copy differs from the local file")


class Source(Strict):
    hub: HubSource | None = None
    origin: str | None = Field(None, description="where the file was published, pinned (repository, commit, path)")
    local: str = Field(description="file name under EFFBENCH_DATA_DIR")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    records: int = Field(gt=0)
    unverified: str | None = Field(None, description="which gold answers rest on one source alone, not checked apart")


class Prompts(Strict):
    chat: tuple[dict[str, str], ...]
    plain: str

    @field_validator("chat")
    @classmethod
    def _roles(cls, messages: tuple[dict[str, str], ...]) -> tuple[dict[str, str], ...]:
        for message in messages:
            if set(message) != {"role", "content"} or message["role"] not in {"system", "user", "assistant"}:
                raise ValueError("each chat message needs exactly a role (system, user or assistant) and a content")
        return messages


class Generation(Strict):
    max_tokens: int = Field(gt=0)
    temperature: float = Field(0.0, ge=0)
    top_p: float = Field(1.0, gt=0, le=1)
    top_k: int = -1


class TaskSpec(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
    version: int = Field(ge=1)
    description: str
    source: Source
    fields: Fields
    prompt: Prompts
    extractor: str
    grader: str
    grading: Grading | None = Field(None, description="the conventions of its gold answers beyond the grader's equality")
    reasoning: str = Field("think", description="the reasoning format of the completions (effbench.grading.reasoning)")
    generation: Generation
    breakdown: tuple[str, ...] = ()
    difficulty: str | None = Field(
        None, description="the metadata field that ranks problems by difficulty (default: level, where the task has it)"
    )

    @property
    def difficulty_field(self) -> str | None:
        """What tokens per difficulty level and their rank correlation are computed over."""
        return self.difficulty or ("level" if "level" in self.fields.metadata else None)

    @model_validator(mode="after")
    def _known_names(self) -> TaskSpec:
        from effbench.grading.equivalence import GRADERS
        from effbench.grading.extract import EXTRACTORS

        if self.extractor not in EXTRACTORS:
            raise ValueError(f"unknown extractor {self.extractor!r}; known: {', '.join(sorted(EXTRACTORS))}")
        if self.grader not in GRADERS:
            raise ValueError(f"unknown grader {self.grader!r}; known: {', '.join(sorted(GRADERS))}")
        for spec in (self.fields.answer, self.fields.question):
            if spec.extract and spec.extract not in EXTRACTORS:
                raise ValueError(f"unknown extractor {spec.extract!r} in fields")
        reasoning_format(self.reasoning)  # a ValueError names the formats
        missing = {*self.breakdown, *([self.difficulty] if self.difficulty else [])} - set(self.fields.metadata)
        if missing:
            raise ValueError(f"breakdown or difficulty names {sorted(missing)}, which fields.metadata does not define")
        return self

    def rules(self, reasoning: str | None = None) -> Rules:
        """How this task's completions are graded; `reasoning` (a run's setting) overrides the task's format."""
        return Rules(self.extractor, self.grader, reasoning_format(reasoning or self.reasoning), self.grading)

    def template_hash(self) -> str:
        """sha256 of the prompt templates: two runs compare only if their prompts were the same."""
        text = json.dumps(self.prompt.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()


def task_names() -> list[str]:
    return sorted(p.stem for p in TASK_FOLDER.glob("*.yaml"))


def load_task(name_or_path: str) -> TaskSpec:
    """A task by registry name, or from a YAML file path (a user's own task)."""
    path = Path(name_or_path)
    if path.suffix not in {".yaml", ".yml"}:
        path = TASK_FOLDER / f"{name_or_path}.yaml"
        if not path.exists():
            from effbench.config import closest

            hint = closest(name_or_path, task_names())
            suggestion = f"did you mean {hint}? " if hint else ""
            raise TaskError(f"unknown task {name_or_path!r}; {suggestion}`effbench tasks` lists them")
    elif not path.exists():
        raise TaskError(f"task file {path} does not exist")
    return parse_task(path)


def parse_task(path: Path) -> TaskSpec:
    try:
        data = read_yaml(path)
        return TaskSpec(**data)
    except OSError as exc:
        raise TaskError(f"task file {path} cannot be read ({exc.strerror or type(exc).__name__})") from None
    except UnicodeDecodeError:
        raise TaskError(f"task file {path} is not UTF-8 text") from None
    except yaml.YAMLError as exc:
        raise TaskError(f"task file {path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    except (ValidationError, TypeError) as exc:
        raise TaskError(f"task file {path} is invalid: {_first_problem(exc)}") from None


def _first_problem(exc: Exception) -> str:
    return first_problem(exc) if isinstance(exc, ValidationError) else "the file must hold a mapping of keys"
