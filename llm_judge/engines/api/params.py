"""Which request parameters a model takes: one table of rules by provider and model name.

The provider modules build one body for every model (FastChat's settings: temperature, max tokens, stop
strings); the rules that match the engine's provider, model name and options are then applied to it just
before it is sent. Reasoning models refuse what others take (OpenAI's o-series and GPT-5 answer HTTP 400
to a temperature other than 1, to top_p and to stop), and their own settings have their own constraints
(Anthropic's extended thinking needs the default temperature and max_tokens above its budget). Adding a
model family is adding a row here, never an ``if`` in a call site.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from ...errors import ConfigError
from ..config import APIOptions

OPENAI_SERVICES = ("openai", "azure")  # api.openai.com and Azure OpenAI serve the same models
CLAUDE_SERVICES = ("anthropic", "bedrock", "vertex")
# o1, o3, o4-mini, gpt-5, gpt-5-mini ...; not gpt-5-chat-latest (the non-reasoning chat model)
OPENAI_REASONING = r"^(o1|o3|o4|gpt-5(?!-chat))"
# What OpenAI's reasoning models refuse: sampling settings and stop sequences.
OPENAI_REFUSED = ("temperature", "top_p", "stop", "presence_penalty", "frequency_penalty", "logit_bias")
MIN_THINKING_BUDGET = 1024  # Anthropic's minimum budget_tokens
# An option's flag, for messages
FLAGS = {"reasoning_effort": "--reasoning-effort", "thinking_budget": "--thinking-budget"}

Fields = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass(frozen=True)
class Rule:
    """What to change in the body sent to a model of ``providers`` whose name matches ``model`` (None: any)
    when ``option`` (an APIOptions field) is set (None: always)."""

    providers: tuple[str, ...]
    why: str
    model: str | None = None
    option: str | None = None
    drop: tuple[str, ...] = ()  # fields the model refuses
    rename: tuple[tuple[str, str], ...] = ()  # (old, new) field names
    roles: tuple[tuple[str, str], ...] = ()  # (old, new) message roles
    add: Fields | None = None  # fields to set, from (the body, the option's value)

    def applies(self, provider: str, model: str, options: APIOptions) -> bool:
        return (provider in self.providers and (self.model is None or re.match(self.model, model, re.I) is not None)
                and (self.option is None or getattr(options, self.option) is not None))


def _thinking(body: dict[str, Any], budget: int) -> dict[str, Any]:
    # The budget comes on top of the verdict's own max_new_tokens, so thinking never eats the verdict's room.
    return {"thinking": {"type": "enabled", "budget_tokens": budget}, "max_tokens": body["max_tokens"] + budget}


RULES: tuple[Rule, ...] = (
    Rule(OPENAI_SERVICES, "reasoning models take only the default sampling settings and no stop; "
                          "max_completion_tokens bounds reasoning and answer together",
         model=OPENAI_REASONING, drop=OPENAI_REFUSED, rename=(("max_tokens", "max_completion_tokens"),)),
    Rule(OPENAI_SERVICES, "--reasoning-effort is for reasoning models, whatever their name (an Azure deployment's)",
         option="reasoning_effort", drop=OPENAI_REFUSED, rename=(("max_tokens", "max_completion_tokens"),),
         add=lambda body, effort: {"reasoning_effort": effort}),
    Rule(OPENAI_SERVICES, "o1-mini and o1-preview refuse system messages",
         model=r"^o1-(mini|preview)", roles=(("system", "user"),)),
    Rule(("gemini",), "Gemini's OpenAI-compatible endpoint maps reasoning_effort to a thinking budget",
         option="reasoning_effort", add=lambda body, effort: {"reasoning_effort": effort}),
    Rule(CLAUDE_SERVICES, "extended thinking needs the default temperature, no top_p/top_k, and max_tokens "
                          "above its budget", option="thinking_budget", drop=("temperature", "top_p", "top_k"),
         add=_thinking),
)


def rules_for(provider: str, model: str, options: APIOptions, rules: tuple[Rule, ...] = RULES) -> tuple[Rule, ...]:
    """The rules for one engine, worked out once; a reasoning option no rule of ``provider`` takes is a ConfigError."""
    for option, flag in FLAGS.items():
        value = getattr(options, option)
        if value is not None and not any(r.option == option and provider in r.providers for r in rules):
            takers = sorted({p for r in rules if r.option == option for p in r.providers})
            raise ConfigError(f"{flag} {value}: {provider} models do not take it (it is for {', '.join(takers)})")
    budget = options.thinking_budget
    if budget is not None and budget < MIN_THINKING_BUDGET:
        raise ConfigError(f"--thinking-budget {budget}: Anthropic's minimum is {MIN_THINKING_BUDGET} tokens")
    return tuple(r for r in rules if r.applies(provider, model, options))


def apply(rules: tuple[Rule, ...], body: dict[str, Any], options: APIOptions) -> dict[str, Any]:
    """``body`` as the model takes it (changed in place and returned)."""
    for rule in rules:
        for name in rule.drop:
            body.pop(name, None)
        for old, new in rule.rename:
            if old in body:
                body[new] = body.pop(old)
        if rule.roles:
            roles = dict(rule.roles)
            body["messages"] = [{**m, "role": roles.get(m["role"], m["role"])} for m in body["messages"]]
        if rule.add is not None:
            body.update(rule.add(body, getattr(options, rule.option) if rule.option else None))
    return body
