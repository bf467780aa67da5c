"""Our own labelled pairwise JSONL: one object per pair,

    {"id", "question", "response_1", "response_2", "label": "1"|"2"|"tie"|1|2 (or "votes": [...]),
     "reference", "subset", "category", "model_1", "model_2"}

``question``, the responses and ``reference`` are a string (one turn) or a list with one string per turn.
"""
from __future__ import annotations

from pathlib import Path

from .rows import Row, iter_rows
from .sample import ONE, TIE, TWO, Sample, Turn

LABEL = {ONE: ONE, TWO: TWO, TIE: TIE, 1: ONE, 2: TWO}


def _turns(row: Row, key: str) -> tuple[str, ...]:
    value = row.object().get(key)
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise row.error("must be a string or a non-empty list of strings (one per turn)", key)


def _votes(row: Row) -> tuple[str, ...]:
    obj = row.object()
    if "votes" in obj:
        if not isinstance(obj["votes"], list):
            raise row.error("must be a list of verdicts", "votes")
        return tuple(row.pick(v, "votes", LABEL) for v in obj["votes"])
    if obj.get("label") is not None:
        return (row.choice("label", LABEL),)
    return ()


def _sample(row: Row) -> Sample:
    obj = row.object()
    if isinstance(obj.get("id"), bool) or not isinstance(obj.get("id"), (int, str)):
        raise row.error("is missing or not a string or integer", "id")
    votes = _votes(row)
    turns, a1, a2 = _turns(row, "question"), _turns(row, "response_1"), _turns(row, "response_2")
    if not len(turns) == len(a1) == len(a2):
        raise row.error("question, response_1 and response_2 must have the same number of turns", "response_1")
    refs: tuple[str | None, ...] = (None,) * len(turns)
    if obj.get("reference") is not None:
        refs = _turns(row, "reference")
        if len(refs) != len(turns):
            raise row.error("must have as many turns as question", "reference")
    history = tuple(Turn(turns[t], (a1[t], a2[t]), refs[t]) for t in range(len(turns) - 1))
    return Sample("jsonl", str(obj["id"]), row.location, turns[-1], (a1[-1], a2[-1]), history=history,
                  reference=refs[-1], votes=votes, subset=str(obj.get("subset") or ""),
                  category=str(obj.get("category") or ""),
                  models=(str(obj.get("model_1") or "output_1"), str(obj.get("model_2") or "output_2")))


def read(path: str | Path) -> list[Sample]:
    return [_sample(row) for row in iter_rows(path)]
