"""Fetch a public bench or data set, verified, into data/<name>/ (for a bench: FastChat's layout plus a bench.json).

The command is ``python -m llm_judge download`` (:mod:`llm_judge.cli.download`).
Files come from their upstream repositories at pinned commits, or from a mirror: a local folder or base
URL holding each file at its registry ``mirror`` path (the layout of :mod:`llm_judge.benches.cache`). Every
file's sha256 is checked. Work happens in <data dir>/.download-<name>/; only when every file is fetched,
converted and checked are they moved into place, each with one rename, so the destination never holds a
half-written file. An interrupted run resumes from what it left there; a checksum mismatch removes it.
A file the registry marks ``upstream_only`` that the mirror lacks is left out (``Outcome.absent``): the
rest is installed, and :func:`absent_note` tells the user where to get it; nothing else is asked for it.
With ``as_mirror`` the files keep their upstream bytes and go to their mirror paths under the data dir:
that is how the download cache is laid out, and such a folder serves as a mirror in turn.
"""
from __future__ import annotations

import json
import logging
import shutil
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

from ..bench import BenchConfig, load_answer_file, load_questions
from .registry import RegistryEntry, RegistryFile
from ..errors import ChecksumError, ConfigError, InputError, NotFound
from .fetch import fetch, is_url, local_path, sha256_of
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


def absent_note(entry: RegistryEntry, f: RegistryFile, mirror: str | None, target: Path) -> str:
    """One line for a file left out because the mirror lacks it: where to get it and where it goes."""
    return (f"note: {entry.name}: {f.dest} is not in the mirror {mirror}; fetch {entry.upstream_url(f)} "
            f"(sha256 {f.sha256}) to {target}, or run this download without --mirror")


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


Check = Callable[[Path], object]  # parses a file of one kind, raising InputError on a bad one


def check_files(staged: dict[str, Path], files: list[RegistryFile], question_file: Path,
                checks: Mapping[str, Check]) -> None:
    """Parse every fetched file as its kind says; answers must share question ids with the bench.

    ``checks`` adds parsers for the kinds read above this package (the command passes the judge prompt
    reader); a kind with no parser, like ``data``, is vouched for by its sha256 alone.
    """
    question_ids: set[QuestionId] = set()
    if question_file.exists() and any(f.kind == "answers" for f in files):  # a data set's may be in another layout
        question_ids = {q.question_id for q in load_questions(question_file)}
    for f in files:
        path = staged[f.dest]
        if f.kind == "questions":
            load_questions(path)
        elif f.kind == "answers":
            _check_answers(path, question_ids)
        elif f.kind == "judgments":
            read_judgments(path)  # every record a valid single or pairwise judgment
        elif f.kind in checks:
            checks[f.kind](path)


# ---- one bench or data set

@dataclass
class Outcome:
    fetched: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    bytes: int = 0
    absent: list[RegistryFile] = field(default_factory=list)  # upstream-only files the mirror lacks


@dataclass(frozen=True)
class Layout:
    """Where files go: a bench or data set folder (converted files, a bench's bench.json), or the mirror
    layout (upstream bytes at their mirror paths, which start with the folder's name)."""
    root: Path
    as_mirror: bool = False

    def target(self, f: RegistryFile) -> Path:
        return self.root / (f.mirror if self.as_mirror else f.dest)

    def sha256(self, f: RegistryFile) -> str:
        return f.sha256 if self.as_mirror else f.final_sha256


def _plan(entry: RegistryEntry, files: list[RegistryFile], layout: Layout,
          force: bool) -> tuple[list[RegistryFile], list[str], bool]:
    """(files to fetch, files already in place, whether bench.json is to be written); refuses to clobber."""
    todo, present, conflicts = [], [], []
    for f in files:
        dest = layout.target(f)
        if not dest.exists():
            todo.append(f)
        elif sha256_of(dest) == layout.sha256(f):
            present.append(f.dest)
        elif force:
            todo.append(f)
        else:
            conflicts.append(str(dest))
    write_config = False
    if entry.is_bench and not layout.as_mirror:
        config = layout.root / "bench.json"
        write_config = not config.exists() or config.read_text(encoding="utf-8") != bench_json_text(entry)
        if write_config and config.exists() and not force:
            conflicts.append(str(config))
    if conflicts:
        more = f" (and {len(conflicts) - 1} more)" if len(conflicts) > 1 else ""
        raise ConfigError(f"{conflicts[0]}{more} exists and differs from the published {entry.name} file; "
                          f"move it away, or pass --force to replace it")
    return todo, present, write_config


