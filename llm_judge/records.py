"""The records that flow through the pipeline and their FastChat-compatible JSON form.

question.jsonl -> Question;  model_answer/<model>.jsonl -> Answer;
model_judgment/*.jsonl -> SingleJudgment or PairJudgment (:func:`read_judgments` tells them apart, once);
ja-vicuna-qa-benchmark's records (``judge_model``/``judge_prompt``, no turn) read as the same (llm_judge/layouts.py).
Parsing validates and raises :class:`InputError` naming file, line and field. Unknown fields are kept in
``extra`` and written back, so a round trip never drops what another tool put there.
"""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, NamedTuple, Optional, Union

from .errors import InputError
from .five_level import read_level
from .jsonl import iter_jsonl

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



# -- judgments: model_judgment/*.jsonl --------------------------------------------------------------------


class JudgeName(NamedTuple):
    """Who judged: the judge model and the name of the prompt it was given (FastChat's ``judge`` list, or
    ja-vicuna-qa-benchmark's ``judge_model`` and ``judge_prompt`` fields)."""

    model: str
    prompt: str

    @classmethod
    def from_json(cls, value: Any, path: Path | str, line: int | None) -> "JudgeName":
        if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
            raise InputError(path, f"must be [judge model, prompt name], got {json.dumps(value)}", line, "judge")
        return cls(value[0], value[1])

    @classmethod
    def from_fields(cls, obj: dict[str, Any], path: Path | str, line: int | None) -> "JudgeName":
        """The same judge written as two fields, ``judge_model`` and ``judge_prompt`` (ja-vicuna-qa-benchmark)."""
        for name in ("judge_model", "judge_prompt"):
            if not isinstance(obj.get(name), str) or not obj[name]:
                raise InputError(path, f"must be a non-empty string beside the other of judge_model/judge_prompt, "
                                       f"got {json.dumps(obj.get(name), ensure_ascii=False)[:60]}", line, name)
        return cls(obj["judge_model"], obj["judge_prompt"])

    def to_json(self) -> list[str]:
        return [self.model, self.prompt]


SingleKey = tuple[Optional[JudgeName], QuestionId, str, int]
PairKey = tuple[Optional[JudgeName], QuestionId, str, str, int]


def single_key(judge: JudgeName | None, question_id: QuestionId, model: str, turn: int) -> SingleKey:
    """Identity of a single-answer judgment: one per (judge, prompt, question, model, turn)."""
    return (judge, question_id, model, turn)


def pair_key(judge: JudgeName | None, question_id: QuestionId, model_1: str, model_2: str, turn: int) -> PairKey:
    """Identity of a pairwise judgment: one per (judge, prompt, question, model pair in this order, turn)."""
    return (judge, question_id, model_1, model_2, turn)


# FastChat's winners; "error" is its legacy marker of a failed game (ours leave the winner null instead).
WINNERS = ("model_1", "model_2", "tie")
_LEGACY_FAILED = "error"
# The optional fields of both kinds and the JSON type each must have when present.
_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    "text": ((str,), "a string"), "number": ((int, float), "a number"), "object": ((dict,), "a JSON object"),
    "list": ((list,), "a JSON list")}
_OPTIONAL = {
    "user_prompt": "text", "judgment": "text", "g1_user_prompt": "text", "g1_judgment": "text",
    "g2_user_prompt": "text", "g2_judgment": "text", "tstamp": "number", "bench": "text", "category": "text",
    "usage": "object", "score_distribution": "object", "expected_score": "number", "g1_distribution": "object",
    "g1_verdict_probs": "object", "g2_distribution": "object", "g2_verdict_probs": "object",
    "win_probs": "object", "error": "text", "score": "number", "scores": "object", "scale": "list",
}
# Written even when null: FastChat's readers expect the verdict field of every record.
_ALWAYS = ("score", "g1_winner", "g2_winner", "turn")


