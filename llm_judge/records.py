"""The records that flow through the pipeline and their FastChat-compatible JSON form.

question.jsonl -> Question;  model_answer/<model>.jsonl -> Answer;  model_judgment/*.jsonl -> judgment dicts.
Parsing validates and raises :class:`InputError` naming file, line and field. Unknown fields are kept in
``extra`` and written back, so a round trip never drops what another tool put there.
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from .errors import InputError

QuestionId = Union[int, str]


def _check_qid(value: Any, path: Path | str, line: int) -> QuestionId:
    if isinstance(value, bool) or not isinstance(value, (int, str)) or value == "":
        raise InputError(path, f"must be an integer or a non-empty string, got {value!r}", line, "question_id")
    return value


def _check_turns(value: Any, path: Path | str, line: int, name: str = "turns") -> list[str]:
    if not isinstance(value, list) or not value:
        raise InputError(path, "must be a non-empty list of strings", line, name)
    for i, turn in enumerate(value):
        if not isinstance(turn, str):
            raise InputError(path, f"item {i} must be a string, got {type(turn).__name__}", line, name)
    return value


@dataclass
class Question:
    question_id: QuestionId
    category: str
    turns: list[str]
    reference: list[str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, obj: Any, path: Path | str, line: int) -> "Question":
        if not isinstance(obj, dict):
            raise InputError(path, f"expected a JSON object, got {type(obj).__name__}", line)
        if "question_id" not in obj:
            raise InputError(path, "is missing", line, "question_id")
        if "turns" not in obj:
            raise InputError(path, "is missing", line, "turns")
        qid = _check_qid(obj["question_id"], path, line)
        turns = _check_turns(obj["turns"], path, line)
        category = obj.get("category", "general")
        if not isinstance(category, str):
            raise InputError(path, "must be a string", line, "category")
        reference = obj.get("reference")
        if reference is not None:
            reference = _check_turns(reference, path, line, "reference")
        extra = {k: v for k, v in obj.items() if k not in ("question_id", "category", "turns", "reference")}
        return cls(qid, category, turns, reference, extra)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"question_id": self.question_id, "category": self.category, "turns": self.turns}
        if self.reference is not None:
            out["reference"] = self.reference
        out.update(self.extra)
        return out


@dataclass
class Answer:
    """One model's answer to one question: ``choices[i].turns[t]`` is choice i's reply to turn t."""

    question_id: QuestionId
    model_id: str
    choices: list[dict[str, Any]]
    answer_id: str = field(default_factory=lambda: uuid.uuid4().hex[:22])
    tstamp: float = field(default_factory=time.time)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def turns(self) -> list[str]:
        """The first choice's turns: what judges see (FastChat judges choice 0)."""
        return self.choices[0]["turns"]

    @classmethod
    def from_json(cls, obj: Any, path: Path | str, line: int) -> "Answer":
        if not isinstance(obj, dict):
            raise InputError(path, f"expected a JSON object, got {type(obj).__name__}", line)
        if "question_id" not in obj:
            raise InputError(path, "is missing", line, "question_id")
        qid = _check_qid(obj["question_id"], path, line)
        choices = obj.get("choices")
        if not isinstance(choices, list) or not choices:
            raise InputError(path, "must be a non-empty list of {index, turns} objects", line, "choices")
        for i, choice in enumerate(choices):
            if not isinstance(choice, dict) or "turns" not in choice:
                raise InputError(path, f"item {i} must be an object with 'turns'", line, "choices")
            _check_turns(choice["turns"], path, line, f"choices[{i}].turns")
        model_id = obj.get("model_id", "")
        if not isinstance(model_id, str):
            raise InputError(path, "must be a string", line, "model_id")
        known = ("question_id", "answer_id", "model_id", "choices", "tstamp")
        extra = {k: v for k, v in obj.items() if k not in known}
        return cls(qid, model_id, choices, str(obj.get("answer_id", "")), obj.get("tstamp", 0.0), extra)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "question_id": self.question_id,
            "answer_id": self.answer_id,
            "model_id": self.model_id,
            "choices": self.choices,
            "tstamp": self.tstamp,
        }
        out.update(self.extra)
        return out


def qid_key(qid: QuestionId) -> tuple[int, Any]:
    """Sort key that orders integer ids numerically and string ids after them."""
    return (0, qid) if isinstance(qid, int) else (1, str(qid))


def judge_name(record: dict[str, Any]) -> tuple[str, str]:
    """(judge model, prompt name) of a judgment, from FastChat's ``judge`` list or separate fields."""
    judge = record.get("judge")
    if isinstance(judge, (list, tuple)) and len(judge) >= 2:
        return str(judge[0]), str(judge[1])
    return str(record.get("judge_model", judge or "")), str(record.get("judge_prompt", ""))


def single_key(record: dict[str, Any]) -> tuple:
    """Identity of a single-answer judgment: one per (judge, prompt, question, model, turn)."""
    return (judge_name(record), record["question_id"], record["model"], int(record.get("turn", 1)))


def pair_key(record: dict[str, Any]) -> tuple:
    """Identity of a pairwise judgment: one per (judge, prompt, question, model pair, turn)."""
    return (judge_name(record), record["question_id"], record["model_1"], record["model_2"], int(record.get("turn", 1)))