def _stage(entry: RegistryEntry, f: RegistryFile, work: Path, mirror: str | None, timeout: float,
           convert: bool) -> Path:
    """The verified file in the work folder: fetched (or kept from an interrupted run), then converted."""
    raw = work / "upstream" / f.dest
    if not (raw.exists() and sha256_of(raw) == f.sha256):
        where = location(entry, f, mirror)
        log.info("%s: fetching %s (%d KB) from %s", entry.name, f.dest, (f.size + 1023) // 1024, where)
        fetch(where, raw, f.sha256, f.size, timeout)
    if not (convert and f.convert):
        return raw
    converted = work / "converted" / f.dest
    CONVERTERS[f.convert](raw, converted)
    got = sha256_of(converted)
    if got != f.dest_sha256:
        raise ChecksumError(f"{entry.path}: converting {f.dest} ({f.convert}) gave sha256 {got}, "
                            f"expected {f.dest_sha256}")
    return converted


def _stage_all(entry: RegistryEntry, todo: list[RegistryFile], work: Path, mirror: str | None, timeout: float,
               convert: bool) -> tuple[dict[str, Path], list[RegistryFile]]:
    """(staged path per dest, upstream-only files the mirror lacks); any other missing file is an error."""
    staged, absent = {}, []
    for f in todo:
        try:
            staged[f.dest] = _stage(entry, f, work, mirror, timeout, convert)
        except NotFound:
            if not (f.upstream_only and mirror is not None):
                raise
            absent.append(f)
    return staged, absent


def download_bench(entry: RegistryEntry, data_dir: Path, mirror: str | None = None, answers: bool = False,
                   judgments: bool = False, force: bool = False, timeout: float = 60.0, as_mirror: bool = False,
                   checks: Mapping[str, Check] | None = None) -> Outcome:
    """Fetch ``entry``'s selected files into ``data_dir/<name>/`` (or at their mirror paths, ``as_mirror``)."""
    files = entry.select(answers, judgments)
    layout = Layout(data_dir if as_mirror else data_dir / entry.name, as_mirror)
    todo, present, write_config = _plan(entry, files, layout, force)
    outcome = Outcome(present=present)
    if not todo and not write_config:
        return outcome
    work = data_dir / f".download-{entry.name}"
    moves: list[tuple[Path, Path]] = []
    try:
        staged, outcome.absent = _stage_all(entry, todo, work, mirror, timeout, not as_mirror)
        todo = [f for f in todo if f.dest in staged]
        if not as_mirror:  # upstream bytes need no parse: their sha256 vouches for them
            check_files(staged, todo, staged.get("question.jsonl", layout.root / "question.jsonl"), checks or {})
        moves = [(staged[f.dest], layout.target(f)) for f in todo]
        if write_config:
            config = work / "bench.json"
            config.write_text(bench_json_text(entry), encoding="utf-8")
            BenchConfig.load(config)
            moves.append((config, layout.root / "bench.json"))
    except (ChecksumError, InputError):
        shutil.rmtree(work, ignore_errors=True)  # wrong bytes are not worth resuming: leave nothing behind
        raise
    # question.jsonl goes last: the folder only counts as a bench once everything else is in place.
    for src, target in sorted(moves, key=lambda move: move[1] == layout.root / "question.jsonl"):
        target.parent.mkdir(parents=True, exist_ok=True)
        src.replace(target)
    shutil.rmtree(work, ignore_errors=True)
    outcome.fetched = [f.dest for f in todo]
    outcome.bytes = sum(f.size for f in todo)
    return outcome