def _optional(obj: dict[str, Any], name: str, path: Path | str, line: int | None) -> Any:
    value = obj.get(name)
    if value is None:
        return None
    types, what = _TYPES[_OPTIONAL[name]]
    if isinstance(value, bool) or not isinstance(value, types):
        raise InputError(path, f"must be {what}, got {json.dumps(value, ensure_ascii=False)[:60]}", line, name)
    return value


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_scores(scores: Any, scale: Any, path: Path | str, line: int | None) -> None:
    """``scores`` maps criteria to numbers; ``scale`` is [lowest, highest]."""
    if scores is not None and not all(isinstance(k, str) and k and _number(v) for k, v in scores.items()):
        raise InputError(path, "must map each criterion to a number", line, "scores")
    if scale is not None and not (len(scale) == 2 and all(_number(v) for v in scale) and scale[0] < scale[1]):
        raise InputError(path, f"must be [lowest, highest], got {json.dumps(scale)}", line, "scale")


def _model(obj: dict[str, Any], name: str, path: Path | str, line: int | None) -> str:
    value = obj.get(name)
    if not isinstance(value, str) or not value:
        raise InputError(path, "is missing or not a non-empty string", line, name)
    return value


def _winner(obj: dict[str, Any], name: str, path: Path | str, line: int | None) -> str | None:
    value = obj.get(name)
    if value is not None and value not in WINNERS + (_LEGACY_FAILED,):
        raise InputError(path, f"must be model_1, model_2, tie, error or null, got {json.dumps(value)}", line, name)
    return value


def _turn(obj: dict[str, Any], path: Path | str, line: int | None) -> int:
    value = obj.get("turn", 1)  # records without a turn (hand-made ones) judge turn 1
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(path, f"must be a positive integer, got {json.dumps(value)}", line, "turn")
    return value


class _JSONRecord:
    """JSON form shared by both kinds: dataclass fields in declaration order (FastChat's order, then ours),
    absent ones (None) left out except the verdict and turn, then the unknown fields as they were read."""

    judge: JudgeName | None
    extra: dict[str, Any]

    @classmethod
    def _read(cls, obj: Any, path: Path | str, line: int | None, **values: Any) -> Any:
        if not isinstance(obj, dict):
            raise InputError(path, f"expected a JSON object, got {type(obj).__name__}", line)
        if "question_id" not in obj:
            raise InputError(path, "is missing", line, "question_id")
        values["question_id"] = _check_qid(obj["question_id"], path, line)
        values["turn"] = _turn(obj, path, line)
        names = [f.name for f in fields(cls)]
        if obj.get("judge") is not None:
            values["judge"] = JudgeName.from_json(obj["judge"], path, line)
        elif obj.get("judge_model") is not None or obj.get("judge_prompt") is not None:
            values["judge"] = JudgeName.from_fields(obj, path, line)
            names += ["judge_model", "judge_prompt"]  # read as the judge, written back as FastChat's list
        for name in names:
            if name in _OPTIONAL:
                values[name] = _optional(obj, name, path, line)
        return cls(**values, extra={k: v for k, v in obj.items() if k not in names})

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if f.name == "extra" or (value is None and f.name not in _ALWAYS):
                continue
            out[f.name] = value.to_json() if isinstance(value, JudgeName) else value
        out.update(self.extra)
        return out

    @property
    def judge_model(self) -> str:
        """The judge model's name, "" when the record names no judge."""
        return self.judge.model if self.judge else ""


@dataclass(kw_only=True)
class SingleJudgment(_JSONRecord):
    """One judge's grade of one model's answer on one turn. Not failed means ``score`` is a number."""

    question_id: QuestionId
    model: str
    judge: JudgeName | None = None
    user_prompt: str | None = None
    judgment: str | None = None
    score: float | None = None
    scores: dict[str, float] | None = None  # several criteria (criteria-scores prompts); ``score`` is the overall
    scale: list[float] | None = None  # [lowest, highest] of the scores; absent: FastChat's 1-10
    turn: int = 1
    tstamp: float | None = None
    bench: str | None = None
    category: str | None = None
    usage: dict[str, int] | None = None
    score_distribution: dict[str, float] | None = None
    expected_score: float | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, obj: Any, path: Path | str, line: int | None) -> "SingleJudgment":
        model = _model(obj, "model", path, line) if isinstance(obj, dict) else None
        rec = cls._read(obj, path, line, model=model)
        _check_scores(rec.scores, rec.scale, path, line)
        return rec

    @property
    def failed(self) -> bool:
        """An ``error`` field, or no score (FastChat's legacy files mark a failure with score -1)."""
        return bool(self.error) or self.score is None or self.score == -1

    @property
    def key(self) -> SingleKey:
        return single_key(self.judge, self.question_id, self.model, self.turn)


