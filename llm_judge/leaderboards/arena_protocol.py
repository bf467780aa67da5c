"""Arena-Hard-Auto's judging rules: reading a verdict, and turning a question's two games into battles.

- The verdict is read from the judgment upper-cased: the last ``[[...]]`` holding only A, B, <, >, =, else the
  last ``[...]`` of those characters (the patterns come from the bench's config, ``regex_patterns``).
- Game 1 shows the baseline as A and the model as B; game 2 the other way round.
- A question whose either game has no verdict (or a label outside the five levels) is dropped whole.
- Each game is a battle scored for the model: 1 a win, 0.5 a tie, 0 a loss; a strong verdict (``>>``)
  counts as ``weight`` battles (3 by default).
"""
from __future__ import annotations

import re
from typing import Sequence

DEFAULT_PATTERNS = (r"\[\[([AB<>=]+)\]\]", r"\[([AB<>=]+)\]")
STRONG_WEIGHT = 3
# The label as the judge wrote it -> (the score of the answer shown as A, strong or not).
_LABELS = {"A>B": (1.0, False), "A>>B": (1.0, True), "A=B": (0.5, False), "A<<B": (0.0, True), "A<B": (0.0, False),
           "B>A": (0.0, False), "B>>A": (0.0, True), "B=A": (0.5, False), "B<<A": (1.0, True), "B<A": (1.0, False)}


def parse_verdict(judgment: str, patterns: Sequence[str] = DEFAULT_PATTERNS) -> str | None:
    """The label of the first pattern that matches, its last non-empty match; None when none matches."""
    text = judgment.upper()
    for pattern in patterns:
        found = [m for m in re.findall(pattern, text) if m != ""]
        if found:
            return found[-1].strip("\n")
    return None


def game_battles(label: str, model_is_a: bool, weight: int = STRONG_WEIGHT) -> list[float] | None:
    """The model's battle scores from one game's label; None for a label outside the five levels."""
    if label not in _LABELS:
        return None
    score_a, strong = _LABELS[label]
    score = score_a if model_is_a else 1.0 - score_a
    return [score] * (weight if strong else 1)


def question_battles(scores: tuple[str | None, str | None], weight: int = STRONG_WEIGHT) -> list[float] | None:
    """Both games' battles for the model (game 2's first, as Arena-Hard lists them), or None: dropped."""
    g1, g2 = scores
    if g1 is None or g2 is None:
        return None
    first = game_battles(g1, model_is_a=False, weight=weight)
    second = game_battles(g2, model_is_a=True, weight=weight)
    if first is None or second is None:
        return None
    return second + first


def five_level(label: str | None) -> str | None:
    """The label as one of our five levels (A>>B, A>B, A=B, B>A, B>>A); None outside Arena-Hard's ten."""
    if label not in _LABELS:
        return None
    score_a, strong = _LABELS[label]
    if score_a == 0.5:
        return "A=B"
    return ("A>>B" if strong else "A>B") if score_a == 1.0 else ("B>>A" if strong else "B>A")
