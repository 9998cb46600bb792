"""The package keeps the shape of the pipeline: each stage imports only the stages below it, in small modules."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "effbench"
# a stage may import the shared top-level modules (types, errors, schema, config, text, structured) and any stage of a lower layer
LAYERS = {
    "grading": 0,
    "tinymodel": 0,
    "demo": 1,
    "tasks": 1,
    "store": 1,
    "backends": 2,
    "analysis": 2,
    "run": 3,
    "report": 3,
    "trackers": 3,
    "imports": 4,
    "lmeval": 5,
    "cli": 6,
}
SHARED = {"types", "errors", "schema", "config", "text", "structured"}
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 400, 60


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def stage(path: Path) -> str | None:
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else None


def imported_stages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("effbench."):
            found.add(node.module.split(".")[1])
    return found


def test_each_stage_imports_only_the_stages_below_it():
    wrong = []
    for path in modules():
        own = stage(path)
        if own is None:
            continue
        for target in imported_stages(path) - SHARED - {own}:
            if target not in LAYERS or LAYERS[target] >= LAYERS[own]:
                wrong.append(f"{path.relative_to(PACKAGE)} imports effbench.{target}")
    assert not wrong, wrong


def test_shared_modules_import_no_stage_but_grading_s_leaves():
    for name in SHARED:
        stages = imported_stages(PACKAGE / f"{name}.py") - SHARED
        assert stages <= {"grading"}, (name, stages)  # the reasoning formats, which import nothing of effbench


def test_modules_and_functions_stay_small():
    too_long = []
    for path in modules():
        source = path.read_text(encoding="utf-8")
        if source.count("\n") > MAX_MODULE_LINES:
            too_long.append(f"{path.relative_to(PACKAGE)}: {source.count(chr(10))} lines")
        for node in ast.walk(ast.parse(source)):
            if (
                isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
            ):
                too_long.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name}")
    assert not too_long, too_long
