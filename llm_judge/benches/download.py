"""Fetch a public bench, verified, into data/<bench>/ (FastChat's layout plus a bench.json).

The command is ``python -m llm_judge.download`` (:mod:`llm_judge.cli.download`).
Files come from their upstream repositories at pinned commits, or from a mirror: a local folder or base
URL holding each file at its registry ``mirror`` path (the layout of ../shared/data). Every file's sha256
is checked. Work happens in data/.download-<bench>/; only when every file is fetched, converted and
checked are they moved into data/<bench>/, each with one rename, so the bench folder never holds a
half-written file. An interrupted run resumes from what it left there; a checksum mismatch removes it.
"""
from __future__ import annotations

import json
import logging
import shutil
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from ..bench import BenchConfig, load_answer_file, load_questions
from .registry import RegistryEntry, RegistryFile
from ..errors import ChecksumError, ConfigError, InputError
from .fetch import fetch, is_url, local_path, sha256_of
from ..judging.prompts import load_prompt_file
from ..records import QuestionId, read_judgments
from ..jsonl import iter_jsonl, write_jsonl_atomic

log = logging.getLogger("llm_judge.download")


# ---- conversions: pure, deterministic, so the converted file's sha256 is known in advance

def int_question_ids(src: Path, dst: Path) -> None:
    """Answers whose question ids are digit strings ("1") get the integer ids their question file uses."""
    records = []
    for _, obj in iter_jsonl(src):
        qid = obj.get("question_id") if isinstance(obj, dict) else None
        if isinstance(qid, str) and qid.isascii() and qid.isdigit():
            obj["question_id"] = int(qid)
        records.append(obj)
    write_jsonl_atomic(dst, records)


CONVERTERS = {"int_question_ids": int_question_ids}


# ---- where each file comes from

def location(entry: RegistryEntry, f: RegistryFile, mirror: str | None) -> str:
    if mirror is None:
        return entry.upstream_url(f)
    if is_url(mirror):
        return mirror.rstrip("/") + "/" + urllib.parse.quote(f.mirror)
    return str(local_path(mirror) / f.mirror)


def check_mirror(mirror: str | None) -> None:
    if mirror is not None and not is_url(mirror) and not local_path(mirror).is_dir():
        raise ConfigError(f"--mirror {mirror}: not a folder, and not an http(s) URL")


def bench_json_text(entry: RegistryEntry) -> str:
    return json.dumps(entry.bench, ensure_ascii=False, indent=2) + "\n"


# ---- checks of fetched files, by kind

def _check_answers(path: Path, question_ids: set[QuestionId]) -> None:
    ids = set(load_answer_file(path))
    if question_ids and not ids & question_ids:
        sample = sorted(map(repr, ids))[:3]
        raise InputError(path, f"no question_id in common with the bench's questions (ids here: {', '.join(sample)})")


def check_files(staged: dict[str, Path], files: list[RegistryFile], question_file: Path) -> None:
    """Parse every fetched file as its kind says; answers must share question ids with the bench."""
    question_ids = {q.question_id for q in load_questions(question_file)} if question_file.exists() else set()
    for f in files:
        path = staged[f.dest]
        if f.kind == "questions":
            load_questions(path)
        elif f.kind == "answers":
            _check_answers(path, question_ids)
        elif f.kind == "judge_prompts":
            load_prompt_file(path)
        else:
            read_judgments(path)  # every record a valid single or pairwise judgment


# ---- one bench

@dataclass
class Outcome:
    fetched: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    bytes: int = 0


def _plan(entry: RegistryEntry, files: list[RegistryFile], bench_dir: Path,
          force: bool) -> tuple[list[RegistryFile], list[str], bool]:
    """(files to fetch, files already in place, whether bench.json is to be written); refuses to clobber."""
    todo, present, conflicts = [], [], []
    for f in files:
        dest = bench_dir / f.dest
        if not dest.exists():
            todo.append(f)
        elif sha256_of(dest) == f.final_sha256:
            present.append(f.dest)
        elif force:
            todo.append(f)
        else:
            conflicts.append(str(dest))
    config = bench_dir / "bench.json"
    write_config = not config.exists() or config.read_text(encoding="utf-8") != bench_json_text(entry)
    if write_config and config.exists() and not force:
        conflicts.append(str(config))
    if conflicts:
        more = f" (and {len(conflicts) - 1} more)" if len(conflicts) > 1 else ""
        raise ConfigError(f"{conflicts[0]}{more} exists and differs from the published {entry.name} file; "
                          f"move it away, or pass --force to replace it")
    return todo, present, write_config


def download_bench(entry: RegistryEntry, data_dir: Path, mirror: str | None = None, answers: bool = False,
                   judgments: bool = False, force: bool = False, timeout: float = 60.0) -> Outcome:
    files = entry.select(answers, judgments)
    bench_dir = data_dir / entry.name
    todo, present, write_config = _plan(entry, files, bench_dir, force)
    outcome = Outcome(present=present)
    if not todo and not write_config:
        return outcome
    work = data_dir / f".download-{entry.name}"
    staged: dict[str, Path] = {}
    try:
        for f in todo:
            raw = work / "upstream" / f.dest
            if not (raw.exists() and sha256_of(raw) == f.sha256):  # else kept from an interrupted run
                where = location(entry, f, mirror)
                log.info("%s: fetching %s (%d KB) from %s", entry.name, f.dest, (f.size + 1023) // 1024, where)
                fetch(where, raw, f.sha256, f.size, timeout)
            staged[f.dest] = raw
            if f.convert:
                converted = work / "converted" / f.dest
                CONVERTERS[f.convert](raw, converted)
                got = sha256_of(converted)
                if got != f.dest_sha256:
                    raise ChecksumError(f"{entry.path}: converting {f.dest} ({f.convert}) gave sha256 {got}, "
                                        f"expected {f.dest_sha256}")
                staged[f.dest] = converted
            outcome.fetched.append(f.dest)
            outcome.bytes += f.size
        question_file = staged.get("question.jsonl", bench_dir / "question.jsonl")
        check_files(staged, todo, question_file)
        if write_config:
            config = work / "bench.json"
            config.write_text(bench_json_text(entry), encoding="utf-8")
            BenchConfig.load(config)
            staged["bench.json"] = config
    except (ChecksumError, InputError):
        shutil.rmtree(work, ignore_errors=True)  # wrong bytes are not worth resuming: leave nothing behind
        raise
    # question.jsonl goes last: the folder only counts as a bench once everything else is in place.
    for dest in sorted(staged, key=lambda d: d == "question.jsonl"):
        target = bench_dir / dest
        target.parent.mkdir(parents=True, exist_ok=True)
        staged[dest].replace(target)
    shutil.rmtree(work, ignore_errors=True)
    return outcome
