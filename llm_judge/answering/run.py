"""Step 1's library: answer a bench's questions with any engine, turn by turn, resumably.

All (question, choice) conversations of a chunk advance one turn at a time, so every turn is one batch
for the engine and turn 2 sees the model's own turn-1 answer. A question's answer is written when all
its turns are done; on a rerun, questions already in the answer file are skipped, and --share workers
divide the questions of one answer file (claims.py).
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import Any, Callable

from ..bench import Bench
from ..engines.base import ChatModel, GenRequest, request_params
from ..records import Answer, Question
from ..claims import take_turns
from ..jsonl import JsonlStore
from ..locks import LockOptions
from .model_config import replace_tokens

log = logging.getLogger(__name__)


@dataclass
class AnswerSettings:
    max_new_tokens: int = 1024
    num_choices: int = 1
    temperature: float | None = None  # None: per category from the bench config / FastChat defaults
    top_p: float = 1.0
    repetition_penalty: float = 1.0
    seed: int | None = None
    system_prompt: str | None = None
    chunk_size: int = 64  # questions per chunk: a crash loses at most one chunk's work
    token_map: dict[str, str] = field(default_factory=dict)  # a model config's special_token_map, for answers
    model_config: dict[str, Any] | None = None  # the model config file used, stored with every answer


@dataclass
class AnswerSummary:
    written: int = 0
    failed: int = 0
    completion_tokens: int = 0


def request_seed(run_seed: int, question_id: Any, choice: int, turn: int) -> int:
    """The seed of one request: a stable hash of (run seed, question id, choice, turn), below 2**31.

    Fixed by the question and not by its place in the run, so an answer is the same whatever the batch
    size, the number of workers or the questions answered with it. sha256, not ``hash()``: Python salts
    string hashes per process. Below 2**31 so that any API taking a seed accepts it.
    """
    digest = hashlib.sha256(f"{run_seed}:{question_id}:{choice}:{turn}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def answer_store(path, lock: LockOptions | None = LockOptions()) -> JsonlStore:
    return JsonlStore(path, lambda r: r["question_id"], lock)


def pending(questions: list[Question], store: JsonlStore) -> list[Question]:
    """The questions with no answer in ``store`` yet (failed answers count as not answered)."""
    return [q for q in questions if q.question_id not in store]


def answer_questions(model: ChatModel, bench: Bench, todo: list[Question], model_id: str, store: JsonlStore,
                     settings: AnswerSettings, on_answer: Callable[[dict[str, Any]], None] | None = None) -> AnswerSummary:
    """Answer every question of ``todo`` (see :func:`pending`) that ``store`` gives this process (all of them,
    or with --share a chunk at a time that no other live worker has claimed), writing each answer when all
    its turns are done."""
    summary = AnswerSummary()
    by_id = {q.question_id: q for q in todo}
    ids = list(by_id)

    def work(mine: list) -> None:
        for start in range(0, len(mine), settings.chunk_size):
            chunk = [by_id[qid] for qid in mine[start:start + settings.chunk_size]]
            for record in _answer_chunk(model, bench, chunk, model_id, settings, summary):
                store.append(record)
                if on_answer:
                    on_answer(record)

    take_turns(lambda n: store.claim(ids, n), lambda: store.waiting(ids), work, settings.chunk_size)
    return summary


def _answer_chunk(model: ChatModel, bench: Bench, chunk: list[Question], model_id: str,
                  settings: AnswerSettings, summary: AnswerSummary) -> list[dict[str, Any]]:
    convs: list[tuple[int, int, list[dict[str, str]]]] = []  # (question index, choice, messages so far)
    for qi in range(len(chunk)):
        for c in range(settings.num_choices):
            msgs = [{"role": "system", "content": settings.system_prompt}] if settings.system_prompt else []
            convs.append((qi, c, msgs))
    replies: dict[tuple[int, int], list[str]] = {(qi, c): [] for qi in range(len(chunk)) for c in range(settings.num_choices)}
    errors: dict[int, str] = {}
    tokens: dict[int, int] = {}
    params: dict[int, dict[str, Any]] = {}
    max_turns = max(len(q.turns) for q in chunk)
    for turn in range(max_turns):
        active = [i for i, (qi, _, _) in enumerate(convs) if turn < len(chunk[qi].turns) and qi not in errors]
        requests = []
        for i in active:
            qi, c, msgs = convs[i]
            q = chunk[qi]
            msgs.append({"role": "user", "content": q.turns[turn]})
            temp = settings.temperature if settings.temperature is not None else bench.temperature_for(q.category)
            seed = None if settings.seed is None else request_seed(settings.seed, q.question_id, c, turn)
            requests.append(GenRequest(messages=list(msgs), max_new_tokens=settings.max_new_tokens, temperature=temp,
                                       top_p=settings.top_p, repetition_penalty=settings.repetition_penalty, seed=seed))
        keyed = getattr(model, "stream_keyed", None)  # a batch engine (--batch) names requests by record key
        keys = [f"q{chunk[convs[i][0]].question_id} c{convs[i][1]} t{turn + 1}" for i in active] if keyed else []
        for ri, result in keyed(requests, keys) if keyed is not None else model.stream(requests):
            qi, c, msgs = convs[active[ri]]
            params.setdefault(qi, request_params(requests[ri]))
            if not result.ok:
                errors[qi] = f"turn {turn + 1}: {result.error}"
                continue
            # Turn 2 sees the answer as stored: with special_token_map applied (the chat template undoes it).
            text = result.text or ""
            if settings.token_map:
                text = replace_tokens(text, settings.token_map).strip()
            msgs.append({"role": "assistant", "content": text})
            replies[(qi, c)].append(text)
            tokens[qi] = tokens.get(qi, 0) + (result.completion_tokens or 0)
    out = []
    for qi, q in enumerate(chunk):
        choices = [{"index": c, "turns": replies[(qi, c)]} for c in range(settings.num_choices)]
        extra: dict[str, Any] = {"generation": _generation(model, q, params.get(qi, {}), settings)}
        if qi in errors:
            extra["error"] = errors[qi]
            summary.failed += 1
        else:
            summary.written += 1
            summary.completion_tokens += tokens.get(qi, 0)
        out.append(Answer(question_id=q.question_id, model_id=model_id, choices=choices, extra=extra).to_json())
    return out


def _generation(model: ChatModel, q: Question, params: dict[str, Any], settings: AnswerSettings) -> dict[str, Any]:
    """An answer's ``generation`` field: the engine and the settings that reproduce the answer.

    ``seed`` is the run's seed; ``turn_seeds[c][t]`` the seed choice ``c``'s turn ``t`` was sampled with
    (``request_seed``), so that a single turn can be reproduced from its record alone.
    """
    gen = dict(model.describe())
    gen.update(params)
    if settings.model_config is not None:
        gen["model_config"] = settings.model_config
    if settings.seed is not None:
        gen["seed"] = settings.seed
        gen["turn_seeds"] = [[request_seed(settings.seed, q.question_id, c, t) for t in range(len(q.turns))]
                             for c in range(settings.num_choices)]
    return gen
