"""Readers for the published judgment datasets, one module per format, all yielding JudgeRecord.

A source is named on the command line as ``KIND=PATH[,option=value...]``. Each reader takes the path,
its options and a counter in which it tallies the rows it skipped and why; bad input raises InputError
naming the file, the line (JSONL) or item (JSON list), and the field.
"""
from __future__ import annotations

import importlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from ...errors import ConfigError, InputError
from ...jsonl import iter_jsonl
from ..record import JudgeRecord

Reader = Callable[[Path, dict[str, str], Counter], list[JudgeRecord]]

# kind -> (module, what it reads, options it takes)
KINDS: dict[str, tuple[str, str, dict[str, str]]] = {
    "autoj": ("autoj", "Auto-J training data (single_traindata.jsonl or pairwise_traindata.jsonl)", {}),
    "llmbar": ("llmbar", "LLMBar dataset.json (a file, or a folder searched for */dataset.json)", {}),
    "pandalm": ("pandalm", "PandaLM testset-v1.json (human labels, majority of three)", {
        "rationales": "a PandaLM / GPT-3.5 prediction file joined on idx; its reason becomes the rationale "
                      "where its verdict agrees with the human label"}),
    "judgments": ("judgments", "FastChat single/pair judgment files, e.g. MT-bench GPT-4 judgments, or "
                               "this harness's own model_judgment files", {
        "bench": "bench folder with question.jsonl and model_answer/ (default: the folder above model_judgment/)",
        "agreeing_only": "1: keep a pairwise judgment only when both presentation orders name the same winner"}),
    "judgelm": ("judgelm", "JudgeLM-100K (judgelm_train_100k.jsonl and the val files in its layout)", {}),
    "prometheus": ("prometheus", "Prometheus Feedback-Collection, or its eval sets with full prompts", {}),
    "records": ("records", "unified records written by make_traindata (*.records.jsonl)", {}),
}


@dataclass
class SourceSpec:
    kind: str
    path: Path
    options: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> "SourceSpec":
        kind, sep, rest = text.partition("=")
        kind = kind.strip().lower().replace("-", "_")
        if not sep or not rest:
            raise ConfigError(f"--source {text!r}: expected KIND=PATH (kinds: {', '.join(KINDS)})")
        if kind in ("mtbench", "mt_bench", "fastchat", "ours"):
            kind = "judgments"
        if kind not in KINDS:
            raise ConfigError(f"--source {text!r}: unknown kind {kind!r} (kinds: {', '.join(KINDS)})")
        path, *pairs = rest.split(",")
        options: dict[str, str] = {}
        allowed = KINDS[kind][2]
        for pair in pairs:
            key, eq, value = pair.partition("=")
            if not eq or key not in allowed:
                known = ", ".join(allowed) or "none"
                raise ConfigError(f"--source {text!r}: unknown option {pair!r} for {kind} (options: {known})")
            options[key] = value
        return cls(kind, Path(path), options)


def read_source(spec: SourceSpec, skipped: Counter) -> list[JudgeRecord]:
    if not spec.path.exists():
        raise InputError(spec.path, "file not found")
    module = importlib.import_module(f"{__name__}.{KINDS[spec.kind][0]}")
    return module.read(spec.path, spec.options, skipped)


@dataclass
class Row:
    """One input object and where it came from, for error messages."""

    path: Path
    obj: Any
    line: int | None = None  # JSONL line
    item: int | None = None  # index in a JSON list

    def error(self, message: str, field: str | None = None) -> InputError:
        where = self.path if self.item is None else f"{self.path} item {self.item}"
        return InputError(where, message, self.line, field)

    def get(self, key: str, kind: type | tuple[type, ...] = str, required: bool = True) -> Any:
        if not isinstance(self.obj, dict):
            raise self.error(f"expected a JSON object, got {type(self.obj).__name__}")
        if key not in self.obj or self.obj[key] is None:
            if required:
                raise self.error("is missing", key)
            return None
        value = self.obj[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        # JSON true is a Python int too; accept it only where bool is asked for.
        if not isinstance(value, kinds) or isinstance(value, bool) and bool not in kinds:
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise self.error(f"must be {names}, got {type(value).__name__}", key)
        return value

    def checked(self, record: JudgeRecord) -> JudgeRecord:
        try:
            record.check()
        except ValueError as exc:
            raise self.error(str(exc)) from None
        return record


def iter_rows(path: Path) -> Iterator[Row]:
    """Objects of a JSONL file, or of a JSON file holding a list (as several datasets ship)."""
    if path.suffix == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError(path, f"invalid JSON ({exc.msg} at column {exc.colno})", exc.lineno) from None
        if not isinstance(data, list):
            raise InputError(path, f"expected a JSON list of objects, got {type(data).__name__}")
        for i, obj in enumerate(data):
            yield Row(path, obj, item=i)
        return
    for lineno, obj in iter_jsonl(path):
        yield Row(path, obj, line=lineno)
