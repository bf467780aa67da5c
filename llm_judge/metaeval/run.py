"""Run a judge over a labelled set in both orders, writing FastChat pairwise judgment records, resumably.

Each labelled pair becomes a pairwise match of the harness (question = the pair's turns, "models" = the
pair's two responses), so any judge the harness supports judges it exactly as ``gen_judgment`` would:
the same prompts (rendered by judges/prompts.py), the same verdict parsers, the same engines (local
transformers, vLLM, API), generation or score-distribution judging, and judges/run.py's ``run_matches``
writes the records. Game 1 shows response 1 as assistant A (order 1), game 2 shows response 2 as A
(order 2). Records go through a JsonlStore keyed like gen_judgment's, so a rerun skips judged pairs and
retries failed ones.
"""
from __future__ import annotations

from pathlib import Path
from typing import Collection, Sequence

from ..judging.matches import Match
from ..judging.prompts import PromptSet
from ..datasets.rows import read_rows
from ..records import Answer, PairKey, Question
from .pairs import LabelledPair, LabelledSet
from .predictions import Predictions, from_fastchat_records, pair_judgment


def pair_match(pair: LabelledPair, prompts: PromptSet) -> Match:
    """The pairwise match that judges ``pair``: its turns as the question, its responses as two answers."""
    question = Question(pair.qid, pair.category or pair.subset or "general", list(pair.turns))
    answers = tuple(Answer(pair.qid, model, [{"index": 0, "turns": list(turns)}])
                    for model, turns in ((pair.model_1, pair.answers_1), (pair.model_2, pair.answers_2)))
    prompt = prompts.get(pairwise=True, reference=pair.reference is not None, multi_turn=pair.turn > 1)
    return Match(question, pair.turn, (pair.model_1, pair.model_2), answers, prompt,
                 list(pair.reference) if pair.reference is not None else None)


def plan(items: Sequence[LabelledPair], prompts: PromptSet) -> list[Match]:
    prompts.check(pairwise=True, reference=any(p.reference is not None for p in items),
                  multi_turn=any(p.turn > 1 for p in items))
    return [pair_match(p, prompts) for p in items]


def read_run(path: Path, labelled: LabelledSet, name: str, keys: Collection[PairKey] | None = None) -> Predictions:
    """A run's records (failed ones included, as pairs without a verdict) as predictions on the set.

    ``keys`` keeps only the records of these matches (``Match.key``): a file that also holds judgments
    made with another prompt, by an earlier run, does not mix them in.
    """
    records = [(path, pair_judgment(row)) for row in (read_rows(path) if path.exists() else [])]
    if keys is not None:
        records = [(p, r) for p, r in records if r.key in keys]
    return from_fastchat_records(records, labelled, name)
