"""JudgeLM-100K (BAAI/JudgeLM-100K: ``judgelm_train_100k.jsonl``, ``judgelm_val_5k_gpt4*.jsonl``).

Rows hold ``question_id, question_body, answer1_body, answer2_body`` and GPT-4's judgment ``text`` whose
first line is the two 1-10 scores ("8 7") followed by the explanation, with the scores also in ``score``.
Rows that come with a reference answer (``reference.text``) carry a second judgment made while seeing it,
``text_w_reference`` / ``score_w_reference``: that one is the record's label, and the one made without the
reference is kept so that reference drop can fall back to it, as JudgeLM trains.
"""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from ..record import JudgeRecord, Verdict
from . import Row, iter_rows

_SCORE_LINE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s+(-?\d+(?:\.\d+)?)\s*(?:\n|$)")
NAMES = ("Assistant 1", "Assistant 2")


def _verdict(row: Row, text_key: str, score_key: str) -> Verdict:
    scores = row.get(score_key, list)
    if len(scores) != 2 or not all(isinstance(s, (int, float)) and not isinstance(s, bool) for s in scores):
        raise row.error(f"must be a list of two numbers, got {scores!r}", score_key)
    a, b = float(scores[0]), float(scores[1])
    text = row.get(text_key)
    explanation = _SCORE_LINE.sub("", text, count=1).strip()
    return Verdict(label="A" if a > b else "B" if b > a else "tie", scores=[a, b], rationale=explanation or None)


def read(path: Path, options: dict[str, str], skipped: Counter) -> list[JudgeRecord]:
    records: list[JudgeRecord] = []
    for row in iter_rows(path):
        plain = _verdict(row, "text", "score")
        ref = row.get("reference", (dict, str), required=False)
        ref_text = ref.get("text") if isinstance(ref, dict) else ref
        main, alt = plain, None
        if ref_text and row.get("text_w_reference", required=False) is not None:
            main, alt = _verdict(row, "text_w_reference", "score_w_reference"), plain
        elif ref_text:
            ref_text = None  # no judgment made with the reference: train on the plain one, without it
            skipped["reference left out: no text_w_reference judgment"] += 1
        records.append(row.checked(JudgeRecord(
            source="judgelm", instruction=row.get("question_body").strip(),
            responses=[row.get("answer1_body"), row.get("answer2_body")], reference=ref_text,
            label=main.label, scores=main.scores, scale=(1.0, 10.0), rationale=main.rationale, names=NAMES,
            without_reference=alt,
            meta={"question_id": row.get("question_id", (int, str), required=False),
                  "models": [row.get("answer1_model_id", required=False), row.get("answer2_model_id", required=False)]})))
    return records
