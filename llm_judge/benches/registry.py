"""The registry of published data: one JSON file per bench or data set in ``llm_judge/benches/published/``.

A registry file names the upstream sources (repository, pinned commit, raw-file base URL), for a bench the
config written as ``bench.json`` (a data set such as PandaLM's test set has none), and every file:
where it lives upstream (``source`` + ``path``) and in a mirror (``mirror``), where it goes in the bench
or data set folder (``dest``), its size and sha256, and an optional conversion
(then ``dest_sha256`` is the sha256 of the converted file). ``part`` says when a file is fetched: ``core``
always, ``answers`` with --with-answers, ``judgments`` with --with-judgments. ``kind`` says how it is
checked once fetched (``data``: by its sha256 only, for files that the readers in :mod:`llm_judge.datasets`
or a bench's own reader parse). A bench needs a file with dest ``question.jsonl``. ``upstream_only`` marks a
file that a mirror may lack (one published after the mirror was made): fetched from upstream like any
other, but when a mirror is asked and has none the download goes on without it and says where to get it.
An entry's files sit in a mirror under one folder, ``mirror_folder`` (by default the entry's name; two
entries may share one, as Arena-Hard-Auto's two versions do). Adding a public bench or data set is adding a
file; see the README's "Public benches".
"""
from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, fields
from pathlib import Path, PurePosixPath
from typing import Any

from ..bench import BenchConfig
from ..errors import ConfigError, InputError
from ..jsonl import read_json_object

REGISTRY_DIR = Path(__file__).resolve().parent / "published"
PARTS = ("core", "answers", "judgments")
KINDS = ("questions", "answers", "judge_prompts", "judgments", "data")
CONVERSIONS = ("int_question_ids",)
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class Source:
    repo: str
    commit: str
    url: str  # raw-file base URL at the pinned commit, ending in "/"


@dataclass(frozen=True)
class RegistryFile:
    part: str
    kind: str
    source: str
    path: str  # upstream path inside the source repository
    mirror: str  # path inside a mirror (the layout of the download cache)
    dest: str  # path inside data/<bench>/
    size: int
    sha256: str  # of the upstream bytes
    convert: str | None = None
    dest_sha256: str | None = None  # of the converted file, when ``convert`` is set
    upstream_only: bool = False  # a mirror may lack it: then it is left out, with a note, never fetched elsewhere

    @property
    def final_sha256(self) -> str:
        return self.dest_sha256 or self.sha256


@dataclass
class RegistryEntry:
    name: str
    description: str
    license: str
    notes: str
    sources: dict[str, Source]
    bench: dict[str, Any] | None  # None for a data set that is not a bench
    files: list[RegistryFile]
    path: Path
    mirror_folder: str  # the folder of a mirror (and of the download cache) holding its files

    @property
    def is_bench(self) -> bool:
        return self.bench is not None

    def upstream_url(self, f: RegistryFile) -> str:
        return self.sources[f.source].url + urllib.parse.quote(f.path)

    def select(self, answers: bool = False, judgments: bool = False) -> list[RegistryFile]:
        wanted = {"core"} | ({"answers"} if answers else set()) | ({"judgments"} if judgments else set())
        return [f for f in self.files if f.part in wanted]

    def count(self, part: str) -> int:
        return sum(1 for f in self.files if f.part == part)


def registry_names() -> list[str]:
    return sorted(p.stem for p in REGISTRY_DIR.glob("*.json"))


def _relative(value: Any, path: Path, where: str) -> str:
    """A relative POSIX path that stays inside its folder (registry files may come from users)."""
    if not isinstance(value, str) or not value:
        raise InputError(path, "must be a non-empty string", field=where)
    pure = PurePosixPath(value)
    if pure.is_absolute() or ".." in pure.parts or "\\" in value:
        raise InputError(path, f"must be a relative path inside the folder, not {value!r}", field=where)
    return value


