"""The download cache: every published file of the registry as upstream publishes it, at its mirror path.

It is the ``data`` folder of llm_judge's cache (``$LLM_JUDGE_CACHE``, else ``$XDG_CACHE_HOME/llm_judge``, else
``~/.cache/llm_judge``; the converted default model lives beside it).
``python -m llm_judge download --cache NAME`` fills it (all of a bench's or data set's files, answers and
judgments included); laid out as a mirror, it serves as ``--mirror`` for installing a bench without network.
The tests (tests/conftest.py's ``published_data``) and the benchmarks read published data from here.
"""
from __future__ import annotations

import contextlib
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


def fill(entry: RegistryEntry, mirror: str | None = None, cache: Path | None = None,
         timeout: float = 60.0) -> Outcome:
    """Every file of ``entry`` in the cache, verified; a file that differs from the published one is replaced."""
    cache = cache_dir() if cache is None else cache
    with _locked(cache, entry.name):
        return download_bench(entry, cache, mirror, answers=True, judgments=True, force=True, timeout=timeout,
                              as_mirror=True)


def is_filled(entry: RegistryEntry, cache: Path | None = None) -> bool:
    """Whether every file of ``entry`` is in the cache with its published sha256 (nothing is fetched)."""
    cache = cache_dir() if cache is None else cache
    return all((cache / f.mirror).is_file() and sha256_of(cache / f.mirror) == f.sha256 for f in entry.files)


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
