"""The download cache: every published file of the registry as upstream publishes it, at its mirror path.

It is the ``data`` folder of llm_judge's cache (``$LLM_JUDGE_CACHE``, else ``$XDG_CACHE_HOME/llm_judge``, else
``~/.cache/llm_judge``; the converted default model lives beside it).
``python -m llm_judge download --cache NAME`` fills it (all of a bench's or data set's files, answers and
judgments included); laid out as a mirror, it serves as ``--mirror`` for installing a bench without network.
The tests (tests/conftest.py's ``published_data``) and the benchmarks read published data from here.
An ``upstream_only`` file that the mirror lacked is recorded in ``.absent-<name>.json`` with that mirror: later
fills from the same mirror leave it out without asking again (a fill without a mirror tries upstream).
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from pathlib import Path
from typing import Iterator

from ..errors import ConfigError, DownloadError
from .download import Outcome, download_bench
from .fetch import sha256_of
from .registry import RegistryEntry, load_registry, registry_names

try:
    import fcntl
except ImportError:  # Windows: no lock; two processes filling the same cache at once may redo each other's work
    fcntl = None  # type: ignore[assignment]


def cache_dir() -> Path:
    root = os.environ.get("LLM_JUDGE_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache",
                                                      "llm_judge")
    return Path(root).expanduser() / "data"


def entries_in(folder: str) -> list[RegistryEntry]:
    """The registry entries with files under the mirror folder ``folder`` (a bench's or data set's name)."""
    entries = [e for e in map(load_registry, registry_names())
               if any(f.mirror.startswith(folder + "/") for f in e.files)]
    if not entries:
        raise ConfigError(f"no bench or data set of the registry has files under {folder!r} "
                          f"(known: {', '.join(registry_names())})")
    return entries


@contextlib.contextmanager
def _locked(cache: Path, name: str) -> Iterator[None]:
    """One process at a time fills an entry (test runs in parallel share the cache)."""
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / f".lock-{name}", "w") as fh:
        if fcntl is not None:
            fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def _absent_record(entry: RegistryEntry, cache: Path) -> Path:
    return cache / f".absent-{entry.name}.json"


def recorded_absent(entry: RegistryEntry, cache: Path) -> tuple[str | None, set[str]]:
    """(the mirror, the mirror paths of the upstream-only files it lacked) as the last fill recorded them."""
    path = _absent_record(entry, cache)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return str(raw["mirror"]), set(raw["files"])
    except (OSError, ValueError, KeyError, TypeError):
        return None, set()


def fill(entry: RegistryEntry, mirror: str | None = None, cache: Path | None = None,
         timeout: float = 60.0) -> Outcome:
    """Every file of ``entry`` in the cache, verified; a file that differs from the published one is replaced.
    Upstream-only files that ``mirror`` lacked last time are left out without asking it again."""
    cache = cache_dir() if cache is None else cache
    with _locked(cache, entry.name):
        was, lacked = recorded_absent(entry, cache)
        known = [f for f in entry.files if mirror is not None and was == mirror and f.mirror in lacked
                 and f.upstream_only and not (cache / f.mirror).is_file()]
        asked = dataclasses.replace(entry, files=[f for f in entry.files if f not in known])
        out = download_bench(asked, cache, mirror, answers=True, judgments=True, force=True, timeout=timeout,
                             as_mirror=True)
        out.absent += known
        record = _absent_record(entry, cache)
        if out.absent:
            record.write_text(json.dumps({"mirror": mirror, "files": sorted(f.mirror for f in out.absent)}) + "\n",
                              encoding="utf-8")
        elif record.exists():
            record.unlink()
        return out


def is_filled(entry: RegistryEntry, cache: Path | None = None) -> bool:
    """Whether every file of ``entry`` is in the cache with its published sha256 (nothing is fetched); an
    upstream-only file that the last fill's mirror lacked does not count."""
    cache = cache_dir() if cache is None else cache
    _, lacked = recorded_absent(entry, cache)
    return all((cache / f.mirror).is_file() and sha256_of(cache / f.mirror) == f.sha256 for f in entry.files
               if not (f.upstream_only and f.mirror in lacked))


def cached_path(*parts: str, mirror: str | None = None, cache: Path | None = None) -> Path:
    """``<cache>/<parts...>``, a published file or folder, after filling the entries its first part names
    from ``mirror`` (by default ``$LLM_JUDGE_MIRROR``; without either, from the upstream hosts)."""
    if not parts:
        raise ConfigError("name a bench or data set folder, e.g. cached_path('pandalm', 'testset-v1.json')")
    cache = cache_dir() if cache is None else cache
    mirror = mirror or os.environ.get("LLM_JUDGE_MIRROR") or None
    try:
        for entry in entries_in(parts[0]):
            fill(entry, mirror, cache)
    except DownloadError as exc:
        raise type(exc)(f"{exc} (python -m llm_judge download --cache {parts[0]} --mirror DIR fills the cache "
                        f"from a mirror folder)") from None
    path = cache.joinpath(*parts)
    if not path.exists():
        raise ConfigError(f"{'/'.join(parts)} is not a published file of the registry (the {parts[0]} files "
                          f"are in {cache / parts[0]})")
    return path
