"""A reasoning model's thinking, kept apart from its answer so the verdict is parsed from the answer alone.

API engines put what the providers return apart (OpenAI-compatible ``reasoning_content``, Anthropic's
``thinking`` blocks) into ``GenResult.reasoning`` themselves. Open models (DeepSeek-R1, Qwen3, QwQ) write
theirs into the text as a leading ``<think>...</think>`` block; :func:`split_reasoning` moves it out. Only a
block at the start counts: a judgment that quotes a ``<think>`` tag from the answer it grades keeps it.
"""
from __future__ import annotations

import dataclasses
import re

from .base import GenResult

# A leading block. Chat templates that open the block in the prompt (Qwen3, DeepSeek-R1) leave only its
# end in the output: then everything before the first closing tag is thinking.
_BLOCK = re.compile(r"\A\s*<(think|thinking)>(.*?)(?:</\1>|\Z)\s*", re.S)
_CLOSE_ONLY = re.compile(r"\A(?:(?!<think>).)*?</think>\s*", re.S)


def split_think(text: str) -> tuple[str, str | None]:
    """(the answer, the thinking) of a model's output; (text, None) when it holds no thinking.

    An unclosed block (the output ran out of tokens while thinking) is all thinking: the answer is empty.
    """
    m = _BLOCK.match(text)
    if m:
        return text[m.end():], m.group(2).strip()
    m = _CLOSE_ONLY.match(text)
    if m:
        return text[m.end():], m.group(0).strip()[: -len("</think>")].strip()
    return text, None


def split_reasoning(result: GenResult) -> GenResult:
    """``result`` with any thinking moved from its text to ``reasoning`` (after the provider's own, if any)."""
    if not result.text:
        return result
    text, thought = split_think(result.text)
    if thought is None:
        return result
    reasoning = "\n\n".join(part for part in (result.reasoning, thought) if part)
    return dataclasses.replace(result, text=text, reasoning=reasoning)
