"""`effbench sweep`: one model over token budgets, each budget an ordinary run, grouped in one sweep folder.

    runs/<name>/sweep.json                 the budgets, the mode, and how each budget's run was made
    runs/<name>/<name>-b<budget>/          one ordinary run per budget (compare, gate, report, load_runs read it)
    runs/<name>/<name>-generated/          mode=force, derived: the one generation at the largest budget

`mode=truncate` grades what was written within the budget; `mode=force` ends and answers what
reached it (budget forcing, `forcing.py`). With `derive=true` (the default) the model generates once,
at the largest budget, and the other budgets come from the stored token ids: a truncated completion
is the first <budget> tokens of the long one, and a forced one continues from that prefix. Under
greedy decoding that equals a separate run token for token, because the tokens before a cap do not
depend on it; under sampling each cut is a draw from the same distribution as a separate run's, the
budgets sharing their draws. `derive=false` generates every budget separately.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from effbench.backends import Backend, backend_module
from effbench.backends.codec import Codec
from effbench.backends.forcing import ForcingBackend, require_continuation
from effbench.backends.replay import ReplayBackend
from effbench.config import EvalConfig
from effbench.errors import ConfigError, StoreError
from effbench.run.evaluate import Outcome, Progress, evaluate
from effbench.schema import Strict
from effbench.store.folder import RunStore
from effbench.store.lock import RunLock
from effbench.store.records import SweepRecord, read_sweep_record, write_record
from effbench.store.runs import SWEEP_FILE
from effbench.tasks.methods import forcing
from effbench.types import Completion, EngineUse, Request

MODES = ("truncate", "force")
DERIVATION = {
    True: "derived: generated once at the largest budget, the other budgets cut from the stored token ids "
    "(token for token under greedy decoding; the same distribution under sampling, the budgets sharing their draws)",
    False: "generated: every budget generated separately",
}


@dataclass(frozen=True)
class SweepOutcome:
    folder: Path
    runs: dict[int, Outcome]


class SweepKeys(Strict):
    """`effbench sweep`'s own keys; every eval key applies too, but the one the sweep sets (max_tokens and force for
    budgets)."""

    budgets: tuple[int, ...] | None = Field(None, description="comma-separated token budgets, at least two: 256,512,1024")
    over: str | None = Field(None, description="sweep any eval key instead: reasoning_effort, enable_thinking, system, method, …")
    values: str | None = Field(None, description="the values of over=KEY, comma-separated: low,medium,high")
    values_file: Path | None = Field(None, description="the values of over=KEY from a file: a YAML list, or one a line")
    mode: Literal["truncate", "force"] = Field(
        "truncate",
        description="truncate: grade what was written within the "
        "budget; force: end the reasoning there, append force_cue, let the model answer",
    )
    derive: bool = Field(True, description="generate once, at the largest budget, and cut the others from the stored token ids")

    @field_validator("budgets", mode="before")
    @classmethod
    def _budgets(cls, value: Any) -> tuple[int, ...] | None:
        try:
            return None if value is None else parse_budgets(value)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None

    @model_validator(mode="after")
    def _one_kind(self) -> SweepKeys:
        if (self.budgets is None) == (self.over is None):
            raise ValueError("a sweep goes over budgets=256,512,1024 or over=KEY values=A,B,C: give one")
        if self.over is None and (self.values is not None or self.values_file is not None):
            raise ValueError("values= and values_file= go with over=KEY")
        return self


def parse_budgets(text: str) -> tuple[int, ...]:
    try:
        budgets = [int(part) for part in str(text).split(",") if part.strip()]
    except ValueError:
        raise ConfigError(f"budgets={text} must be comma-separated token counts, e.g. budgets=256,512,1024") from None
    if len(budgets) < 2 or min(budgets) < 1 or len(set(budgets)) != len(budgets):
        raise ConfigError(f"budgets={text} must name at least two different positive token counts, e.g. budgets=256,512,1024")
    return tuple(sorted(budgets))


def sweep(
    config: EvalConfig,
    options: BaseModel,
    budgets: tuple[int, ...],
    *,
    mode: str = "truncate",
    derive: bool = True,
    progress: Progress | None = None,
) -> SweepOutcome:
    """Evaluate `config` once per budget (its max_tokens), resuming whatever the sweep folder holds."""
    if mode not in MODES:
        raise ConfigError(f"mode={mode} is not one of {', '.join(MODES)}")
    if config.max_tokens is not None or forcing(config):
        raise ConfigError("a sweep sets max_tokens from budgets= and force from mode=: drop max_tokens= and force=")
    if mode == "force":
        require_continuation(config.backend)
    folder = RunStore.open(config.out, config.name or f"{config.run_name}-{mode}").folder
    with RunLock(folder):  # one sweep per folder; each budget's run is locked again by evaluate
        return _sweep(folder, config, options, budgets, mode, derive, progress)


def _sweep(
    folder: Path,
    config: EvalConfig,
    options: BaseModel,
    budgets: tuple[int, ...],
    mode: str,
    derive: bool,
    progress: Progress | None,
) -> SweepOutcome:
    record = _record(folder, config, budgets, mode, derive)
    engine = LazyBackend(lambda: backend_module(config.backend).create(config, options))
    runs: dict[int, Outcome] = {}

    def finished(budget: int, outcome: Outcome) -> None:  # recorded at once: an interrupted sweep resumes with its settings
        nonlocal record
        runs[budget] = outcome
        record = record.model_copy(update={"runs": {**record.runs, str(budget): outcome.folder.name}})
        write_record(folder / SWEEP_FILE, record)

    try:
        source = None
        if derive:
            name = f"{folder.name}-b{budgets[-1]}" if mode == "truncate" else f"{folder.name}-generated"
            source = _evaluate(config, options, folder, name, budgets[-1], False, engine, progress)
        replay = ReplayBackend(source.folder) if source is not None else None  # one for every budget: one read, one tokenizer
        for budget in budgets:
            if mode == "truncate" and source is not None and budget == budgets[-1]:
                finished(budget, source)
                continue
            generator: Backend = replay or engine
            if mode == "force":
                generator = ForcingBackend(generator, engine, cue=config.force_cue, answer_tokens=config.force_tokens)
            finished(
                budget,
                _evaluate(config, options, folder, f"{folder.name}-b{budget}", budget, mode == "force", generator, progress),
            )
    finally:
        engine.close()
    return SweepOutcome(folder, runs)


def _evaluate(
    config: EvalConfig,
    options: BaseModel,
    folder: Path,
    name: str,
    budget: int,
    force: bool,
    backend: Backend,
    progress: Progress | None,
) -> Outcome:
    budget_config = config.model_copy(update={"out": folder, "name": name, "max_tokens": budget, "force": force})
    return evaluate(budget_config, options, progress=progress, backend=backend)


def _record(folder: Path, config: EvalConfig, budgets: tuple[int, ...], mode: str, derive: bool) -> SweepRecord:
    """sweep.json's content; a sweep folder made with another mode, derivation or largest budget is refused."""
    wanted = SweepRecord(
        model=config.model,
        tasks=list(config.tasks),
        mode=mode,
        derive=derive,
        how=DERIVATION[derive],
        force={"cue": config.force_cue, "tokens": config.force_tokens} if mode == "force" else None,
        budgets=list(budgets),
    )
    if not (folder / SWEEP_FILE).exists():
        return wanted
    stored = read_sweep_record(folder / SWEEP_FILE)
    for key in ("mode", "derive", "force"):
        if getattr(stored, key) != getattr(wanted, key):
            raise StoreError(
                f"sweep {folder} was made with {key}={getattr(stored, key)}, this command has "
                f"{getattr(wanted, key)}; choose another name= or delete that folder"
            )
    if derive and max(stored.budgets) != budgets[-1]:
        raise StoreError(
            f"sweep {folder} derives its budgets from one generation at {max(stored.budgets)} tokens; "
            f"keep that largest budget, or choose another name= for a sweep up to {budgets[-1]}"
        )
    return stored.model_copy(
        update={"tasks": sorted(set(stored.tasks) | set(config.tasks)), "budgets": sorted(set(stored.budgets) | set(budgets))}
    )


class LazyBackend:
    """Opens the backend on first use, so that a sweep whose budgets are all stored starts no engine."""

    def __init__(self, open_backend: Callable[[], Backend]):
        self._open = open_backend
        self._backend: Backend | None = None

    @property
    def backend(self) -> Any:
        if self._backend is None:
            self._backend = self._open()
        return self._backend

    @property
    def codec(self) -> Any:
        return self.backend.codec

    def codec_for(self, completion: Completion) -> Codec | None:
        return self.backend.codec_for(completion)

    def generate(self, requests):
        return self.backend.generate(requests)

    def prompt_text(self, request: Request) -> str:
        return self.backend.prompt_text(request)

    def describe(self) -> dict[str, Any]:
        return self.backend.describe()

    def engines(self) -> tuple[EngineUse, ...]:
        return self._backend.engines() if self._backend is not None else ()

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()
