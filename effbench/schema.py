"""The base of effbench's schemas (task, leaderboard and gate files; every command's keys): strict, and one line per problem."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, ValidationError


class Strict(BaseModel):
    """Unknown keys are errors, numbers are finite (no `inf`, no `nan`), values are frozen: every file schema and every
    command's keys."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def first_problem(exc: ValidationError) -> str:
    """The validation problem to show: a misspelled key first, since it explains the others."""
    error = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")[0]
    where = ".".join(str(p) for p in error["loc"])
    kind = "unknown key" if error["type"] == "extra_forbidden" else error["msg"].removeprefix("Value error, ")
    return f"{where}: {kind}" if where else kind
