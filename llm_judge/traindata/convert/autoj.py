"""Auto-J training data (GAIR-NLP/auto-j, ``data/training/``).

Both files hold ``usrmsg`` (the README spells it ``usermsg``): the full Auto-J judge prompt with the query
and response(s) between ``[BEGIN DATA]`` and ``[END DATA]``, separated by ``***`` lines, plus
``target_output`` (GPT-4's critique), ``scenario`` and ``source_dataset``.

- single_traindata.jsonl: ``pred_score`` (GPT-4's 1-10 rating); the critique ends "Rating: [[5]]".
- pairwise_traindata.jsonl: ``gt_label`` (human) and ``pred_label`` (GPT-4), 0 = first response better,
  1 = second, 2 = tie; the critique ends "So, the final decision is Response 1 / Response 2 / Tie".
  The label is GPT-4's, the one its critique argues for; the human label is kept in ``meta``.
"""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from ..rationale import strip_final_verdict
from ..record import JudgeRecord
from . import Row, iter_rows

_DATA = re.compile(r"\[BEGIN DATA\]\s*\*\*\*\s*(.*?)\s*\*\*\*\s*\[END DATA\]", re.DOTALL)
_FIELD = re.compile(r"^\[(Query|Response|Response 1|Response 2)\]: ?", re.MULTILINE)
_SEPARATOR = re.compile(r"\n\*\*\*\n(?=\[(?:Query|Response(?: [12])?)\]: ?)")
_RATING = re.compile(r"Rating:\s*\[\[\s*(\d+(?:\.\d+)?)\s*\]\]")
_DECISION = re.compile(r"So, the final decision is (Response 1|Response 2|Tie)\b\.?")
_LABELS = {0: "A", 1: "B", 2: "tie"}
NAMES = ("Response 1", "Response 2")


def _fields(row: Row, usrmsg: str) -> dict[str, str]:
    """The ``[Query]: ...`` / ``[Response 1]: ...`` parts between the ``***`` separators."""
    m = _DATA.search(usrmsg)
    if not m:
        raise row.error("has no [BEGIN DATA] *** ... *** [END DATA] block", "usrmsg")
    # Split only where a new part starts: a query or response may itself contain a *** line.
    parts = [p.strip() for p in _SEPARATOR.split(m.group(1))]
    out: dict[str, str] = {}
    for part in parts:
        head = _FIELD.match(part)
        if not head:
            raise row.error(f"a data part does not start with [Query]: or [Response ...]: ({part[:40]!r})", "usrmsg")
        out[head.group(1)] = part[head.end():].strip()
    if "Query" not in out:
        raise row.error("has no [Query]: part", "usrmsg")
    return out


def read(path: Path, options: dict[str, str], skipped: Counter) -> list[JudgeRecord]:
    records: list[JudgeRecord] = []
    for row in iter_rows(path):
        usrmsg = row.get("usrmsg", required=False) or row.get("usermsg")
        target = row.get("target_output")
        scenario = row.get("scenario", required=False) or "general"
        meta = {"source_dataset": row.get("source_dataset", required=False) or ""}
        parts = _fields(row, usrmsg)
        if "pred_label" in row.obj or "gt_label" in row.obj:
            label = row.get("pred_label", int)
            if label not in _LABELS:
                raise row.error(f"must be 0, 1 or 2, got {label}", "pred_label")
            if "Response 1" not in parts or "Response 2" not in parts:
                raise row.error("a pairwise row needs [Response 1]: and [Response 2]: parts", "usrmsg")
            human = row.get("gt_label", int, required=False)
            meta["human_label"] = _LABELS.get(human) if human is not None else None
            rationale = strip_final_verdict(target, _DECISION, lambda m: m.group(0))
            records.append(row.checked(JudgeRecord(
                source="autoj", instruction=parts["Query"], responses=[parts["Response 1"], parts["Response 2"]],
                label=_LABELS[label], rationale=rationale, names=NAMES, scenario=scenario, meta=meta)))
        else:
            score = row.get("pred_score", (int, float, str))
            try:
                score = float(score)
            except ValueError:
                raise row.error(f"must be a number, got {score!r}", "pred_score") from None
            if "Response" not in parts:
                raise row.error("a single-response row needs a [Response]: part", "usrmsg")
            rationale = strip_final_verdict(target, _RATING, lambda m: m.group(1))
            records.append(row.checked(JudgeRecord(
                source="autoj", instruction=parts["Query"], responses=[parts["Response"]], score=score,
                scale=(1.0, 10.0), rationale=rationale, scenario=scenario, meta=meta)))
    return records
