"""PandaLM's human-annotated test set (WeOpenML/PandaLM ``data/testset-v1.json``).

Rows hold ``idx, instruction, input, response1, response2`` and three annotators' labels
(0 = tie, 1 = response1 better, 2 = response2 better); the label is their majority. A row where all three
disagree has no majority and is skipped. Option ``rationales=FILE`` joins a released prediction file on
``idx`` (``gpt-3.5-turbo-testset-v1.json``: ``gpt_result``/``gpt_reason``; ``pandalm-7b-testset-v1.json``:
``pandalm_result``/``pandalm_reason``) and keeps its reason as the rationale only where its verdict equals
the human label, so no rationale argues against its label.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from ..record import JudgeRecord
from . import Row, iter_rows

_LABELS = {0: "tie", 1: "A", 2: "B"}
_PREDICTED = {"0": "tie", "tie": "tie", "1": "A", "2": "B"}
NAMES = ("Response 1", "Response 2")


def _majority(row: Row) -> str | None:
    votes = []
    for key in ("annotator1", "annotator2", "annotator3"):
        vote = row.get(key, int)
        if vote not in _LABELS:
            raise row.error(f"must be 0, 1 or 2, got {vote}", key)
        votes.append(vote)
    value, n = Counter(votes).most_common(1)[0]
    return _LABELS[value] if n >= 2 else None


def _response(row: Row, key: str, skipped: Counter) -> str:
    """A response as text. Six rows hold JSON ``true`` where the model answered "True" (the file was
    written through a converter that parsed it); it becomes the text the model wrote."""
    value = row.get(key, (str, bool, int, float))
    if isinstance(value, str):
        return value
    skipped["non-text response read as its text (JSON true -> \"True\")"] += 1
    return str(value)


def _reasons(path: Path) -> dict[int, tuple[str, str]]:
    """idx -> (predicted label, reason) from a prediction file; unparseable verdicts are left out."""
    out: dict[int, tuple[str, str]] = {}
    for row in iter_rows(path):
        prefix = "gpt" if "gpt_result" in row.obj else "pandalm"
        verdict = _PREDICTED.get(str(row.get(f"{prefix}_result", (int, str))).strip().lower())
        reason = row.get(f"{prefix}_reason", required=False)
        if verdict and reason:
            out[row.get("idx", int)] = (verdict, reason.strip())
    return out


def read(path: Path, options: dict[str, str], skipped: Counter) -> list[JudgeRecord]:
    reasons = _reasons(Path(options["rationales"])) if options.get("rationales") else {}
    records: list[JudgeRecord] = []
    for row in iter_rows(path):
        label = _majority(row)
        if label is None:
            skipped["no majority among the annotators"] += 1
            continue
        idx = row.get("idx", int)
        predicted = reasons.get(idx)
        rationale = predicted[1] if predicted and predicted[0] == label else None
        if predicted and rationale is None:
            skipped["rationale dropped: its verdict differs from the human label"] += 1
        records.append(row.checked(JudgeRecord(
            source="pandalm", instruction=row.get("instruction"), input=row.get("input", required=False) or "",
            responses=[_response(row, "response1", skipped), _response(row, "response2", skipped)], label=label, rationale=rationale,
            names=NAMES if rationale else None, scenario=row.get("motivation_app", required=False) or "general",
            meta={"idx": idx, "cmp_key": row.get("cmp_key", required=False)})))
    return records
