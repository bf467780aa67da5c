"""Verdict parsers: pure functions from a judge's output text to a verdict, or a VerdictError.

The judge's own final verdict decides. Judges often quote the answers they grade, and an answer may
itself contain ``[[10]]`` or ``[[A]]``, so every parser takes the *last* verdict marker in the output,
which is where our prompts (and FastChat's) ask the judge to put it. Output with no verdict raises
VerdictError; the caller keeps the raw text in an error record and never guesses a score.
"""
from __future__ import annotations

import re
from typing import Callable

from ..errors import ConfigError


class VerdictError(ValueError):
    """The judge output holds no verdict we can read."""


_RATING = re.compile(r"\[\[\s*(\d+(?:\.\d+)?)\s*(?:/\s*10\s*)?\]\]")
_RATING_SINGLE_BRACKET = re.compile(r"(?<!\[)\[\s*(\d+(?:\.\d+)?)\s*\](?!\])")
_RATING_LABELLED = re.compile(r"(?:Rating|Score|評価|点数)\s*[:：]\s*(\d+(?:\.\d+)?)\s*(?:/\s*10)?", re.IGNORECASE)
_PAIR = re.compile(r"\[\[\s*([ABC])\s*\]\]")
_TWO_SCORES = re.compile(r"\[\[\s*(\d+(?:\.\d+)?)\s*,\s*(\d+(?:\.\d+)?)\s*\]\]")


def parse_rating(text: str, low: float = 1.0, high: float = 10.0) -> float:
    """The last ``[[N]]`` (else FastChat's backup ``[N]``, else ``Rating: N``), checked to lie in [low, high]."""
    for pattern in (_RATING, _RATING_SINGLE_BRACKET, _RATING_LABELLED):
        found = pattern.findall(text)
        if found:
            value = float(found[-1])
            if not low <= value <= high:
                raise VerdictError(f"rating {found[-1]} is outside {low:g}..{high:g}")
            return value
    raise VerdictError("no rating such as [[7]] in the judge output")


def parse_pair(text: str) -> str:
    """'A', 'B' or 'tie' from the last ``[[A]]`` / ``[[B]]`` / ``[[C]]`` marker."""
    found = _PAIR.findall(text)
    if not found:
        raise VerdictError("no verdict such as [[A]], [[B]] or [[C]] in the judge output")
    return {"A": "A", "B": "B", "C": "tie"}[found[-1]]


def parse_two_scores(text: str) -> str:
    """FastChat's pair-v1 format ``[[score_a, score_b]]``: the higher score wins, equal is a tie."""
    found = _TWO_SCORES.findall(text)
    if not found:
        raise VerdictError("no [[score_a, score_b]] in the judge output")
    a, b = (float(x) for x in found[-1])
    return "A" if a > b else "B" if b > a else "tie"


_DIGIT = re.compile(r"\d")  # any Unicode decimal digit: Japanese judges often write full-width "１"
_LAST_LINE_VERDICTS = {1: "A", 2: "B", 3: "tie"}


def parse_last_line(text: str) -> str:
    """Rakuda's ``last`` format: 1 (assistant 1 = A), 2 (B) or 3 (tie), the last digit on the last line.

    The prompt asks for the number on the final line; digits earlier in the explanation (scores, years,
    list numbers) are never read, so a final line without 1, 2 or 3 is unparseable rather than guessed.
    """
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise VerdictError("empty judge output; expected 1, 2 or 3 on the last line")
    digits = _DIGIT.findall(lines[-1])
    if not digits:
        raise VerdictError(f"no 1, 2 or 3 on the last line {lines[-1].strip()[:60]!r}")
    value = int(digits[-1])  # int() reads full-width and other Unicode decimal digits
    if value not in _LAST_LINE_VERDICTS:
        raise VerdictError(f"last-line verdict {digits[-1]!r} is not 1, 2 or 3")
    return _LAST_LINE_VERDICTS[value]


SINGLE_FORMATS: dict[str, Callable[[str], float]] = {"[[rating]]": parse_rating, "[[評価]]": parse_rating}
PAIR_FORMATS: dict[str, Callable[[str], str]] = {"[[A]]": parse_pair, "[[rating_a,rating_b]]": parse_two_scores,
                                                 "last": parse_last_line}


def single_parser(output_format: str) -> Callable[[str], float]:
    try:
        return SINGLE_FORMATS[output_format]
    except KeyError:
        raise ConfigError(f"no parser for single-answer output format {output_format!r} "
                          f"(known: {', '.join(SINGLE_FORMATS)})") from None


def pair_parser(output_format: str) -> Callable[[str], str]:
    try:
        return PAIR_FORMATS[output_format]
    except KeyError:
        raise ConfigError(f"no parser for pairwise output format {output_format!r} "
                          f"(known: {', '.join(PAIR_FORMATS)})") from None
