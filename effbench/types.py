"""The values that cross module borders. All frozen: each phase makes new ones, none mutates."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from effbench.errors import DataError
from effbench.grading.reasoning import THINK, ReasoningFormat

Message = dict[str, str]
Prompt = str | tuple[Message, ...]
Verdict = Literal["correct", "wrong", "no_answer", "unfinished", "timeout", "error"]


@dataclass(frozen=True)
class Sample:
    """One problem of a task, with its gold answer and the fields results are broken down by."""

    id: str
    question: str
    gold: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Sampling:
    """Generation parameters, resolved from the task's defaults and the command line."""

    n: int
    temperature: float
    top_p: float
    top_k: int
    max_tokens: int


@dataclass(frozen=True)
class Request:
    """What a backend generates for: one sample's rendered prompt, n completions.

    `seed` is derived from the run's seed and the sample id, so a sample's completions do not
    depend on which other samples share its batch (and a resumed run equals a fresh one).
    """

    task: str
    sample_id: str
    prompt: Prompt
    sampling: Sampling
    seed: int
    continue_after: tuple[int, ...] = ()  # token ids that follow the rendered prompt: a completion to continue
    reasoning: ReasoningFormat = THINK  # where the completion's reasoning ends: its reasoning tokens are counted to there
    prefill: str = ""  # the assistant's first words, written after the prompt (a method's): the completion follows them

    def prefill_after(self, text: str) -> str:
        """The prefill as written after `text`, the prompt as the model reads it: a chat template that opens the thinking
        itself (`<think>` in its generation prompt) is not given a second opening marker."""
        for marker in self.reasoning.opens:
            if self.prefill.startswith(marker) and self.reasoning.is_open(text):
                return self.prefill[len(marker) :].lstrip("\n")
        return self.prefill

    @property
    def prefill_closes_reasoning(self) -> bool:
        """The prefill closed the reasoning (nothinking): what follows it is all answer, and it thought 0 tokens."""
        return bool(self.prefill) and self.reasoning.reasoning_end(self.prefill) is not None


@dataclass(frozen=True)
class Timing:
    """How long a user waited for a completion, in seconds from its request: the whole of it, its first token, and its
    first answer token (the first after the end of its reasoning). `estimated`: the first answer token's time was
    placed by its token position between the first and the last token's, not seen arrive."""

    wall_s: float
    first_token_s: float | None = None
    first_answer_s: float | None = None
    estimated: bool = False

    @classmethod
    def spread(cls, wall_s: float, first_token_s: float | None, tokens: int, reasoning_tokens: int | None) -> Timing:
        """The first answer token placed by its position, with the tokens after the first arriving at an even pace."""
        if first_token_s is None or reasoning_tokens is None or tokens <= 1:
            return cls(round(wall_s, 4), None if first_token_s is None else round(first_token_s, 4))
        answer_at = min(reasoning_tokens, tokens - 1)  # the token after the reasoning's last
        pace = (wall_s - first_token_s) / (tokens - 1)
        return cls(round(wall_s, 4), round(first_token_s, 4), round(first_token_s + pace * answer_at, 4), estimated=True)


@dataclass(frozen=True)
class Completion:
    """One generated completion. `tokens` counts completion tokens (None where nothing counted them: an import
    without counts or a tokenizer); `reasoning_tokens` those up to the end of its reasoning."""

    text: str
    tokens: int | None
    finish_reason: str
    token_ids: tuple[int, ...] | None = None
    reasoning_tokens: int | None = None
    reasoning: str | None = None
    token_count_source: str = "token_ids"
    forced: dict[str, Any] | None = None  # budget forcing: where the ending was inserted, its text and its tokens
    reasoning_count_source: str | None = None  # where reasoning_tokens came from, where not as `tokens`: usage, token_ids
    prompt_tokens: int | None = None  # the prompt tokens billed for it: its request's, on the first completion of a request
    cached_tokens: int | None = None  # of those, the ones read from a cache (billed at the cached-input price)
    timing: Timing | None = None

    @property
    def reasoning_hidden(self) -> bool:
        """Its reasoning was counted by the server and never shown: an API that bills thinking it does not return."""
        return self.reasoning_count_source == "usage" and bool(self.reasoning_tokens) and not self.reasoning

    @property
    def counted_tokens(self) -> int:
        """`tokens` where a count is needed (to cut or to force a completion): one that was never counted is refused."""
        if self.tokens is None:
            raise DataError(
                "a stored completion's tokens were not counted (it was imported without tokens= or tokenizer=); "
                "import it again with tokenizer=NAME_OR_PATH"
            )
        return self.tokens

    def to_json(self, *, with_token_ids: bool = True) -> dict[str, Any]:
        data = asdict(self)
        data["token_ids"] = list(self.token_ids) if (with_token_ids and self.token_ids is not None) else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Completion:
        ids = data.get("token_ids")
        return cls(
            text=data["text"],
            tokens=data["tokens"],
            finish_reason=data["finish_reason"],
            token_ids=tuple(ids) if ids is not None else None,
            reasoning_tokens=data.get("reasoning_tokens"),
            reasoning=data.get("reasoning"),
            token_count_source=data.get("token_count_source", "token_ids"),
            forced=data.get("forced"),
            reasoning_count_source=data.get("reasoning_count_source"),
            prompt_tokens=data.get("prompt_tokens"),
            cached_tokens=data.get("cached_tokens"),
            timing=Timing(**data["timing"]) if data.get("timing") else None,
        )


