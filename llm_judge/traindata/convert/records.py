"""Unified records as make_traindata writes them (``*.records.jsonl``), to rebuild or mix datasets."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from ...datasets.rows import iter_rows
from ..record import JudgeRecord


def read(path: Path, options: dict[str, str], skipped: Counter) -> list[JudgeRecord]:
    records = []
    for row in iter_rows(path):
        if not isinstance(row.obj, dict):
            raise row.error(f"expected a JSON object, got {type(row.obj).__name__}")
        try:
            records.append(JudgeRecord.from_json(row.obj))
        except KeyError as exc:
            raise row.error("is missing", str(exc.args[0])) from None
        except (TypeError, ValueError) as exc:
            raise row.error(str(exc)) from None
    return records
