"""Training-data sources, each read into JudgeRecord: published datasets (through llm_judge.datasets),
judgment files (FastChat's and ours) and make_traindata's own records.

A source is named on the command line as ``KIND=PATH[,option=value...]``. Each reader takes the path,
its options and a counter in which it tallies the rows it skipped and why; bad input raises InputError
naming the file, the line (JSONL) or ``[item]`` (JSON array), and the field.
"""
from __future__ import annotations

import importlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ...errors import ConfigError, InputError
from ..record import JudgeRecord

Reader = Callable[[Path, dict[str, str], Counter], list[JudgeRecord]]

# kind -> (module.function that reads it, what it reads, options it takes)
KINDS: dict[str, tuple[str, str, dict[str, str]]] = {
    "autoj": ("published.read_autoj", "Auto-J training data (single_traindata.jsonl or pairwise_traindata.jsonl)", {}),
    "llmbar": ("published.read_llmbar", "LLMBar dataset.json (a file, or a folder searched for */dataset.json)", {}),
    "pandalm": ("published.read_pandalm", "PandaLM testset-v1.json (human labels, majority of three)", {
        "rationales": "a PandaLM / GPT-3.5 prediction file joined on idx; its reason becomes the rationale "
                      "where its verdict agrees with the human label"}),
    "judgments": ("judgments.read", "FastChat single/pair judgment files, e.g. MT-bench GPT-4 judgments, or "
                                    "this harness's own model_judgment files", {
        "bench": "bench folder with question.jsonl and model_answer/ (default: the folder above model_judgment/)",
        "agreeing_only": "1: keep a pairwise judgment only when both presentation orders name the same winner"}),
    "judgelm": ("published.read_judgelm",
                "JudgeLM-100K (judgelm_train_100k.jsonl and the val files in its layout)", {}),
    "prometheus": ("published.read_prometheus",
                   "Prometheus Feedback-Collection, or its eval sets with full prompts", {}),
    "records": ("records.read", "unified records written by make_traindata (*.records.jsonl)", {}),
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
    module, function = KINDS[spec.kind][0].rsplit(".", 1)  # imported on use: judgments needs the bench code
    reader: Reader = getattr(importlib.import_module(f"{__name__}.{module}"), function)
    return reader(spec.path, spec.options, skipped)
