"""`effbench sweep over=KEY values=A,B,C`: one ordinary run per value of any eval key, grouped in one sweep folder.

    runs/<name>/sweep.json               the key, its values, and the run of each finished value
    runs/<name>/<name>-<value>/          one ordinary run per value (compare, gate, report, load_runs read it)

`reasoning_effort`, `enable_thinking`, `system`, `method`, a sampling setting or a backend's option: each value
is the same command with that key set, resumed like any run. Where the key does not change how the engine or the
server's client starts (a method, a system prompt, a sampling setting), one engine serves every value.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from effbench.backends import Backend, backend_module
from effbench.backends.forcing import ForcingBackend, require_continuation
from effbench.config import EvalConfig
from effbench.errors import ConfigError, StoreError
from effbench.run.configure import EXTRA, eval_config
from effbench.run.evaluate import Outcome, Progress, evaluate
from effbench.run.sweep import LazyBackend
from effbench.store.folder import RunStore
from effbench.store.lock import RunLock
from effbench.store.records import SweepRecord, read_sweep_record, write_record
from effbench.store.runs import SWEEP_FILE
from effbench.structured import load_yaml
from effbench.tasks.methods import forcing

STARTS_ENGINE = {"model", "backend", "enable_thinking", "reasoning_effort"}  # given to the engine or client at its start
NOT_SWEPT = {"name", "out", "config"}
PLAIN_VALUE = re.compile(r"^[A-Za-z0-9._-]{1,40}$")


@dataclass(frozen=True)
class KeySweepOutcome:
    folder: Path
    runs: dict[str, Outcome]  # by value


def sweep_values(values: str | None, values_file: Path | None) -> tuple[str, ...]:
    """The values to sweep: comma-separated, or a file's (a YAML list, else one a line), at least two different."""
    if (values is None) == (values_file is None):
        raise ConfigError("a sweep over a key takes values=A,B,C or values_file=FILE (one value a line), not both")
    if values_file is not None:
        try:
            text = values_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            raise ConfigError(f"values_file {values_file} cannot be read") from None
        try:
            listed = load_yaml(text)
        except yaml.YAMLError:
            listed = None
        found = [str(v) for v in listed] if isinstance(listed, list) else [line for line in text.splitlines() if line.strip()]
    else:
        found = [part.strip() for part in str(values).split(",") if part.strip()]
    if len(found) < 2 or len(set(found)) != len(found):
        raise ConfigError("a sweep needs at least two different values of its key")
    return tuple(found)


def sweep_over(words: dict[str, Any], key: str, values: tuple[str, ...], *, progress: Progress | None = None) -> KeySweepOutcome:
    """Evaluate the command once per value of `key`, resuming whatever the sweep folder holds."""
    base, options = eval_config(words)
    known = key in EvalConfig.model_fields or key in backend_module(base.backend).Options.model_fields or key.startswith(EXTRA)
    if key in NOT_SWEPT or not known:
        raise ConfigError(f"over={key} is not a key a sweep can go over; run effbench eval --help to see the keys")
    if key in words:
        raise ConfigError(f"over={key} sets {key} from values=: drop {key}=")
    made = {value: eval_config({**words, key: value}) for value in values}  # each value checked before anything runs
    folder = RunStore.open(base.out, base.name or f"{base.run_name}-{key.replace('.', '-')}").folder
    with RunLock(folder):  # one sweep per folder; each value's run is locked again by evaluate
        record = _record(folder, base, key, values)
        shared = key in EvalConfig.model_fields and key not in STARTS_ENGINE
        engine = LazyBackend(lambda: backend_module(base.backend).create(base, options)) if shared else None
        runs: dict[str, Outcome] = {}
        try:
            for value in values:
                config, value_options = made[value]
                name = record.runs.get(value) or run_name(folder.name, value)
                config = config.model_copy(update={"out": folder, "name": name})
                runs[value] = evaluate(config, value_options, progress=progress, backend=_backend(engine, config))
                record = record.model_copy(update={"runs": {**record.runs, value: name}})
                write_record(folder / SWEEP_FILE, record)
        finally:
            if engine is not None:
                engine.close()
    return KeySweepOutcome(folder, runs)


def _backend(engine: LazyBackend | None, config: EvalConfig) -> Backend | None:
    """The shared engine for this value's run (wrapped in budget forcing where the value asks for it); None where the
    run opens its own."""
    if engine is None or not forcing(config):
        return engine
    require_continuation(config.backend)
    return ForcingBackend(engine, engine, cue=config.force_cue, answer_tokens=config.force_tokens)


def run_name(sweep: str, value: str) -> str:
    """The value's run folder: `<sweep>-<value>` for a plain value, else `<sweep>-v<hash of the value>`."""
    part = value if PLAIN_VALUE.match(value) else "v" + hashlib.sha256(value.encode()).hexdigest()[:8]
    return f"{sweep}-{part}"[:128]


def _record(folder: Path, config: EvalConfig, key: str, values: tuple[str, ...]) -> SweepRecord:
    """sweep.json's content; a sweep folder made over another key (or over budgets) is refused."""
    wanted = SweepRecord(
        model=config.model,
        tasks=list(config.tasks),
        mode="over",
        derive=False,
        how=f"generated: one run per value of {key}",
        over=key,
        values=list(values),
    )
    if not (folder / SWEEP_FILE).exists():
        return wanted
    stored = read_sweep_record(folder / SWEEP_FILE)
    if stored.over != key:
        made = f"over={stored.over}" if stored.over else "over token budgets"
        raise StoreError(f"sweep {folder} was made {made}; choose another name= or delete that folder")
    return stored.model_copy(
        update={
            "tasks": sorted(set(stored.tasks) | set(config.tasks)),
            "values": [*stored.values, *(v for v in values if v not in stored.values)],
        }
    )
