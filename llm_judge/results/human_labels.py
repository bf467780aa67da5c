"""Human labels for some of a judgment file's games (show_result --human-labels FILE), read and matched.

A JSON Lines file, one label per line, keyed like the judgments (no judge: a human label belongs to the game):

    pairwise   {"question_id", "model_1", "model_2", "turn" (default 1), "winner": "model_1"|"model_2"|"tie"}
               also FastChat's human judgments: "model_a"/"model_b", winner "model_a"|"model_b"|"tie"|
               "tie (bothbad)"
    single     {"question_id", "model", "turn" (default 1), "score": number}

A label matches the game of the same question, turn and models, in either order (the winner is turned to the
judgment file's order). Several labels of one game (several annotators) are averaged: the human value of a
pairwise game is model_1's mean outcome, 1 a win, 0.5 a tie, 0 a loss. A label whose game is not in the
judgment file is an error naming its line: the correction assumes the labelled games are a random sample of
the judged ones.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..jsonl import iter_jsonl
from ..records import Judgment, PairJudgment, SingleJudgment

MIN_LABELS = 2  # a model needs this many labelled games for the human-only and corrected estimates
OUTCOME = {"model_1": 1.0, "tie": 0.5, "model_2": 0.0}
_FASTCHAT_WINNER = {"model_a": "model_1", "model_b": "model_2", "tie": "tie", "tie (bothbad)": "tie"}

GameKey = tuple[Any, str, str, int]  # question_id, model_1, model_2, turn (pairwise); model_2 "" for single


@dataclass
class HumanLabels:
    """Human values per game of the judgment file, in its terms: model_1's outcome (pairwise) or the score."""

    path: Path
    values: dict[GameKey, list[float]] = field(default_factory=dict)

    def value(self, key: GameKey) -> float | None:
        got = self.values.get(key)
        return sum(got) / len(got) if got else None

    @property
    def labels(self) -> int:
        return sum(len(v) for v in self.values.values())


def game_key(record: Judgment) -> GameKey:
    if isinstance(record, PairJudgment):
        return (record.question_id, record.model_1, record.model_2, record.turn)
    return (record.question_id, record.model, "", record.turn)


def _text(obj: dict[str, Any], name: str, path: Path, line: int) -> str:
    value = obj.get(name)
    if not isinstance(value, str) or not value:
        raise InputError(path, "is missing or not a non-empty string", line, name)
    return value


def _common(obj: Any, path: Path, line: int) -> tuple[Any, int]:
    if not isinstance(obj, dict):
        raise InputError(path, f"expected a JSON object, got {type(obj).__name__}", line)
    qid, turn = obj.get("question_id"), obj.get("turn", 1)
    if isinstance(qid, bool) or not isinstance(qid, (int, str)) or qid == "":
        raise InputError(path, f"must be an integer or a non-empty string, got {json.dumps(qid)}", line, "question_id")
    if isinstance(turn, bool) or not isinstance(turn, int) or turn < 1:
        raise InputError(path, f"must be a positive integer, got {json.dumps(turn)}", line, "turn")
    return qid, turn


def _pair_label(obj: dict[str, Any], path: Path, line: int) -> tuple[tuple[Any, str, str, int], float]:
    qid, turn = _common(obj, path, line)
    fastchat = "model_a" in obj
    m1, m2 = (_text(obj, f, path, line) for f in (("model_a", "model_b") if fastchat else ("model_1", "model_2")))
    winner = obj.get("winner")
    names = _FASTCHAT_WINNER if fastchat else {w: w for w in OUTCOME}
    if winner not in names:
        raise InputError(path, f"must be one of {', '.join(names)}, got {json.dumps(winner)}", line, "winner")
    return (qid, m1, m2, turn), OUTCOME[names[winner]]


def _single_label(obj: dict[str, Any], path: Path, line: int) -> tuple[tuple[Any, str, str, int], float]:
    qid, turn = _common(obj, path, line)
    model, score = _text(obj, "model", path, line), obj.get("score")
    if isinstance(score, bool) or not isinstance(score, (int, float)):
        raise InputError(path, f"must be a number, got {json.dumps(score)}", line, "score")
    return (qid, model, "", turn), float(score)


def read_human_labels(path: str | Path, records: list[Judgment], pairwise: bool) -> HumanLabels:
    """The labels of ``path`` matched to the games of ``records`` (one judge's judgments, already decided)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no human-labels file")
    games = {game_key(r) for r in records}
    out = HumanLabels(path)
    for line, obj in iter_jsonl(path):
        key, value = (_pair_label if pairwise else _single_label)(obj, path, line)
        if key not in games and pairwise and (key[0], key[2], key[1], key[3]) in games:
            key, value = (key[0], key[2], key[1], key[3]), 1.0 - value
        if key not in games:
            what = f"{key[1]} vs {key[2]}" if pairwise else key[1]
            raise InputError(path, f"labels a game the judgment file does not hold (question {key[0]!r}, {what}, "
                                   f"turn {key[3]})", line)
        out.values.setdefault(key, []).append(value)
    if not out.values:
        raise InputError(path, "holds no labels")
    return out


def judge_value(record: Judgment, model: str, weighted: list[tuple[str, int]] | None = None) -> float | None:
    """What the judge says of ``model`` in one game: its outcome (pairwise, from the counted games
    ``weighted``: :func:`.aggregate.weighted_games`) or the score (single); None for a failed judgment."""
    if isinstance(record, SingleJudgment):
        return None if record.failed else float(record.score)
    if not weighted:
        return None
    total = sum(n for _, n in weighted)
    first = sum(n * OUTCOME[w] for w, n in weighted) / total
    return first if model == record.model_1 else 1.0 - first
