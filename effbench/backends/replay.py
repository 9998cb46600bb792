"""Completions from a stored run: re-score, re-run metrics, or derive a run with a lower max_tokens, without a model.

A stored completion longer than the request's max_tokens is cut to its first max_tokens tokens
(decoded with the stored run's tokenizer), as a run capped there would have produced it: token for
token under greedy decoding; under sampling, a draw from the same distribution.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import Field

from effbench.backends.codec import Codec, TokenizerCodec, WordCodec, cut, load_codec
from effbench.errors import BackendError
from effbench.schema import Strict
from effbench.store.folder import RunStore
from effbench.store.records import RunRecord, TaskIdentity, read_run_record
from effbench.types import Completion, EngineUse, Request


class Options(Strict):
    replay_from: Path = Field(description="run folder whose stored completions are replayed")
    tokenizer: str | None = Field(
        None, description="the stored run's tokenizer (path or hub name), where the one its record names is not at hand"
    )


def create(config, options: Options) -> ReplayBackend:
    return ReplayBackend(options.replay_from, load_codec(options.tokenizer) if options.tokenizer else None)


class ReplayBackend:
    def __init__(self, folder: Path, codec: Codec | None = None):
        if not (folder / "run.json").is_file():
            raise BackendError(f"replay_from={folder} is not a run folder (no run.json)")
        self.store = RunStore(folder)
        self._codec = codec
        self._cache: dict[str, dict[str, tuple[Completion, ...]]] = {}
        self._run_info: RunRecord | None = None
        self._codec_missing = False

    def codec_for(self, completion: Completion) -> Codec | None:
        """The stored run's tokenizer; None where it cannot be loaded here (positions then stay in characters)."""
        if completion.token_ids is None or self._codec_missing:
            return None
        try:
            return self._codec or self._load_codec(completion)
        except BackendError:
            self._codec_missing = True
            return None

    def describe(self) -> dict[str, Any]:
        return {
            "engine": "replay",
            "replay_from": str(self.store.folder),
            "longer_completions": "cut at max_tokens: token for token under greedy decoding, "
            "the same distribution under sampling",
        }

    def engines(self) -> tuple[EngineUse, ...]:
        return ()  # nothing is generated

    def generate(self, requests: Sequence[Request]) -> Iterator[tuple[Request, list[Completion]]]:
        for request in requests:
            stored = self._stored(request.task)
            if request.sample_id not in stored:
                raise BackendError(
                    f"{self.store.folder} has no stored completions for {request.task} sample {request.sample_id!r}"
                )
            completions = stored[request.sample_id]
            if len(completions) < request.sampling.n:
                raise BackendError(
                    f"{self.store.folder} holds {len(completions)} completions per sample, asked for n={request.sampling.n}"
                )
            yield request, [self._cut(self._recounted(c, request), request) for c in completions[: request.sampling.n]]

    def _recounted(self, completion: Completion, request: Request) -> Completion:
        """The completion's reasoning tokens counted again when it is replayed under another reasoning format."""
        if request.reasoning.name == self._format(request.task) or completion.token_ids is None:
            return completion
        codec = self._codec or self._load_codec(completion)
        return replace(
            completion, reasoning_tokens=codec.reasoning_tokens(completion.token_ids, completion.text, request.reasoning)
        )

    def _format(self, task: str) -> str:
        info = self._info().tasks.get(task)
        return info.reasoning if info else "think"

    def _info(self) -> RunRecord:
        if self._run_info is None:
            self._run_info = read_run_record(self.store.run_file)
        return self._run_info

    def _cut(self, completion: Completion, request: Request) -> Completion:
        max_tokens = request.sampling.max_tokens
        stored_cap = self._info().identity.tasks.get(request.task, TaskIdentity()).sampling.get("max_tokens")
        if completion.tokens is None and isinstance(stored_cap, int) and max_tokens >= stored_cap:
            return completion  # nothing to cut: the cap is the one it was made (or imported) with
        if completion.counted_tokens <= max_tokens:
            return completion
        try:
            return cut(completion, max_tokens, self._codec or self._load_codec(completion), request.reasoning)
        except ValueError as exc:
            raise BackendError(
                f"{self.store.folder}: a stored completion of {completion.tokens} tokens cannot be cut to "
                f"max_tokens={max_tokens}: {exc}"
            ) from None

    def _load_codec(self, completion: Completion) -> Codec:
        if completion.token_count_source == "words":
            self._codec = WordCodec()
        else:
            info = self._info()
            options = info.backend_options
            model = options.get("tokenizer") or info.model  # an import names the tokenizer that counted it
            try:
                self._codec = TokenizerCodec.load(model, options.get("revision"), options.get("trust_remote_code", False))
            except Exception as exc:
                raise BackendError(
                    f"the tokenizer of {model} (needed to count stored completions) could not be loaded: "
                    f"{str(exc).splitlines()[0][:200]}; give it with tokenizer=PATH"
                ) from None
        return self._codec

    def _stored(self, task: str) -> dict[str, tuple[Completion, ...]]:
        if task not in self._cache:
            self._cache[task] = {s.sample.id: s.completions for s in self.store.read_samples(task)}
        return self._cache[task]

    def close(self) -> None:
        self._cache.clear()