@dataclass(frozen=True)
class EngineUse:
    """What one engine (a vLLM replica, a server endpoint) did: problems answered, tokens generated, and the seconds
    it had work in hand. Counted from a backend's start: the use in one invocation is the difference of two."""

    engine: str
    requests: int = 0
    tokens: int = 0
    busy_s: float = 0.0
    lost: str | None = None  # why it was taken out of the run, where it was

    @property
    def tokens_per_s(self) -> float | None:
        return self.tokens / self.busy_s if self.busy_s > 0 and self.tokens else None

    def since(self, before: EngineUse | None) -> EngineUse:
        """This use less an earlier reading of the same engine."""
        if before is None:
            return self
        return EngineUse(
            self.engine,
            self.requests - before.requests,
            self.tokens - before.tokens,
            round(self.busy_s - before.busy_s, 3),
            self.lost,
        )


@dataclass(frozen=True)
class Grade:
    """The decision on one completion: what was extracted, by which rule, and the verdict."""

    verdict: Verdict
    answer: str | None = None
    rule: str | None = None
    detail: str | None = None
    first_correct: float | None = None  # share of the text up to the end of the first correct answer it states
    first_correct_at: int | None = None  # those characters, of its reasoning and answer together
    first_correct_tokens: int | None = None  # the tokens up to there, where its token ids and a tokenizer were at hand
    answer_first_at: int | None = None  # characters up to the end of the first statement of the final answer
    answer_settled_at: int | None = None  # ... of the statement from which on the answer stated no longer changed
    answer_first_tokens: int | None = None  # those two positions in tokens, where token ids and a tokenizer were at hand
    answer_settled_tokens: int | None = None
    searched: bool = False  # its stated answers were searched, whatever its verdict (older runs searched correct ones only)
    unsettled: bool = False  # the rules could not settle it: no answer found, or one that could not be compared

    @property
    def for_a_judge(self) -> bool:
        """Whether a judge may be asked about it: the rules found no answer, or could not compare the one they found."""
        return self.verdict == "no_answer" or self.unsettled

    @property
    def correct(self) -> bool:
        return self.verdict == "correct"


@dataclass(frozen=True)
class Skipped:
    """A request a backend could not generate for, and why (a prompt longer than the model's context): the sample is
    recorded as excluded, with the reason, and the rest of the run goes on."""

    reason: str


Answer = list[Completion] | Skipped  # what a backend gives back for one request


@dataclass(frozen=True)
class Judgement:
    """A judge's verdict on one completion the rules could not settle: stored beside its rule verdict, never over it.
    `key` names what it answers (the judge, its prompt's version, the problem, reference and response it saw)."""

    sample_id: str
    completion: int  # its index among the sample's completions
    key: str
    model: str
    prompt: str  # the hash of the judge's prompt template
    verdict: str  # correct, wrong, no_answer (it found no final answer), unclear (its reply named no verdict)
    reply: str  # the judge's reply, its first 2,000 characters


@dataclass(frozen=True)
class Scored:
    """One sample after generation and grading: the unit written to `<task>.samples.jsonl`."""

    sample: Sample
    prompt: Prompt
    completions: tuple[Completion, ...]
    grades: tuple[Grade, ...]

    def to_json(self, *, with_token_ids: bool = True) -> dict[str, Any]:
        return {
            "id": self.sample.id,
            "question": self.sample.question,
            "gold": self.sample.gold,
            "metadata": self.sample.metadata,
            "prompt": self.prompt if isinstance(self.prompt, str) else list(self.prompt),
            "completions": [
                {**c.to_json(with_token_ids=with_token_ids), "grade": asdict(g)}
                for c, g in zip(self.completions, self.grades, strict=True)
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Scored:
        prompt = data["prompt"]
        return cls(
            sample=Sample(data["id"], data["question"], data["gold"], data.get("metadata") or {}),
            prompt=prompt if isinstance(prompt, str) else tuple(prompt),
            completions=tuple(Completion.from_json(c) for c in data["completions"]),
            grades=tuple(Grade(**c["grade"]) for c in data["completions"]),
        )
