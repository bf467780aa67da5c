"""MT-bench human judgments (lmsys/mt_bench_human_judgments, as FastChat's compute_agreement reads them).

Each record is one vote: ``question_id, model_a, model_b, winner ("model_a", "model_b", "tie",
"tie (bothbad)"), judge, turn, conversation_a, conversation_b``. Human judges are named ("expert_3",
"author_0"); model judges are lists (["gpt-4", "pair-v2"]) and are predictions, not labels. As
compute_agreement does, a sample is (question, the two models in name order, turn) and a vote given with
the models the other way round is flipped. Sample ids are ``<question>/<model 1>/<model 2>/turn<n>``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from .rows import Row, iter_rows
from .sample import ONE, TIE, TWO, Sample, Turn, flip

WINNER = {"model_a": ONE, "model_b": TWO, "tie": TIE, "tie (bothbad)": TIE}


def _conversation(row: Row, key: str, turn: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    conv = row.object().get(key)
    if not isinstance(conv, list) or not all(isinstance(m, dict) and isinstance(m.get("content"), str) for m in conv):
        raise row.error("must be a list of {role, content} messages", key)
    users = tuple(m["content"] for m in conv if m.get("role") == "user")[:turn]
    replies = tuple(m["content"] for m in conv if m.get("role") == "assistant")[:turn]
    if len(users) < turn or len(replies) < turn:
        raise row.error(f"has fewer than {turn} user/assistant turns", key)
    return users, replies


@dataclass
class _Pair:
    row: Row  # the first vote's record, for the conversation and error messages
    users: tuple[str, ...]
    answers: tuple[tuple[str, ...], tuple[str, ...]]
    votes: list[str] = field(default_factory=list)


def _human_vote(row: Row, annotators: tuple[str, ...]) -> tuple[tuple, bool, str] | None:
    """(pair key, models swapped?, winner) of a human vote; None for other judges' votes."""
    obj = row.object()
    judge = obj.get("judge")
    if not isinstance(judge, str) or not judge.startswith(tuple(annotators)):
        return None
    qid = obj.get("question_id")
    if isinstance(qid, bool) or not isinstance(qid, (int, str)):
        raise row.error("is missing or not an integer", "question_id")
    turn = obj.get("turn")
    if turn not in (1, 2):
        raise row.error(f"must be 1 or 2, got {json.dumps(turn)}", "turn")
    a, b = row.text("model_a"), row.text("model_b")
    winner = row.choice("winner", WINNER)
    return (qid, min(a, b), max(a, b), turn), b < a, winner


def _sample(key: tuple, pair: _Pair) -> Sample:
    qid, m1, m2, turn = key
    history = tuple(Turn(pair.users[t], (pair.answers[0][t], pair.answers[1][t])) for t in range(turn - 1))
    return Sample("mtbench-human", f"{qid}/{m1}/{m2}/turn{turn}", pair.row.location, pair.users[-1],
                  (pair.answers[0][-1], pair.answers[1][-1]), history=history, votes=tuple(pair.votes),
                  subset=f"turn {turn}", models=(m1, m2), question_id=qid)


def read(path: str | Path, annotators: tuple[str, ...] = ("expert",)) -> list[Sample]:
    """Votes of judges whose name starts with one of ``annotators`` ("expert", "author"), grouped per pair."""
    pairs: dict[tuple, _Pair] = {}
    for row in iter_rows(path):
        vote = _human_vote(row, annotators)
        if vote is None:
            continue
        key, swapped, winner = vote
        pair = pairs.get(key)
        if pair is None:
            users, replies_a = _conversation(row, "conversation_a", key[3])
            _, replies_b = _conversation(row, "conversation_b", key[3])
            pair = pairs[key] = _Pair(row, users, (replies_b, replies_a) if swapped else (replies_a, replies_b))
        pair.votes.append(flip(winner) if swapped else winner)
    if not pairs:
        raise InputError(path, f"holds no votes by judges named {' or '.join(a + '*' for a in annotators)}")
    return [_sample(key, pair) for key, pair in pairs.items()]
