"""Completions from a stored run: re-score, or re-run metrics, without a model."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from effbench.errors import BackendError
from effbench.store import RunStore
from effbench.types import Completion, Request


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    replay_from: Path = Field(description="run folder whose stored completions are replayed")


def create(config, options: Options) -> ReplayBackend:
    return ReplayBackend(options.replay_from)


class ReplayBackend:
    def __init__(self, folder: Path):
        if not (folder / "run.json").is_file():
            raise BackendError(f"replay_from={folder} is not a run folder (no run.json)")
        self.store = RunStore(folder)
        self._cache: dict[str, dict[str, tuple[Completion, ...]]] = {}

    def describe(self) -> dict[str, Any]:
        return {"engine": "replay", "replay_from": str(self.store.folder)}

    def generate(self, requests: Sequence[Request]) -> Iterator[tuple[Request, list[Completion]]]:
        for request in requests:
            stored = self._stored(request.task)
            if request.sample_id not in stored:
                raise BackendError(f"{self.store.folder} has no stored completions for {request.task} sample {request.sample_id!r}")
            completions = stored[request.sample_id]
            if len(completions) < request.sampling.n:
                raise BackendError(f"{self.store.folder} holds {len(completions)} completions per sample, asked for n={request.sampling.n}")
            yield request, list(completions[: request.sampling.n])

    def _stored(self, task: str) -> dict[str, tuple[Completion, ...]]:
        if task not in self._cache:
            self._cache[task] = {s.sample.id: s.completions for s in self.store.read_samples(task)}
        return self._cache[task]

    def close(self) -> None:
        self._cache.clear()
