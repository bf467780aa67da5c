"""JudgeLM-100K (BAAI/JudgeLM-100K: ``judgelm_train_100k.jsonl``, ``judgelm_val_5k_gpt4*.jsonl``).

Rows hold ``question_id, question_body, answer1_body, answer2_body, answer1/2_model_id`` and GPT-4's
judgment ``text`` whose first line is the two 1-10 scores ("8 7") followed by the explanation; the scores
are also published as numbers in ``score``. The sample's vote is read from the first line of ``text``, as
JudgeLM's own evaluation does (unparseable: no vote); its ``scores`` are the ``score`` field. Rows with a
reference answer (``reference.text``) may carry a second judgment made while seeing it,
``text_w_reference`` / ``score_w_reference``: the sample's ``with_reference``.
"""
from __future__ import annotations

import re
from pathlib import Path

from .rows import Row, iter_rows, read_responses
from .sample import ONE, TIE, TWO, Judgment, Sample, Verdict

_SCORE_LINE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s+(-?\d+(?:\.\d+)?)\s*(?:\n|$)")


def text_scores(text: str) -> tuple[float, float] | None:
    """JudgeLM's verdict: the first line holds the two scores ("8 7" or "8, 7"); None if it does not."""
    parts = text.split("\n", 1)[0].replace(",", " ").split()
    if len(parts) != 2:
        return None
    try:
        return float(parts[0]), float(parts[1])
    except ValueError:
        return None


def scores_verdict(scores: tuple[float, float] | None) -> Verdict:
    if scores is None:
        return None
    return ONE if scores[0] > scores[1] else TWO if scores[1] > scores[0] else TIE


def _judgment(row: Row, text_key: str, score_key: str) -> Judgment:
    text = row.get(text_key, required=False)
    verdict = scores_verdict(text_scores(text)) if text is not None else None
    scores = row.get(score_key, list, required=False)
    if scores is not None:
        if len(scores) != 2 or not all(isinstance(s, (int, float)) and not isinstance(s, bool) for s in scores):
            raise row.error(f"must be a list of two numbers, got {scores!r}", score_key)
        scores = (float(scores[0]), float(scores[1]))
    explanation = _SCORE_LINE.sub("", text, count=1).strip() if text is not None else ""
    return Judgment((verdict,) if verdict else (), scores, explanation or None)


def _sample(row: Row) -> Sample:
    plain = _judgment(row, "text", "score")
    ref = row.get("reference", (dict, str), required=False)
    ref_text = ref.get("text") if isinstance(ref, dict) else ref
    with_ref = None
    if ref_text and row.get("text_w_reference", required=False) is not None:
        with_ref = _judgment(row, "text_w_reference", "score_w_reference")
    models = (row.get("answer1_model_id", required=False), row.get("answer2_model_id", required=False))
    responses, quirks = read_responses(row, "answer1_body", "answer2_body")
    return Sample("judgelm", str(row.index), row.location, row.text("question_body"), responses,
                  reference=ref_text, votes=plain.votes, scores=plain.scores, scale=(1.0, 10.0),
                  rationale=plain.rationale, with_reference=with_ref, subset="JudgeLM",
                  models=(models[0] or "answer1", models[1] or "answer2"),
                  question_id=row.get("question_id", (int, str), required=False), quirks=quirks,
                  extra={"models": list(models)})


def read(path: str | Path) -> list[Sample]:
    return [_sample(row) for row in iter_rows(path)]
