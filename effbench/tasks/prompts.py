"""Render a sample into the prompt a backend receives: chat messages or plain text (jinja2, sandboxed)."""

from __future__ import annotations

from functools import lru_cache

from jinja2 import StrictUndefined, Template
from jinja2.sandbox import SandboxedEnvironment

from effbench.errors import TaskError
from effbench.tasks.spec import TaskSpec
from effbench.types import Prompt, Sample

_ENV = SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False)


@lru_cache(maxsize=256)
def _template(source: str) -> Template:
    """Compiled once per template text, not once per sample."""
    return _ENV.from_string(source)


def render_text(source: str, variables: dict) -> str:
    """One template rendered with `variables` (sandboxed); a TemplateError when it fails."""
    return _template(source).render(variables)


def render(spec: TaskSpec, sample: Sample, *, mode: str = "chat", system: str | None = None) -> Prompt:
    """The prompt for one sample. Template variables: `question`, `sample`, and each metadata field."""
    variables = {**sample.metadata, "question": sample.question, "sample": sample}
    try:
        if mode == "plain":
            return _template(spec.prompt.plain).render(variables)
        messages = [{"role": m["role"], "content": _template(m["content"]).render(variables)} for m in spec.prompt.chat]
    except Exception as exc:  # a template is the task author's code: any failure is theirs to fix, said in one line
        raise TaskError(
            f"{spec.name}: its {mode} prompt template failed on sample {sample.id}: {type(exc).__name__}: {exc}"
        ) from None
    if system is not None:
        messages = [{"role": "system", "content": system}, *[m for m in messages if m["role"] != "system"]]
    return tuple(messages)
