"""The one interface every engine implements, for answering questions and for judging.

An engine takes a batch of :class:`GenRequest` and yields ``(index, GenResult)`` as results complete,
in any order, so callers can write each record as soon as it exists. A failed call is a GenResult with
``error`` set, never an exception that ends the run; exceptions are for failures that make every later
call pointless too (a bad API key, a model that will not load).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import Any, Iterator, Sequence

GREEDY_BELOW = 1e-4  # FastChat: temperature < 1e-4 means greedy decoding


@dataclass
class GenRequest:
    messages: list[dict[str, str]]  # [{"role": "system"|"user"|"assistant", "content": ...}]
    max_new_tokens: int = 1024
    temperature: float = 0.0
    top_p: float = 1.0
    repetition_penalty: float = 1.0
    seed: int | None = None
    # Score-distribution judging: instead of sampling text, read the probability of each label in
    # ``score_choices`` (followed by ``score_suffix``) as the assistant's next output after ``prefill``.
    # The result's text is prefill + most likely label + suffix, its distribution the normalised
    # probabilities per label.
    score_choices: list[str] | None = None
    score_suffix: str = ""
    prefill: str = ""
    # Stop once the output contains one of these strings (kept in the text, so the verdict still parses):
    # the judge family's verdict marker, for ``--stop-at-verdict``. None or empty: stop at EOS or the budget.
    stop: list[str] | None = None
    # API judges' distribution judging: ask for the ``top_logprobs`` most likely alternatives at every
    # generated token (OpenAI's protocol allows up to 20), read back as ``GenResult.token_logprobs``.
    top_logprobs: int | None = None

    @property
    def greedy(self) -> bool:
        return self.temperature < GREEDY_BELOW


@dataclass
class TokenLogprob:
    """One generated token as the provider reports it: its bytes, log-probability and top alternatives.

    Bytes rather than text: a byte-level token may hold part of a UTF-8 character (Japanese text).
    """

    token: bytes
    logprob: float
    top: list[tuple[bytes, float]] = field(default_factory=list)  # most likely first, as the provider lists them


@dataclass
class GenResult:
    text: str | None = None
    error: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str | None = None
    distribution: dict[str, float] | None = None
    attempts: int = 1
    token_logprobs: list[TokenLogprob] | None = None  # when the request asked for top_logprobs
    extra: dict[str, Any] = field(default_factory=dict)
    # What a reasoning model thought before its answer (kept apart from ``text``, see engines/reasoning.py),
    # and the tokens it spent on that; completion_tokens includes them, as the providers bill them.
    reasoning: str | None = None
    reasoning_tokens: int | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def usage(self) -> dict[str, int]:
        out = {}
        if self.prompt_tokens is not None:
            out["prompt_tokens"] = self.prompt_tokens
        if self.completion_tokens is not None:
            out["completion_tokens"] = self.completion_tokens
        if self.reasoning_tokens:
            out["reasoning_tokens"] = self.reasoning_tokens
        return out


class ChatModel(ABC):
    """A chat model behind one call: ``stream(requests)``."""

    #: a short name for records and logs, e.g. "smollm2-135m-instruct" or "gpt-4"
    name: str = "model"
    #: engine name stored with answers ("hf", "vllm", "openai", "anthropic", ...)
    engine: str = "base"

    @abstractmethod
    def stream(self, requests: Sequence[GenRequest]) -> Iterator[tuple[int, GenResult]]:
        """Yield (index into requests, result) for every request, in completion order."""

    def generate(self, requests: Sequence[GenRequest]) -> list[GenResult]:
        out: list[GenResult | None] = [None] * len(requests)
        for i, result in self.stream(requests):
            out[i] = result
        return [r if r is not None else GenResult(error="engine returned no result") for r in out]

    def describe(self) -> dict[str, Any]:
        """What to store with outputs so a run can be reproduced (engine, model, settings)."""
        return {"engine": self.engine, "model": self.name}

    def close(self) -> None:
        """Release memory, threads or connections held by the engine."""

    def __enter__(self) -> "ChatModel":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def request_params(request: GenRequest) -> dict[str, Any]:
    """The generation settings of a request, as stored beside an answer."""
    d = asdict(request)
    d.pop("messages")
    for k in ("score_choices", "score_suffix", "prefill", "stop", "top_logprobs"):
        if not d[k]:
            d.pop(k)
    return d
