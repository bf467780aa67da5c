"""Arena-Hard-Auto's files, read and written in its own layout (lmarena/arena-hard-auto's ``data/<bench>/``)::

    question.jsonl                         uid, category, subcategory (v2.0) or cluster (v0.1), prompt
    model_answer/<model>.jsonl             uid, ans_id, model, messages (the last one's content: {"answer": ...}),
                                           tstamp, metadata (token_len and markdown counts; optional)
    model_judgment/<judge>/<model>.jsonl   uid, category, judge, model, baseline, games: [game 1, game 2]
                                           (game 1 shows the baseline as A); a game: {score, judgment, prompt}

String ids (``uid``) are kept as they are. Bad input is an InputError naming file, line and field.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..jsonl import iter_jsonl, write_jsonl_atomic

QUESTION_FILE = "question.jsonl"
ANSWER_DIR = "model_answer"
JUDGMENT_DIR = "model_judgment"


@dataclass(frozen=True)
class ArenaQuestion:
    uid: str
    category: str
    subcategory: str
    prompt: str


@dataclass(frozen=True)
class ArenaAnswer:
    uid: str
    model: str
    answer: str
    metadata: dict[str, Any] | None


@dataclass(frozen=True)
class ArenaJudgment:
    """One question's two games; a game's ``score`` is the label the judge wrote, None when none was read."""

    uid: str
    category: str
    judge: str
    model: str
    baseline: str
    scores: tuple[str | None, str | None]
    line: int


def _string(obj: Any, name: str, path: Path, line: int) -> str:
    value = obj.get(name) if isinstance(obj, dict) else None
    if not isinstance(value, str) or not value:
        raise InputError(path, "is missing or not a non-empty string", line, name)
    return value


def is_arena_bench(folder: Path) -> bool:
    """Whether ``folder`` holds an Arena-Hard question file (records with ``uid`` and ``prompt``)."""
    path = folder / QUESTION_FILE
    if not path.is_file():
        return False
    for _, obj in iter_jsonl(path):
        return isinstance(obj, dict) and "uid" in obj and "prompt" in obj
    return False


def read_questions(folder: Path) -> list[ArenaQuestion]:
    path = folder / QUESTION_FILE
    out, seen = [], set()
    for line, obj in iter_jsonl(path):
        uid = _string(obj, "uid", path, line)
        if uid in seen:
            raise InputError(path, f"repeats uid {uid!r}", line, "uid")
        seen.add(uid)
        category = _string(obj, "category", path, line)
        sub = obj.get("subcategory") or obj.get("cluster") or category
        out.append(ArenaQuestion(uid, category, str(sub), _string(obj, "prompt", path, line)))
    return out


def _answer_text(obj: dict[str, Any], path: Path, line: int) -> str:
    messages = obj.get("messages")
    if not isinstance(messages, list) or not messages or not isinstance(messages[-1], dict):
        raise InputError(path, "must be a non-empty list of messages", line, "messages")
    content = messages[-1].get("content")
    if isinstance(content, dict):
        content = content.get("answer")
    if not isinstance(content, str):
        raise InputError(path, "the last message's content must be a string or {\"answer\": string}", line,
                         "messages")
    return content


def read_answers(path: Path) -> dict[str, ArenaAnswer]:
    """``model_answer/<model>.jsonl`` by uid; the model is the file's name, as Arena-Hard keys it."""
    out = {}
    for line, obj in iter_jsonl(path):
        uid = _string(obj, "uid", path, line)
        meta = obj.get("metadata")
        out[uid] = ArenaAnswer(uid, path.stem, _answer_text(obj, path, line), meta if isinstance(meta, dict) else None)
    return out


def answer_record(uid: str, model: str, answer: str, question: str, metadata: dict[str, Any]) -> dict[str, Any]:
    """An answer in Arena-Hard's form (``ans_id`` is ours: the model and uid)."""
    return {"uid": uid, "ans_id": f"{model}-{uid}", "model": model,
            "messages": [{"role": "user", "content": question}, {"role": "assistant", "content": {"answer": answer}}],
            "tstamp": time.time(), "metadata": metadata}


def _game_score(game: Any, path: Path, line: int, i: int) -> str | None:
    if game is None:
        return None
    if not isinstance(game, dict):
        raise InputError(path, "must be an object or null", line, f"games[{i}]")
    score = game.get("score")
    if score is not None and not isinstance(score, str):
        raise InputError(path, "must be a verdict label or null", line, f"games[{i}].score")
    return score


def read_judgments(path: Path) -> list[ArenaJudgment]:
    """``model_judgment/<judge>/<model>.jsonl``: one record per question with its two games."""
    out = []
    for line, obj in iter_jsonl(path):
        games = obj.get("games") if isinstance(obj, dict) else None
        if not isinstance(games, list) or len(games) != 2:
            raise InputError(path, "must list the question's two games", line, "games")
        scores = (_game_score(games[0], path, line, 0), _game_score(games[1], path, line, 1))
        out.append(ArenaJudgment(_string(obj, "uid", path, line), _string(obj, "category", path, line),
                                 str(obj.get("judge") or path.parent.name), _string(obj, "model", path, line),
                                 _string(obj, "baseline", path, line), scores, line))
    return out


def judgment_files(path: Path) -> list[Path]:
    """A judgment file, a judge's folder of them, or a model_judgment/ folder holding one judge's folder."""
    if path.is_file():
        return [path]
    files = sorted(path.glob("*.jsonl"))
    if not files:
        judges = [p for p in sorted(path.iterdir()) if p.is_dir() and any(p.glob("*.jsonl"))] if path.is_dir() else []
        if len(judges) > 1:
            raise InputError(path, f"holds several judges' folders ({', '.join(p.name for p in judges)}); pass one")
        files = sorted(judges[0].glob("*.jsonl")) if judges else []
    if not files:
        raise InputError(path, "holds no Arena-Hard judgment file (<model>.jsonl with a games list)")
    return files


def write_judgments(path: Path, records: list[dict[str, Any]]) -> None:
    write_jsonl_atomic(path, records)
