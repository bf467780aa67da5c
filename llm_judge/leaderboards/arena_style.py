"""Arena-Hard-Auto's style features of an answer, and of a battle between two answers.

An answer's metadata (as Arena-Hard stores it in ``model_answer/<model>.jsonl``) is its length in tokens
(gpt-4o's tokenizer, the whole answer) and three markdown counts taken with the insides of fenced code blocks
removed: header lines (one to six ``#`` then a space), list items (``1.`` or ``-``, ``*``, ``+`` then a
space) and bold spans (``**...**`` or ``__...__`` on one line). A battle's features, model against baseline:
the length difference over the length sum, and for each count its density (count / (tokens + 1)) as
(model - baseline) / (model + baseline + 1). An answer file's own ``metadata`` is used as it is.
"""
from __future__ import annotations

import re
from typing import Any, Callable, Mapping

FEATURES = ("token_len", "header_count", "list_count", "bold_count")
_CODE_INSIDE = re.compile(r"```([^`]*)```")
_HEADERS = [re.compile(rf"^#{{{k}}}\s", re.MULTILINE) for k in range(1, 7)]
_LISTS = [re.compile(r"^\s*\d+\.\s", re.MULTILINE), re.compile(r"^\s*[-*+]\s", re.MULTILINE)]
_BOLD = [re.compile(r"\*\*[^*\n]+\*\*"), re.compile(r"__[^_\n]+__")]


def _without_code(text: str) -> str:
    for inside in _CODE_INSIDE.findall(text):
        text = text.replace(inside, "")
    return text


def answer_metadata(text: str, count_tokens: Callable[[str], int]) -> dict[str, Any]:
    """Arena-Hard's metadata of one answer."""
    prose = _without_code(text)
    return {"token_len": count_tokens(text),
            "header_count": {f"h{k}": len(p.findall(prose)) for k, p in enumerate(_HEADERS, 1)},
            "list_count": {"ordered": len(_LISTS[0].findall(prose)), "unordered": len(_LISTS[1].findall(prose))},
            "bold_count": {"**": len(_BOLD[0].findall(prose)), "__": len(_BOLD[1].findall(prose))}}


def counts(metadata: Mapping[str, Any]) -> tuple[float, float, float, float]:
    """(tokens, headers, list items, bold spans) of a metadata record; a dict of sub-counts is summed."""
    out = []
    for name in FEATURES:
        value = metadata.get(name, 0)
        out.append(float(sum(value.values()) if isinstance(value, dict) else value))
    return out[0], out[1], out[2], out[3]


def battle_features(model: tuple[float, ...], baseline: tuple[float, ...]) -> tuple[float, float, float, float]:
    """The four features of one battle, before they are standardised over all battles."""
    length = (model[0] - baseline[0]) / (model[0] + baseline[0])
    dens_m = [c / (model[0] + 1) for c in model[1:]]
    dens_b = [c / (baseline[0] + 1) for c in baseline[1:]]
    rest = [(m - b) / (m + b + 1) for m, b in zip(dens_m, dens_b)]
    return length, rest[0], rest[1], rest[2]


def default_token_counter() -> tuple[Callable[[str], int], str]:
    """gpt-4o's tokenizer (tiktoken, o200k_base), or the approximation when it cannot be loaded; and which."""
    from ..engines.api.costs import token_counter

    return token_counter("openai", "gpt-4o")