def _file(raw: Any, i: int, path: Path, sources: dict[str, Source]) -> RegistryFile:
    where = f"files[{i}]"
    if not isinstance(raw, dict):
        raise InputError(path, "must be an object", field=where)
    known = {f.name for f in fields(RegistryFile)}
    for key in raw:
        if key not in known:
            raise InputError(path, f"unknown key {key!r} (known: {', '.join(sorted(known))})", field=where)
    for key in ("part", "kind", "source", "path", "mirror", "dest", "size", "sha256"):
        if key not in raw:
            raise InputError(path, "is missing", field=f"{where}.{key}")
    if raw["part"] not in PARTS:
        raise InputError(path, f"must be one of {', '.join(PARTS)}", field=f"{where}.part")
    if raw["kind"] not in KINDS:
        raise InputError(path, f"must be one of {', '.join(KINDS)}", field=f"{where}.kind")
    if raw["source"] not in sources:
        raise InputError(path, f"names no entry of 'sources' ({', '.join(sources)})", field=f"{where}.source")
    if not isinstance(raw["size"], int) or isinstance(raw["size"], bool) or raw["size"] < 0:
        raise InputError(path, "must be a byte count", field=f"{where}.size")
    for key in ("sha256", "dest_sha256"):
        if key in raw and not (isinstance(raw[key], str) and _SHA256.match(raw[key])):
            raise InputError(path, "must be 64 lowercase hex digits", field=f"{where}.{key}")
    convert = raw.get("convert")
    if convert is not None and convert not in CONVERSIONS:
        raise InputError(path, f"unknown conversion (known: {', '.join(CONVERSIONS)})", field=f"{where}.convert")
    if not isinstance(raw.get("upstream_only", False), bool):
        raise InputError(path, "must be true or false", field=f"{where}.upstream_only")
    if (convert is None) != ("dest_sha256" not in raw):
        raise InputError(path, "a converted file needs dest_sha256, and only a converted one",
                         field=f"{where}.dest_sha256")
    return RegistryFile(part=raw["part"], kind=raw["kind"], source=raw["source"],
                        path=_relative(raw["path"], path, f"{where}.path"),
                        mirror=_relative(raw["mirror"], path, f"{where}.mirror"),
                        dest=_relative(raw["dest"], path, f"{where}.dest"), size=raw["size"], sha256=raw["sha256"],
                        convert=convert, dest_sha256=raw.get("dest_sha256"),
                        upstream_only=raw.get("upstream_only", False))


def parse_registry(path: Path) -> RegistryEntry:
    raw = read_json_object(path)
    if raw.get("format") != 1:
        raise InputError(path, "must be 1 (the only registry format this version reads)", field="format")
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise InputError(path, "must be a bench folder name (letters, digits, _ . -)", field="name")
    folder = raw.get("mirror_folder", name)
    if not isinstance(folder, str) or not _NAME.match(folder):
        raise InputError(path, "must be a folder name (letters, digits, _ . -)", field="mirror_folder")
    sources: dict[str, Source] = {}
    for key, src in (raw.get("sources") or {}).items():
        if not isinstance(src, dict) or not all(isinstance(src.get(k), str) for k in ("repo", "commit", "url")):
            raise InputError(path, "needs string repo, commit and url", field=f"sources.{key}")
        if not src["url"].endswith("/"):
            raise InputError(path, "must end with '/'", field=f"sources.{key}.url")
        sources[key] = Source(src["repo"], src["commit"], src["url"])
    bench = raw.get("bench")
    if bench is not None and not isinstance(bench, dict):
        raise InputError(path, "must be an object (the bench.json to write), or absent for a data set", field="bench")
    known = {f.name for f in fields(BenchConfig)}
    for key in bench or {}:
        if key not in known:
            raise InputError(path, f"unknown bench setting (known: {', '.join(sorted(known))})", field=f"bench.{key}")
    files_raw = raw.get("files")
    if not isinstance(files_raw, list) or not files_raw:
        raise InputError(path, "must be a non-empty list", field="files")
    files = [_file(f, i, path, sources) for i, f in enumerate(files_raw)]
    seen: set[str] = set()
    for i, f in enumerate(files):
        if f.dest in seen:
            raise InputError(path, f"dest {f.dest!r} appears twice", field=f"files[{i}].dest")
        seen.add(f.dest)
    if bench is not None and "question.jsonl" not in seen:
        raise InputError(path, "no file has dest 'question.jsonl' (a bench needs one)", field="files")
    return RegistryEntry(name=name, description=str(raw.get("description", "")), license=str(raw.get("license", "")),
                         notes=str(raw.get("notes", "")), sources=sources, bench=bench, files=files, path=path,
                         mirror_folder=folder)


def load_registry(name: str) -> RegistryEntry:
    """A bench of the registry by name, or a registry file given by path (for benches not shipped here)."""
    path = Path(name)
    if not (name.endswith(".json") and path.is_file()):
        path = REGISTRY_DIR / f"{name}.json"
        if not path.is_file():
            raise ConfigError(f"no public bench or data set {name!r} in the registry "
                              f"(known: {', '.join(registry_names())})")
    return parse_registry(path)
