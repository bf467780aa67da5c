"""The log-probability part of OpenAI's chat-completions protocol (also vLLM's and llama.cpp's servers).

A request asks for ``logprobs: true, top_logprobs: K``; the reply's ``choices[0].logprobs.content`` lists
every generated token with its log-probability and its K most likely alternatives. Tokens are kept as
bytes: the protocol's ``bytes`` field when the server sends it, else the token text in UTF-8.
"""
from __future__ import annotations

from typing import Any

from ..base import GenRequest, TokenLogprob

MAX_TOP_LOGPROBS = 20  # OpenAI refuses more; vLLM's server allows more, but 20 covers every family's labels


def request_fields(request: GenRequest, compatible_server: bool) -> dict[str, Any]:
    """The body fields that ask for log-probabilities, or none when the request does not want them.

    A request with a ``prefill`` continues the assistant's message from it: vLLM's extension
    (``continue_final_message``); llama.cpp's server continues a final assistant message by itself. The
    distribution reader asks it only of such servers (``compatible_server``), to split a token such as "1".
    """
    fields: dict[str, Any] = {}
    if request.top_logprobs:
        fields.update(logprobs=True, top_logprobs=min(request.top_logprobs, MAX_TOP_LOGPROBS))
    if request.prefill:
        if not compatible_server:
            raise ValueError("api.openai.com cannot continue a prefilled assistant message")
        fields.update(messages=[*request.messages, {"role": "assistant", "content": request.prefill}],
                      continue_final_message=True, add_generation_prompt=False)
    return fields


def read_token_logprobs(choice: dict[str, Any]) -> list[TokenLogprob] | None:
    """The generated tokens of a reply's choice, or None when it carries no log-probabilities."""
    content = (choice.get("logprobs") or {}).get("content")
    if not isinstance(content, list):
        return None
    out = []
    for entry in content:
        top = [(_bytes(alt), float(alt["logprob"])) for alt in entry.get("top_logprobs") or []]
        out.append(TokenLogprob(_bytes(entry), float(entry["logprob"]), top))
    return out


def _bytes(entry: dict[str, Any]) -> bytes:
    raw = entry.get("bytes")
    if isinstance(raw, list):
        return bytes(raw)
    return str(entry.get("token", "")).encode("utf-8")
