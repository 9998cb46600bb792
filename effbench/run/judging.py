"""The judge cascade: after the rules, a model is asked about the completions they could not settle.

Off unless a judge is named: `judge_base_url=` and `judge_model=` (any OpenAI-compatible server, `vllm serve`
included) or `judge=vllm:MODEL` (the offline engine). Only completions whose rule verdict is `no_answer`, or whose
answer could not be parsed and compared, reach it; each at most once, ever: its verdict is stored under a key of the
judge, the prompt's hash and what it saw, and a stored verdict is never asked for again (a killed pass resumes).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from effbench.config import JudgeKeys
from effbench.errors import ConfigError
from effbench.grading.judge_prompt import judge_messages, judgement_key, prompt_hash, read_verdict
from effbench.grading.reasoning import ReasoningFormat
from effbench.store.judgements import as_line, judgement_appender, read_judgements
from effbench.types import Answer, Completion, Judgement, Request, Sampling, Scored, Skipped

if TYPE_CHECKING:
    from effbench.backends import Backend


@dataclass(frozen=True)
class Judge:
    """A named judge: its model, and the server it is on (None: the offline engine)."""

    model: str
    base_url: str | None
    max_tokens: int
    api_key_env: str

    @classmethod
    def of(cls, keys: JudgeKeys) -> Judge | None:
        if keys.judge:
            return cls(keys.judge[5:].strip(), None, keys.judge_max_tokens, keys.judge_api_key_env)
        if keys.judge_model and keys.judge_base_url:
            return cls(keys.judge_model, keys.judge_base_url, keys.judge_max_tokens, keys.judge_api_key_env)
        return None

    def open(self, folder: Path) -> Backend:
        """The judge's backend; the offline engine writes its start-up output to `judge-engine.log` in `folder`."""
        if self.base_url is None:
            from effbench.backends import vllm

            engine = vllm.Options(enforce_eager=True)  # replies of a few tokens: compiling would take longer than judging
            return vllm.VLLMBackend(self.model, engine, log=folder / "judge-engine.log")
        from effbench.backends import openai

        options = openai.Options(base_url=self.base_url, api_key_env=self.api_key_env, stream=False, request_timeout=600)
        return openai.OpenAIBackend(self.model, options)


@dataclass(frozen=True)
class Question:
    """One completion the rules could not settle, as the judge is asked about it."""

    sample_id: str
    completion: int
    key: str
    problem: str
    gold: str
    response: str

    @property
    def messages(self) -> tuple[dict[str, str], ...]:
        return tuple(judge_messages(self.problem, self.gold, self.response))


Reading = tuple[Iterable[Scored], ReasoningFormat]  # a task's stored samples, and its reasoning format
Verdicts = dict[tuple[str, int], str]  # the judge's verdict by (sample id, completion index)


def judge_tasks(judge: Judge, folder: Path, tasks: Mapping[str, Reading], reuse: Path | None = None) -> dict[str, Verdicts]:
    """The judge's verdict on every completion of each task that the rules could not settle. Stored verdicts are read
    back; verdicts stored in `reuse` (the run a rescore grades again) are copied; the judge is asked about the rest,
    each verdict appended to the task's judge file as it arrives. The backend is opened only when there are some."""
    backend: Backend | None = None
    found: dict[str, Verdicts] = {}
    try:
        for task, (scored, reasoning) in tasks.items():
            known = read_judgements(folder, task)
            earlier = read_judgements(reuse, task) if reuse else {}
            asking = list(unsettled(judge, scored, reasoning))
            verdicts = found[task] = {(q.sample_id, q.completion): known[q.key].verdict for q in asking if q.key in known}
            with judgement_appender(folder, task) as out:
                for q in [q for q in asking if q.key not in known and q.key in earlier]:
                    out.append(as_line(replace(earlier[q.key], sample_id=q.sample_id, completion=q.completion)))
                    verdicts[(q.sample_id, q.completion)] = earlier[q.key].verdict
                fresh = [q for q in asking if q.key not in known and q.key not in earlier]
                if fresh:
                    backend = backend or judge.open(folder)
                    for judgement in ask(judge, backend, task, fresh):
                        out.append(as_line(judgement))
                        verdicts[(judgement.sample_id, judgement.completion)] = judgement.verdict
    finally:
        if backend is not None:
            backend.close()
    return found


def unsettled(judge: Judge, scored: Iterable[Scored], reasoning: ReasoningFormat) -> Iterator[Question]:
    """The completions the rules could not settle, each under the key of what the judge is shown of it."""
    for item in scored:
        for index, (completion, grade) in enumerate(zip(item.completions, item.grades, strict=True)):
            if grade.for_a_judge:
                response = response_of(completion, reasoning)
                key = judgement_key(judge.model, item.sample.question, item.sample.gold, response)
                yield Question(item.sample.id, index, key, item.sample.question, item.sample.gold, response)


def response_of(completion: Completion, reasoning: ReasoningFormat) -> str:
    """What the judge is shown of a completion: its answer part (the whole text where the reasoning never closed)."""
    split = reasoning.split(completion.text, completion.reasoning)
    return split.answer if split.answer is not None else completion.text


def ask(judge: Judge, backend: Backend, task: str, asked: list[Question]) -> Iterator[Judgement]:
    """The judge's verdict on each question, as its replies arrive."""
    by_id = {f"{q.sample_id}#{q.completion}": q for q in asked}
    sampling = Sampling(n=1, temperature=0.0, top_p=1.0, top_k=-1, max_tokens=judge.max_tokens)
    requests = [Request(task, name, q.messages, sampling, seed=0) for name, q in by_id.items()]
    for request, completions in backend.generate(requests):
        q, reply = by_id[request.sample_id], _reply(completions)
        yield Judgement(q.sample_id, q.completion, q.key, judge.model, prompt_hash(), read_verdict(reply), reply)


def _reply(completions: Answer) -> str:
    if isinstance(completions, Skipped):
        return completions.reason  # read as unclear: the judge could not be asked
    if not completions:
        raise ConfigError("the judge returned no reply; check judge_model= and its server")
    return completions[0].text
