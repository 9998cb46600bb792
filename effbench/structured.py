"""YAML and JSON read with limits: every file effbench reads goes through here.

A file nested 100,000 deep (`a: [[[[…]]]]`) would exhaust Python's recursion in the parser or in
whatever walks the result; a file of gigabytes would exhaust memory. Past `MAX_DEPTH` levels or the
size limits, the parsers' own error classes are raised (`yaml.YAMLError`, `json.JSONDecodeError`),
so each caller's one-line message for a file that is not valid YAML or JSON covers them too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

MAX_DEPTH = 100  # levels of nesting; effbench's own files use fewer than 10
MAX_YAML_CHARS = 8 << 20  # tasks, configs, rules, leaderboards, prices: files people write
MAX_JSON_CHARS = 1 << 30  # a run's records, a line of samples, an import


class YAMLLimitError(yaml.YAMLError):
    """A YAML file past a limit."""


class JSONLimitError(json.JSONDecodeError):
    """A JSON text past a limit."""

    def __init__(self, message: str):
        super().__init__(message, "", 0)


def _too_deep() -> str:
    return f"nested deeper than {MAX_DEPTH} levels, more than effbench reads"


def _too_large(limit: int) -> str:
    return f"larger than {limit >> 20} MiB, more than effbench reads"


class _Loader(yaml.SafeLoader):
    """yaml.SafeLoader that stops composing past MAX_DEPTH levels, before Python's recursion runs out."""

    depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise YAMLLimitError(_too_deep())
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def load_yaml(text: str) -> Any:
    """yaml.safe_load within the limits."""
    if len(text) > MAX_YAML_CHARS:
        raise YAMLLimitError(_too_large(MAX_YAML_CHARS))
    try:
        return yaml.load(text, Loader=_Loader)
    except RecursionError:
        raise YAMLLimitError(_too_deep()) from None


def load_json(text: str | bytes) -> Any:
    """json.loads within the limits."""
    if len(text) > MAX_JSON_CHARS:
        raise JSONLimitError(_too_large(MAX_JSON_CHARS))
    try:
        value = json.loads(text)
    except RecursionError:
        raise JSONLimitError(_too_deep()) from None
    opening = text.count("[") + text.count("{") if isinstance(text, str) else text.count(b"[") + text.count(b"{")
    if opening > MAX_DEPTH and not _within_depth(value):  # fewer openers than levels: no walk needed
        raise JSONLimitError(_too_deep())
    return value


def _within_depth(value: Any) -> bool:
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if level > MAX_DEPTH:
            return False
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((child, level + 1) for child in children if isinstance(child, dict | list))
    return True


def read_yaml(path: Path) -> Any:
    """A YAML file, within the limits (OSError and UnicodeDecodeError as path.read_text raises them)."""
    return load_yaml(_read(path, MAX_YAML_CHARS, YAMLLimitError))


def read_json(path: Path) -> Any:
    """A JSON file, within the limits (OSError and UnicodeDecodeError as path.read_text raises them)."""
    return load_json(_read(path, MAX_JSON_CHARS, JSONLimitError))


def _read(path: Path, limit: int, error: type[YAMLLimitError | JSONLimitError]) -> str:
    with path.open(encoding="utf-8") as handle:
        text = handle.read(limit + 1)  # a file of endless bytes (/dev/zero) is not read to its end
    if len(text) > limit:
        raise error(_too_large(limit))
    return text