@dataclass(kw_only=True)
class PairJudgment(_JSONRecord):
    """One judge's comparison of two models on one turn, in both orders: game 1 shows model_1 as assistant A,
    game 2 shows model_2 as A. Winners are in model terms. Not failed means both winners are in WINNERS."""

    question_id: QuestionId
    model_1: str
    model_2: str
    g1_winner: str | None = None
    g2_winner: str | None = None
    judge: JudgeName | None = None
    g1_user_prompt: str | None = None
    g1_judgment: str | None = None
    g2_user_prompt: str | None = None
    g2_judgment: str | None = None
    turn: int = 1
    tstamp: float | None = None
    bench: str | None = None
    category: str | None = None
    usage: dict[str, int] | None = None
    g1_distribution: dict[str, float] | None = None
    g1_verdict_probs: dict[str, float] | None = None
    g2_distribution: dict[str, float] | None = None
    g2_verdict_probs: dict[str, float] | None = None
    win_probs: dict[str, float] | None = None
    g1_verdict: str | None = None  # five-level prompts: "A>>B" ... "B>>A" as written (llm_judge/five_level.py)
    g2_verdict: str | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, obj: Any, path: Path | str, line: int | None) -> "PairJudgment":
        if not isinstance(obj, dict):
            return cls._read(obj, path, line)  # reports the type
        return cls._read(obj, path, line, model_1=_model(obj, "model_1", path, line),
                         model_2=_model(obj, "model_2", path, line), g1_winner=_winner(obj, "g1_winner", path, line),
                         g2_winner=_winner(obj, "g2_winner", path, line), g1_verdict=read_level(obj, "g1", path, line),
                         g2_verdict=read_level(obj, "g2", path, line))

    @property
    def failed(self) -> bool:
        """An ``error`` field, or a game without a winner (null, or FastChat's legacy "error")."""
        return bool(self.error) or self.g1_winner not in WINNERS or self.g2_winner not in WINNERS

    @property
    def combined_winner(self) -> str | None:
        """'model_1', 'model_2' or 'tie' by FastChat's rule (a tie unless both orders name the same winner);
        None for a failed judgment."""
        if self.failed:
            return None
        if self.g1_winner == "tie" or self.g1_winner != self.g2_winner:
            return "tie"
        return self.g1_winner

    @property
    def key(self) -> PairKey:
        return pair_key(self.judge, self.question_id, self.model_1, self.model_2, self.turn)


Judgment = Union[SingleJudgment, PairJudgment]


def judgment_from_json(obj: Any, path: Path | str, line: int | None) -> Judgment:
    """A judgment of the kind its fields show: model_1/model_2 make a pairwise one, model a single one."""
    if not isinstance(obj, dict):
        raise InputError(path, f"expected a JSON object, got {type(obj).__name__}", line)
    if "model_1" in obj or "g1_winner" in obj:
        return PairJudgment.from_json(obj, path, line)
    if "model" in obj or "score" in obj:
        return SingleJudgment.from_json(obj, path, line)
    raise InputError(path, "is neither a single judgment (model, score) nor a pairwise one "
                           "(model_1, model_2, g1_winner, g2_winner)", line)


def read_judgments(path: Path | str) -> list[Judgment]:
    """Every record of a judgment file, each typed by its own fields (a file may hold both kinds)."""
    return [judgment_from_json(obj, path, line) for line, obj in iter_jsonl(path)]


def json_key(obj: dict[str, Any], pairwise: bool) -> SingleKey | PairKey:
    """The key of a judgment's JSON form, for stores that keep JSON; ValueError naming the field if malformed
    (the store adds file and line)."""
    try:
        return (PairJudgment if pairwise else SingleJudgment).from_json(obj, "", None).key
    except InputError as exc:
        raise ValueError(str(exc).removeprefix(": ")) from None
