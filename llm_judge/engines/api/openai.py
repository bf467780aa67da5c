"""OpenAI chat completions, and any server that speaks the same protocol (vLLM, llama.cpp, Ollama, ...).

The call goes through the ``openai`` SDK's client (its auth, headers, timeouts, connection pool and
error classes). It posts the chat-completions body with the client's generic ``post`` and reads the
JSON as a dict, instead of ``chat.completions.create``: that skips the SDK's per-call TypedDict
transform and pydantic response model, the larger part of the client CPU per call (benchmarks/judge_throughput.py
measures it; docs/api.md), and is what lets one process keep hundreds of calls in flight.
"""
from __future__ import annotations

import logging
from typing import Any

from .base import APIModel, BadResponse, require_name
from .logprobs import read_token_logprobs, request_fields
from .params import apply, rules_for
from ..config import APIOptions, EngineConfig
from ..base import GenRequest, GenResult

log = logging.getLogger(__name__)


class OpenAIModel(APIModel):
    engine = "openai"
    key_env = "OPENAI_API_KEY"
    base_env = "OPENAI_BASE_URL"
    provider_label = "OpenAI"
    sdk, client_class = "openai", "AsyncOpenAI"
    sdk_error = "OpenAIError"

    def __init__(self, model: str, name: str, options: APIOptions | None = None):
        super().__init__(model, name, options)
        self._rules = rules_for(self.engine, self.model, self.options)  # what this model takes (params.py)

    @property
    def self_hosted(self) -> bool:
        """A compatible server of the user's (vLLM, llama.cpp, Ollama): it knows max_tokens and vLLM's
        extensions, and names the stop string it matched; OpenAI's own service (and Azure's, Gemini's) not."""
        return bool(self.base_url)

    def max_tokens_field(self) -> str:
        # api.openai.com wants max_completion_tokens (reasoning models refuse max_tokens); compatible
        # servers, older ones included, all know max_tokens.
        return "max_tokens" if self.self_hosted else "max_completion_tokens"

    def body(self, request: GenRequest) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model, "messages": request.messages, "temperature": request.temperature}
        body[self.max_tokens_field()] = request.max_new_tokens
        if request.top_p != 1.0:
            body["top_p"] = request.top_p
        if request.seed is not None:
            body["seed"] = request.seed
        if request.repetition_penalty != 1.0 and self.self_hosted:
            body["repetition_penalty"] = request.repetition_penalty  # a vLLM extension of the protocol
        if request.stop:
            if len(request.stop) == 1 or self.self_hosted:
                body["stop"] = list(request.stop)
            elif not getattr(self, "_warned_stop", False):
                # api.openai.com leaves the stop string out of the text and does not say which one matched, so
                # with several ("[RESULT] 1" .. "[RESULT] 5") the verdict could not be put back: run to the end.
                self._warned_stop = True
                log.warning("%s: several stop strings cannot be restored from api.openai.com's reply; judgments "
                            "run to their end", self.name)
        body.update(request_fields(request, self.self_hosted))
        return apply(self._rules, body, self.options)

    async def _call(self, client: Any, request: GenRequest) -> GenResult:
        data = await client.post("/chat/completions", body=self.body(request), cast_to=object)
        try:
            choice = data["choices"][0]
            message = choice["message"]
            text = message.get("content") or ""
            usage = data.get("usage") or {}
        except (KeyError, IndexError, TypeError, AttributeError):
            raise BadResponse(f"not a chat completion: {str(data)[:200]}") from None
        finish = choice.get("finish_reason")
        if request.stop and finish == "stop":
            text += _matched_stop(choice, request.stop)
        # DeepSeek's API and vLLM's reasoning parsers send the thinking apart ("reasoning_content"; "reasoning"
        # in newer vLLM and OpenRouter); OpenAI's own models keep theirs hidden and only count it.
        reasoning = message.get("reasoning_content") or message.get("reasoning")
        thought = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens")
        try:
            tokens = read_token_logprobs(choice) if request.top_logprobs else None
        except (KeyError, TypeError, ValueError):
            raise BadResponse(f"malformed logprobs: {str(choice.get('logprobs'))[:200]}") from None
        return GenResult(text=text, prompt_tokens=usage.get("prompt_tokens"), completion_tokens=_billed_output(usage),
                         finish_reason=finish, reasoning=reasoning if isinstance(reasoning, str) else None,
                         reasoning_tokens=thought or None, token_logprobs=tokens)


def _billed_output(usage: dict[str, Any]) -> int | None:
    """Output tokens as billed: reasoning included.

    OpenAI counts reasoning tokens inside completion_tokens; a server that counts them apart (Gemini's
    endpoint: total = prompt + completion + reasoning) gets them added, so cost and usage see every one.
    """
    out = usage.get("completion_tokens")
    thought = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0
    if out is not None and thought and usage.get("total_tokens") == (usage.get("prompt_tokens") or 0) + out + thought:
        return out + thought
    return out


def _matched_stop(choice: dict[str, Any], stop: list[str]) -> str:
    """The stop string the server cut from the text, to put back so the verdict parses as the judge wrote it.

    vLLM's server names it (``stop_reason``); api.openai.com does not, and gets one stop string only (see
    ``body``). With one, a reply that ended on its own gains it too: harmless, since a verdict that closes with
    the stop string cannot have ended without it.
    """
    reason = choice.get("stop_reason")
    if isinstance(reason, str):
        return reason if reason in stop else ""
    return stop[0] if len(stop) == 1 and reason is None else ""


def from_config(config: EngineConfig) -> OpenAIModel:
    """The registry's factory for provider "openai"."""
    return OpenAIModel(require_name(config), config.name, config.api)
