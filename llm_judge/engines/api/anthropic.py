"""Anthropic's Messages API through the ``anthropic`` SDK.

System messages become the ``system`` field; the reply is the text of its text blocks. As for OpenAI
(see ``openai_api.py``), the body is posted with the SDK client's generic ``post`` and read as JSON.
"""
from __future__ import annotations

from typing import Any

from .base import APIModel, BadResponse, require_name
from .params import apply, rules_for
from ..config import APIOptions, EngineConfig
from ..base import GenRequest, GenResult


class AnthropicModel(APIModel):
    engine = "anthropic"
    key_env = "ANTHROPIC_API_KEY"
    base_env = "ANTHROPIC_BASE_URL"
    provider_label = "Anthropic"
    sdk, client_class = "anthropic", "AsyncAnthropic"
    sdk_error = "AnthropicError"

    def __init__(self, model: str, name: str, options: APIOptions | None = None):
        super().__init__(model, name, options)
        self._rules = rules_for(self.engine, self.model, self.options)  # what this model takes (params.py)

    def body(self, request: GenRequest) -> dict[str, Any]:
        system = "\n\n".join(m["content"] for m in request.messages if m["role"] == "system")
        messages = [{"role": m["role"], "content": m["content"]} for m in request.messages if m["role"] != "system"]
        body: dict[str, Any] = {"model": self.model, "max_tokens": request.max_new_tokens, "messages": messages,
                                "temperature": min(1.0, request.temperature)}  # Anthropic's range is 0..1
        if system:
            body["system"] = system
        if request.top_p != 1.0:  # recent models refuse temperature and top_p together unless asked
            body["top_p"] = request.top_p
        # Anthropic refuses stop sequences of whitespace only (JudgeLM's "\n"): those judgments run to their end.
        stops = [s for s in request.stop or () if s.strip()]
        if stops:
            body["stop_sequences"] = stops
        return apply(self._rules, body, self.options)

    async def _call(self, client: Any, request: GenRequest) -> GenResult:
        data = await client.post("/v1/messages", body=self.body(request), cast_to=object)
        try:
            text = "".join(b.get("text", "") for b in data["content"] if b.get("type") == "text")
            reasoning = "\n\n".join(_thought(b) for b in data["content"] if b.get("type") in _THINKING) or None
            usage = data.get("usage") or {}
            if data.get("stop_reason") == "stop_sequence" and isinstance(data.get("stop_sequence"), str):
                text += data["stop_sequence"]  # left out of the text; put back so the verdict parses
        except (KeyError, TypeError, AttributeError):
            raise BadResponse(f"not a Messages response: {str(data)[:200]}") from None
        # output_tokens includes the thinking, billed as output; the API does not count it apart.
        return GenResult(text=text, prompt_tokens=usage.get("input_tokens"),
                         completion_tokens=usage.get("output_tokens"), finish_reason=data.get("stop_reason"),
                         reasoning=reasoning)


_THINKING = ("thinking", "redacted_thinking")


def _thought(block: dict[str, Any]) -> str:
    """An extended-thinking block's text; a redacted one (encrypted by Anthropic's safety systems) is marked as such."""
    return (block.get("thinking") or "") if block["type"] == "thinking" else "[redacted thinking]"


def from_config(config: EngineConfig) -> AnthropicModel:
    """The registry's factory for provider "anthropic"."""
    return AnthropicModel(require_name(config), config.name, config.api)
