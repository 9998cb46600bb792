"""Leaderboard definitions (YAML; the literature's tables are shipped in `effbench/leaderboards/`, named by their file's
stem): a title, the tasks, and entries.

An entry is a stored effbench run (`run:` a run folder or its results.json, relative to the current
directory), a stored budget sweep (`sweep:` the folder `effbench sweep` made: drawn as a curve, its
largest budget in the tables), a checkpoint series (`series:` a list of `{run: PATH, step: INT}`, the
runs of one training run's checkpoints; a point's step may be left out when the run recorded it, with
`effbench eval step=...`, or its name holds it, like ckpt-200), or a published result (`reported:` per
task, accuracy in percent and mean tokens as the paper gives them, and its AES when it gives one). It may
name the entry it is measured against (`baseline:`), so that compression and AES are computed against the
right model.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from effbench.analysis.compare import AESWeights
from effbench.errors import ConfigError
from effbench.schema import Strict, first_problem
from effbench.structured import read_yaml

AVERAGE = "average"  # a paper's own average column


class Reported(Strict):
    """One published cell: accuracy in percent, and what else the paper gives beside it, as it gives it."""

    accuracy: float = Field(ge=0, le=100, description="percent, as published")
    mean_tokens: float | None = Field(None, ge=0, description="mean tokens per completion; absent where the paper gives none")
    aes: float | None = None
    acu: float | None = Field(None, ge=0, description="CoT-Valve's accuracy per computation unit, in its ×10² units")
    compression: float | None = Field(None, le=100, description="percent fewer tokens than the baseline, as published")
    runs: int | None = Field(None, ge=1, description="completions per problem that the published pass@1 is averaged over")
    problems: int | None = Field(None, ge=1, description="problems the cell is over")
    solved: int | None = Field(None, ge=0, description="problems solved, where the table gives the count")
    ock_score: float | None = Field(None, description="OckScore, as published")
    input_tokens: float | None = Field(None, ge=0, description="mean prompt tokens per completion")
    input_price: float | None = Field(None, ge=0, description="USD per million prompt tokens the table priced at")
    output_price: float | None = Field(None, ge=0, description="USD per million output tokens the table priced at")
    cost_usd: float | None = Field(None, ge=0, description="the table's cost of the whole cell (every problem and run), USD")
    note: str | None = Field(None, description="what the transcription found about this cell (a misprint, another unit)")


class SeriesPoint(Strict):
    """One checkpoint of a series: its stored run, and its training step where the run does not say it."""

    run: str = Field(min_length=1, description="a run folder or its results.json, relative to the current directory")
    step: int | None = Field(None, ge=0, description="training step (default: run.json's step, else the run's name)")


class Entry(Strict):
    name: str
    model: str
    method: str | None = None
    baseline: str | None = None
    run: str | None = None
    sweep: str | None = None
    series: list[SeriesPoint] | None = Field(None, min_length=1)
    reported: dict[str, Reported] | None = None
    citation: str | None = None
    parameters: float | None = Field(None, gt=0, description="billions, for ACU (measured runs count their own)")
    details: dict[str, str] = Field(default_factory=dict, description="the paper's other columns for the row, as printed")

    @model_validator(mode="after")
    def _one_source(self) -> Entry:
        if [self.run, self.sweep, self.series, self.reported].count(None) != 3:
            raise ValueError(
                f"entry {self.name}: give one of run: (a stored run), sweep: (a stored budget sweep), "
                "series: (stored runs of checkpoints, [{run: PATH, step: INT}, ...]) or reported: (published numbers)"
            )
        steps = [point.step for point in self.series or () if point.step is not None]
        repeated = [step for step, count in Counter(steps).items() if count > 1]
        if repeated:
            raise ValueError(f"entry {self.name}: series has step {repeated[0]} twice; each checkpoint needs a step of its own")
        return self


class Leaderboard(Strict):
    title: str
    citation: str | None = None
    url: str | None = None
    tasks: list[str]
    aes_weights: AESWeights = AESWeights()
    entries: list[Entry]

    @field_validator("url")
    @classmethod
    def _web_link(cls, value: str | None) -> str | None:
        if value is not None and not value.lower().startswith(("http://", "https://")):
            raise ValueError(f"url {value!r} is not an http or https link; only those are written into pages")
        return value

    @model_validator(mode="after")
    def _baselines_exist(self) -> Leaderboard:
        repeated = [name for name, count in Counter(e.name for e in self.entries).items() if count > 1]
        if repeated:
            raise ValueError(f"entry name {repeated[0]!r} is given twice; each entry needs a name of its own")
        names = {entry.name for entry in self.entries}
        for entry in self.entries:
            if entry.baseline is not None and entry.baseline not in names:
                raise ValueError(f"entry {entry.name}: baseline {entry.baseline!r} is not an entry of this leaderboard")
        return self

    def entry(self, name: str) -> Entry:
        return next(entry for entry in self.entries if entry.name == name)


SHIPPED = Path(__file__).resolve().parents[1] / "leaderboards"  # the literature's tables, shipped with effbench


def shipped_boards() -> list[str]:
    return sorted(path.stem for path in SHIPPED.glob("*.yaml"))


def board_path(name: str | Path) -> Path:
    """A leaderboard file, or the shipped leaderboard of that name (`effbench report o1_pruner`)."""
    path = Path(name)
    shipped = SHIPPED / f"{path.name}.yaml"
    return shipped if not path.exists() and not path.suffix and len(path.parts) == 1 and shipped.is_file() else path


def is_board(name: str) -> bool:
    return name.endswith((".yaml", ".yml")) or board_path(name).parent == SHIPPED


def load_leaderboard(path: str | Path) -> Leaderboard:
    path = board_path(path)
    try:
        data = read_yaml(path)
        return Leaderboard.model_validate(data)
    except OSError as exc:
        raise ConfigError(f"{path} cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML ({str(exc).splitlines()[0]})") from None
    except ValidationError as exc:
        raise ConfigError(f"{path}: {first_problem(exc)}") from None
