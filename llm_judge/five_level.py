"""Five-level pairwise verdicts (``A>>B``, ``A>B``, ``A=B``, ``B>A``, ``B>>A``): the labels and what each means.

A five-level record keeps each order's label as the judge wrote it (``g1_verdict``, ``g2_verdict``; A and B
are that order's positions) beside FastChat's winner fields, which stay model_1 / model_2 / tie so that
every reader of FastChat's files still reads the record. The label adds the strength: ``>>`` is a strong
verdict, which the win rates and ratings count as several games (``show_result --strong-weight``).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .errors import InputError

FIVE_LEVELS = ("A>>B", "A>B", "A=B", "B>A", "B>>A")
STRONG_WEIGHT = 3  # games a strong verdict counts as, Arena-Hard's default


def level_winner(label: str, game: str) -> str:
    """The winner, in model terms, that ``label`` names in game ``g1`` (model_1 shown as A) or ``g2``."""
    if "=" in label:
        return "tie"
    first, second = ("model_1", "model_2") if game == "g1" else ("model_2", "model_1")
    return first if label[0] == "A" else second


def is_strong(label: str) -> bool:
    return ">>" in label


def read_level(obj: dict[str, Any], game: str, path: Path | str, line: int | None) -> str | None:
    """A record's ``g1_verdict`` / ``g2_verdict``: absent, or a label naming the winner its winner field holds."""
    label = obj.get(f"{game}_verdict")
    if label is None:
        return None
    if label not in FIVE_LEVELS or obj.get(f"{game}_winner") != level_winner(label, game):
        raise InputError(path, f"must be one of {', '.join(FIVE_LEVELS)} and name the model {game}_winner names "
                               f"({json.dumps(obj.get(f'{game}_winner'))}), got {json.dumps(label)}",
                         line, f"{game}_verdict")
    return label
