"""Prometheus absolute grading (1-5 with a rubric), in its two published layouts.

- Feedback-Collection (``prometheus-eval/Feedback-Collection``): ``orig_instruction``, ``orig_response``,
  ``orig_reference_answer``, ``orig_criteria``, ``orig_score1_description`` .. ``orig_score5_description``,
  ``orig_feedback``, ``orig_score``.
- The eval sets (``mt_bench_eval.json``, ``vicuna_eval.json``, ...): the full prompt in ``instruction``
  (sections "###The instruction to evaluate:", "###Response to evaluate:", "###Reference Answer (Score 5):",
  "###Score Rubrics:") and three GPT-4 grades in ``gpt4_score`` / ``gpt4_feedback``; the sample's score is
  their median and its rationale the first feedback that gave it.
"""
from __future__ import annotations

import re
import statistics
from pathlib import Path
from typing import Any

from .rows import Row, iter_rows
from .sample import Sample

SCALE = (1.0, 5.0)
_SECTION = re.compile(r"^###(.+?):[ \t]*\n", re.MULTILINE)
_KEYS = {"The instruction to evaluate": "instruction", "Response to evaluate": "response",
         "Reference Answer (Score 5)": "reference", "Score Rubrics": "rubric"}


def _score(row: Row, value: Any, field: str) -> float:
    try:
        score = float(value)
    except (TypeError, ValueError):
        raise row.error(f"must be a number from 1 to 5, got {value!r}", field) from None
    if not 1 <= score <= 5:
        raise row.error(f"must be from 1 to 5, got {value!r}", field)
    return score


def _from_collection(row: Row) -> Sample:
    rubric = f"[{row.get('orig_criteria').strip()}]\n" + "\n".join(
        f"Score {i}: {row.get(f'orig_score{i}_description').strip()}" for i in range(1, 6))
    return Sample(
        "prometheus", str(row.index), row.location, row.get("orig_instruction").strip(),
        (row.get("orig_response").strip(),), reference=row.get("orig_reference_answer", required=False),
        rubric=rubric, score=_score(row, row.get("orig_score", (int, float, str)), "orig_score"), scale=SCALE,
        rationale=row.get("orig_feedback").strip() or None)


def _sections(row: Row) -> dict[str, str]:
    prompt = row.get("instruction")
    heads = list(_SECTION.finditer(prompt))
    parts: dict[str, str] = {}
    for head, nxt in zip(heads, heads[1:] + [None]):
        key = _KEYS.get(head.group(1).strip())
        if key:
            parts[key] = prompt[head.end(): nxt.start() if nxt else len(prompt)].strip()
    missing = [k for k in ("instruction", "response", "rubric") if k not in parts]
    if missing:
        raise row.error(f"the prompt has no section for {', '.join(missing)}", "instruction")
    return parts


def _from_eval_set(row: Row) -> Sample:
    parts = _sections(row)
    scores = [_score(row, s, "gpt4_score") for s in row.get("gpt4_score", list)]
    feedback = row.get("gpt4_feedback", list)
    if not scores or len(feedback) != len(scores):
        raise row.error("needs as many feedback texts as scores", "gpt4_feedback")
    label = float(statistics.median_low(scores))
    rationale = next(str(f) for s, f in zip(scores, feedback) if s == label)
    return Sample(
        "prometheus", str(row.index), row.location, parts["instruction"], (parts["response"],),
        reference=parts.get("reference"), rubric=parts["rubric"], score=label, scale=SCALE,
        rationale=rationale.strip() or None, category=row.get("category", required=False) or "",
        extra={"idx": row.get("idx", (int, str), required=False), "all_scores": scores,
               "response_source": row.get("response_source", required=False)})


def read(path: str | Path) -> list[Sample]:
    return [_from_collection(row) if isinstance(row.obj, dict) and "orig_instruction" in row.obj
            else _from_eval_set(row) for row in iter_rows(path)]
