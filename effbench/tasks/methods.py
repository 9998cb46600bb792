"""The inference-time ways to shorten reasoning that efficient-reasoning papers compare against, as named methods.

Each is the authors' own prompt or prefill, written from their paper and code, applied to a task's chat prompt:
an instruction before or after the task's own (whose answer format, such as \\boxed{}, is kept), text added to
the system message, or an assistant prefill written after the chat template's generation prompt. `method=` names
one; it is part of a run's identity, and the run's record keeps the exact texts it used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from effbench.config import EvalConfig
from effbench.errors import ConfigError
from effbench.grading.reasoning import ReasoningFormat
from effbench.types import Message, Prompt


@dataclass(frozen=True)
class Method:
    name: str
    what: str
    citation: str
    source: str  # where the text comes from
    before_user: str | None = None  # written before the task's user message, on a line of its own
    after_user: str | None = None  # written after it ({budget}: prompt_budget)
    system: str | None = None  # added to the system message (one is made where there is none)
    prefill: str | None = None  # the assistant's first words ({open}, {close}: the reasoning format's markers)
    forces: bool = False  # budget forcing (force=true): the completion that reaches max_tokens is ended and answered
    needs: tuple[str, ...] = ()  # chat, reasoning markers, prompt_budget

    def describe(self, reasoning: ReasoningFormat, budget: int | None) -> dict[str, Any]:
        """The method as this run applies it: its texts filled in, for the run's record."""
        texts = {
            "before_user": self.before_user,
            "after_user": self.after_user.format(budget="<prompt_budget>" if budget is None else budget)
            if self.after_user
            else None,
            "system": self.system,
            "prefill": self.prefill_text(reasoning),
        }
        return {"name": self.name, "citation": self.citation, "source": self.source, **{k: v for k, v in texts.items() if v}}

    def prefill_text(self, reasoning: ReasoningFormat) -> str | None:
        if self.prefill is None:
            return None
        return self.prefill.format(open=reasoning.opens[0], close=reasoning.closes[0])


NO_THINKING = "Okay, I think I have finished thinking."
METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method(
            "nothinking",
            "skips the thinking: the assistant's turn starts with a thinking block that is already closed",
            "Ma et al. 2025, Reasoning Models Can Be Effective Without Thinking, arXiv:2504.09858",
            "the paper's text between the thinking markers, written as the assistant's first words",
            prefill="{open}\n" + NO_THINKING + "\n{close}\n\n",
            needs=("chat", "reasoning markers"),
        ),
        Method(
            "chain_of_draft",
            "asks for a minimal draft of at most five words per thinking step",
            "Xu et al. 2025, Chain of Draft: Thinking Faster by Writing Less, arXiv:2502.18600",
            "the first sentence of its CoD prompt (sileix/chain-of-draft configs); the task's answer format replaces its ####",
            before_user="Think step by step, but only keep a minimum draft for each thinking step, with 5 words at most.",
            needs=("chat",),
        ),
        Method(
            "concise",
            "asks the model to be concise",
            "Renze and Guven 2024, The Benefits of a Concise Chain of Thought on Problem-Solving in Large Language "
            "Models, arXiv:2401.05618",
            "the sentence its concise agent adds to the system message (matthewrenze/jhu-concise-cot)",
            system="Be concise.",
            needs=("chat",),
        ),
        Method(
            "token_budget",
            "names a token budget in the prompt",
            "Han et al. 2024, Token-Budget-Aware LLM Reasoning (TALE), arXiv:2412.18547",
            "TALE's budgeted chain-of-thought line after the question (GeniusHTX/TALE, add_budget)",
            after_user="Let's think step by step and use less than {budget} tokens:",
            needs=("chat", "prompt_budget"),
        ),
        Method(
            "budget_forcing",
            "ends the thinking at max_tokens and has the model answer (force=true)",
            "Muennighoff et al. 2025, s1: Simple test-time scaling, arXiv:2501.19393",
            "s1's budget forcing: the closing marker and an answer cue at the budget (force_cue)",
            forces=True,
        ),
    )
}


def find_method(name: str | None, budget: int | None = None) -> Method | None:
    """The method named by `method=` (None for none); one line for an unknown name, or a budget no method names."""
    if name is not None and name not in METHODS:
        raise ConfigError(f"unknown method {name!r}; choose one of: {', '.join(METHODS)} (effbench methods lists them)")
    method = METHODS[name] if name is not None else None
    if budget is not None and (method is None or "prompt_budget" not in method.needs):
        raise ConfigError("prompt_budget= is the budget method=token_budget names in the prompt: give method=token_budget")
    return method


def forcing(config: EvalConfig) -> bool:
    """Budget forcing, asked for by force=true or by a method that forces (budget_forcing)."""
    method = find_method(config.method)
    return config.force or (method is not None and method.forces)


def check_method(method: Method, *, prompt: str, reasoning: ReasoningFormat, budget: int | None) -> None:
    """One line where the run lacks what the method needs."""
    if "chat" in method.needs and prompt != "chat":
        raise ConfigError(f"method={method.name} changes a chat prompt: use prompt=chat")
    if "reasoning markers" in method.needs and not (reasoning.opens and reasoning.closes):
        raise ConfigError(f"method={method.name} closes the thinking with its markers: give a reasoning= format that has them")
    if "prompt_budget" in method.needs and budget is None:
        raise ConfigError(f"method={method.name} names a token budget in the prompt: give prompt_budget=N")


def apply_method(method: Method, prompt: Prompt, budget: int | None) -> Prompt:
    """The task's chat prompt with the method's instruction and system text."""
    if isinstance(prompt, str):
        return prompt
    messages: list[Message] = list(prompt)
    users = [i for i, m in enumerate(messages) if m["role"] == "user"]
    if method.before_user and users:
        first = users[0]
        messages[first] = {**messages[first], "content": f"{method.before_user}\n{messages[first]['content']}"}
    if method.after_user and users:
        last = users[-1]
        line = method.after_user.format(budget=budget)
        messages[last] = {**messages[last], "content": f"{messages[last]['content']}\n{line}"}
    if method.system:
        systems = [i for i, m in enumerate(messages) if m["role"] == "system"]
        if systems:
            at = systems[0]
            messages[at] = {**messages[at], "content": f"{messages[at]['content']}\n{method.system}"}
        else:
            messages.insert(0, {"role": "system", "content": method.system})
    return tuple(messages)
