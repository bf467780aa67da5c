"""build(): read the sources, de-duplicate, split by question, augment, render, write LLaMA-Factory files.

Order matters and is fixed: duplicates go before the split (so a task cannot sit in train and test), the
split is by question before augmentation (so a swapped copy stays on its original's side), and
de-duplication by rendered prompt comes last (a swap can recreate a game the source already had, as
FastChat pair judgments hold both orders). Everything is computed in memory first and the files are
written at the end, each atomically, so a bad input line leaves no half-written dataset behind.
"""
from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError, LlmJudgeError
from ..jsonl import dumps
from . import augment, llamafactory
from .convert import SourceSpec, read_source
from .formats import TrainingFormat, Unrenderable, get_format
from .record import JudgeRecord
from .summary import SourceStats

Example = dict[str, Any]


@dataclass
class BuildOptions:
    name: str = "judge_sft"
    test_ratio: float = 0.1
    swap: bool = True
    ref_drop: float = 0.0  # share of records with a reference that lose it (train split only)
    seed: int = 42
    max_per_source: int | None = None
    format: str = "fastchat"  # a judge family (fastchat, autoj, judgelm, pandalm, prometheus) or a registered format
    language: str = "auto"
    judge_file: str | None = None
    # for the LLaMA-Factory YAML
    model: str | None = None
    template: str | None = None
    finetuning_type: str = "lora"
    cutoff_len: int = 2048

    def check(self) -> None:
        if not self.name or any(c in self.name for c in "/\\ "):
            raise ConfigError(f"--name {self.name!r}: use a plain name without spaces or slashes")
        if not 0 <= self.test_ratio < 1:
            raise ConfigError(f"--test-ratio must be in [0, 1), got {self.test_ratio}")
        if not 0 <= self.ref_drop <= 1:
            raise ConfigError(f"--ref-drop must be in [0, 1], got {self.ref_drop}")
        if self.finetuning_type not in ("lora", "full"):
            raise ConfigError(f"--finetuning-type must be lora or full, not {self.finetuning_type!r}")


@dataclass
class BuildResult:
    train: list[tuple[JudgeRecord, Example]]
    test: list[tuple[JudgeRecord, Example]]
    stats: list[dict[str, Any]]
    notes: dict[str, int]
    chat_template: str | None = None  # the judge family's prompt wrapper, for training outside LLaMA-Factory
    files: dict[str, Path] = field(default_factory=dict)


def _sample(records: list[JudgeRecord], n: int | None, seed: int) -> list[JudgeRecord]:
    if n is None or len(records) <= n:
        return records
    keep = sorted(random.Random(seed).sample(range(len(records)), n))
    return [records[i] for i in keep]


def _render(records: list[JudgeRecord], fmt: TrainingFormat, stats: dict[str, SourceStats], split: str,
            seed: int) -> list[tuple[JudgeRecord, Example]]:
    rendered: list[tuple[JudgeRecord, Example]] = []
    for rec in records:
        try:
            example = {"messages": fmt.messages(rec)}
        except Unrenderable as exc:
            stats[rec.source].notes[f"skipped in {split}: {exc}"] += 1
            continue
        try:
            llamafactory.check_example(example)
        except ValueError as exc:
            raise LlmJudgeError(f"{rec.source} record for {rec.instruction[:60]!r}: bad training example: {exc}") from None
        rendered.append((rec, example))

    def prompt_hash(pair: tuple[JudgeRecord, Example]) -> str:
        prompt = pair[1]["messages"][:-1]
        return hashlib.sha1(json.dumps(prompt, ensure_ascii=False).encode("utf-8")).hexdigest()

    dropped: Counter = Counter()
    kept = augment.dedup(rendered, prompt_hash, dropped, lambda pair: pair[0].source)
    for source, n in dropped.items():
        stats[source].prompt_duplicates += n
    random.Random(f"{seed}:{split}").shuffle(kept)
    for rec, example in kept:
        stats[rec.source].add(rec, example, split)
    return kept


def build(specs: list[SourceSpec], out_dir: str | Path, opts: BuildOptions) -> BuildResult:
    opts.check()
    if not specs:
        raise ConfigError("give at least one --source KIND=PATH")
    fmt = get_format(opts.format, opts.language, opts.judge_file)
    stats: dict[str, SourceStats] = {}
    records: list[JudgeRecord] = []
    for spec in specs:
        notes: Counter = Counter()
        got = _sample(read_source(spec, notes), opts.max_per_source, opts.seed)
        stats.setdefault(spec.kind, SourceStats(spec.kind)).notes.update(notes)
        for rec in got:  # "records" files hold records of other sources: count them under theirs
            stats.setdefault(rec.source, SourceStats(rec.source)).converted += 1
        records += got

    dropped: Counter = Counter()
    records = augment.dedup(records, JudgeRecord.content_key, dropped, lambda r: r.source)
    for source, n in dropped.items():
        stats[source].duplicates += n
    train, test = augment.split_by_question(records, opts.test_ratio, opts.seed)
    if opts.swap:
        train, test = augment.with_swaps(train), augment.with_swaps(test)
    train = augment.drop_references(train, opts.ref_drop, opts.seed)

    result = BuildResult(_render(train, fmt, stats, "train", opts.seed), _render(test, fmt, stats, "test", opts.seed),
                         [s.to_json() for s in stats.values() if s.converted or s.notes],
                         dict(getattr(fmt, "counts", {})), getattr(fmt, "chat_template", None))
    if not result.train:
        raise ConfigError("the sources gave no training examples")
    _write(result, Path(out_dir), opts, fmt)
    return result


def _write(result: BuildResult, out: Path, opts: BuildOptions, fmt: TrainingFormat) -> None:
    name, files = opts.name, {}
    splits = [("train", name, result.train)] + ([("test", f"{name}_test", result.test)] if result.test else [])
    entries = {}
    for split, dataset, pairs in splits:
        data = out / f"{name}_{split}.json"
        files[data] = llamafactory.dataset_text(ex for _, ex in pairs)
        files[out / f"{name}_{split}.records.jsonl"] = "".join(dumps(rec.to_json()) + "\n" for rec, _ in pairs)
        entries[dataset] = llamafactory.dataset_info_entry(data.name)
        result.files[split] = data
    info = out / "dataset_info.json"
    files[info] = llamafactory.merged_dataset_info(info, entries)
    template = opts.template or getattr(fmt, "llamafactory_template", None) or (
        "smollm2" if opts.model is None else "default")
    yaml_path = out / f"{name}_{opts.finetuning_type}_sft.yaml"
    files[yaml_path] = llamafactory.training_yaml(
        dataset=name, eval_dataset=f"{name}_test" if result.test else None, dataset_dir=out,
        output_dir=out / "saves" / f"{name}-{opts.finetuning_type}", model=opts.model or llamafactory.DEFAULT_MODEL_ID,
        template=template, finetuning_type=opts.finetuning_type, cutoff_len=opts.cutoff_len)
    summary = out / f"{name}_summary.json"
    files[summary] = json.dumps({"sources": result.stats, "rendering": result.notes, "options": vars(opts)},
                                ensure_ascii=False, indent=2) + "\n"
    llamafactory.write_files(files)
    result.files.update({"dataset_info": info, "yaml": yaml_path, "summary": summary})
