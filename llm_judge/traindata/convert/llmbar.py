"""LLMBar (princeton-nlp/LLMBar): ``dataset.json`` lists of ``{input, output_1, output_2, label}``.

``label`` is 1 or 2, the output that follows the instruction; there are no ties and no rationales. The
path may be one file or a folder: every ``dataset.json`` below it is read, and the subset folder
("Natural", "Adversarial/Neighbor", "Processed/FairEval", ...) becomes the record's scenario.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from ...errors import InputError
from ..record import JudgeRecord
from . import iter_rows

_LABELS = {1: "A", 2: "B"}


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    files = sorted(path.rglob("dataset.json"))
    if not files:
        raise InputError(path, "holds no dataset.json file")
    return files


def read(path: Path, options: dict[str, str], skipped: Counter) -> list[JudgeRecord]:
    records: list[JudgeRecord] = []
    for file in _files(path):
        subset = file.parent.relative_to(path).as_posix() if path.is_dir() else file.parent.name
        for row in iter_rows(file):
            label = row.get("label", int)
            if label not in _LABELS:
                raise row.error(f"must be 1 or 2, got {label}", "label")
            records.append(row.checked(JudgeRecord(
                source="llmbar", instruction=row.get("input"),
                responses=[row.get("output_1"), row.get("output_2")], label=_LABELS[label],
                scenario=subset or "llmbar")))
    return records
