"""JSONL files: strict reading, and an append-only store that makes reruns exact-once.

One process writes a file at a time, holding its lock (locks.py), or several --share workers divide its
keys (claims.py), appending under the lock's mutex. Every record is appended as one line and flushed, so
a crash loses at most the line being written; :class:`JsonlStore` detects that torn last line when it
opens the file and cuts it off. Records carrying an ``error`` field are dropped on open, so a rerun
retries exactly the failed and the missing keys, and the file ends up with each key once.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Callable, Hashable, Iterable, Iterator, Sequence

from .claims import Claims, claim_id
from .errors import InputError
from .locks import LockOptions, StoreLock

log = logging.getLogger(__name__)


def dumps(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False)


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, Any]]:
    """Yield (line number, parsed object) for each non-blank line; bad JSON or bad UTF-8 is an InputError."""
    path = Path(path)
    with open_jsonl(path) as fh:
        for lineno, raw in enumerate(fh, 1):
            obj = parse_line(path, raw, lineno)
            if obj is not BLANK:
                yield lineno, obj


def open_jsonl(path: Path) -> BinaryIO:
    """``path`` opened for reading in bytes (decoded line by line, so a bad byte is reported with its line)."""
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except IsADirectoryError:
        raise InputError(path, "is a folder, not a JSONL file") from None


BLANK = object()  # parse_line's answer for a blank line


def parse_line(path: Path, raw: bytes, lineno: int) -> Any:
    """One JSONL line's object (``BLANK`` for a blank line); bad JSON or bad UTF-8 is an InputError."""
    line = _decode(path, raw, lineno)
    if not line.strip():
        return BLANK
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(path, f"invalid JSON ({exc.msg} at column {exc.colno})", lineno) from None


def _decode(path: Path, data: bytes, first_line: int = 1) -> str:
    """``data`` as text; bytes that are not UTF-8 are an InputError naming the line and column of the first."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = first_line + data.count(b"\n", 0, exc.start)
        column = exc.start - data.rfind(b"\n", 0, exc.start)
        raise InputError(path, f"not UTF-8 text (byte {data[exc.start]:#04x} at column {column}); "
                         "save the file as UTF-8", line) from None


def read_jsonl(path: str | Path) -> list[Any]:
    return [obj for _, obj in iter_jsonl(path)]


def read_json_object(path: str | Path) -> dict[str, Any]:
    """A JSON file holding one object (a config); bad JSON, bad UTF-8 or another type is an InputError."""
    path = Path(path)
    try:
        obj = json.loads(_decode(path, path.read_bytes()))
    except json.JSONDecodeError as exc:
        raise InputError(path, f"invalid JSON ({exc.msg})", exc.lineno) from None
    if not isinstance(obj, dict):
        raise InputError(path, "expected a JSON object")
    return obj


def write_jsonl_atomic(path: str | Path, records: Iterable[dict[str, Any]]) -> None:
    """Replace ``path`` with ``records`` in one rename: readers see the old file or the new one."""
    write_text_atomic(path, (dumps(record) + "\n" for record in records))


def write_text_atomic(path: str | Path, chunks: Iterable[str]) -> None:
    """Replace ``path`` with the concatenated ``chunks`` in one rename (streamed, never all in memory)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp creates the file private (0600); give it the mode a plain open() would have.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for chunk in chunks:
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _repair_torn_tail(path: Path) -> bool:
    """Cut an unterminated or unparseable last line (left by a kill mid-write). True if cut."""
    with open(path, "rb+") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        if size == 0:
            return False
        fh.seek(max(0, size - 1))
        if fh.read(1) == b"\n":
            return False
        # Find the start of the last line and drop it: it was never completed.
        block = 1 << 16
        pos = size
        while pos > 0:
            step = min(block, pos)
            pos -= step
            fh.seek(pos)
            chunk = fh.read(step)
            nl = chunk.rfind(b"\n")
            if nl >= 0:
                cut = pos + nl + 1
                break
        else:
            cut = 0
        fh.truncate(cut)
        return True


class JsonlStore:
    """Append-only JSONL file keyed by ``key_fn``; the writer of one output file.

    On open its lock (locks.py, ``<file>.lock``) is taken as ``lock`` says (None: no lock, for files no
    other run writes), a torn last line is cut, records with an ``error`` field and later duplicates of a key
    are dropped (the file is rewritten atomically only if something was dropped, and never while --share
    workers write it). ``done`` then holds the keys with a good record, and :meth:`append` adds new records
    one line at a time. :meth:`claim` gives the keys this process is to do (claims.py).
    """

    def __init__(self, path: str | Path, key_fn: Callable[[dict[str, Any]], Hashable],
                 lock: LockOptions | None = LockOptions()):
        self.path = Path(path)
        self.key_fn = key_fn
        self.records: dict[Hashable, dict[str, Any]] = {}
        self.repaired_tail = False
        self.dropped_errors = 0
        self.dropped_duplicates = 0
        self.attempted: set[Hashable] = set()  # keys this run claimed, or saw another worker fail
        self._fh = None
        self._offset = 0  # --share: how far the file has been read
        self.lock = StoreLock(self.path, lock).acquire() if lock is not None else None
        self.shared = bool(lock and lock.share)
        self.claims = Claims(self.path, self.lock) if self.lock is not None and self.shared else None
        try:
            with self._mutex():
                if self.path.exists():
                    self._load()
        except BaseException:
            self._unlock()
            raise

    def _mutex(self):
        return self.lock.mutex() if self.lock is not None else contextlib.nullcontext()

    def _load(self) -> None:
        self.repaired_tail = _repair_torn_tail(self.path)
        if self.repaired_tail:
            log.warning("%s: cut a torn last line left by an interrupted run", self.path)
        rewrite = False
        for lineno, obj in iter_jsonl(self.path):
            key = self._key(obj, lineno)
            if obj.get("error"):
                self.dropped_errors += 1
                rewrite = True
            elif key in self.records:
                self.dropped_duplicates += 1
                rewrite = True
            else:
                self.records[key] = obj
        if rewrite and not self.shared:
            write_jsonl_atomic(self.path, self.records.values())
        self._offset = self.path.stat().st_size

    def _key(self, obj: Any, lineno: int | None) -> Hashable:
        if not isinstance(obj, dict):
            raise InputError(self.path, "expected a JSON object", lineno)
        try:
            return self.key_fn(obj)
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(self.path, f"record has no usable key ({exc})", lineno) from None

    def refresh(self) -> None:
        """--share: take in the records other workers appended since the last look (under the mutex)."""
        if not self.shared or not self.path.exists():
            return
        with open(self.path, "rb") as fh:
            fh.seek(self._offset)
            data = fh.read()
        end = data.rfind(b"\n") + 1  # a line still being written (or torn by a kill) is read later, or cut
        for raw in data[:end].splitlines():
            obj = parse_line(self.path, raw, None)
            if obj is BLANK:
                continue
            key = self._key(obj, None)
            if obj.get("error"):
                self.attempted.add(key)  # failed in this round: retried by the next run, as in one run
            else:
                self.records.setdefault(key, obj)
        self._offset += end

    @property
    def done(self) -> set[Hashable]:
        return set(self.records)

    def __contains__(self, key: Hashable) -> bool:
        return key in self.records

    def claim(self, keys: Sequence[Hashable], limit: int | None = None) -> list[Hashable]:
        """The keys of ``keys`` this process is to do now: without --share, every one with no good record
        (once); with --share, up to ``limit`` that no live worker has claimed, claimed on disk first."""
        if self.claims is None:
            mine = [k for k in keys if k not in self.records and k not in self.attempted]
            self.attempted.update(mine)
            return mine
        with self._mutex():
            self.refresh()
            self.claims.refresh()
            free = [k for k in keys if k not in self.records and k not in self.attempted]
            ids = {k: claim_id(k) for k in free}
            busy = self.claims.live([ids[k] for k in free])
            mine = [k for k in free if ids[k] not in busy][:limit]
            self.claims.take([ids[k] for k in mine])
        self.attempted.update(mine)
        return mine

    def waiting(self, keys: Sequence[Hashable]) -> int:
        """--share: how many of ``keys`` live workers have claimed and not written yet."""
        if self.claims is None:
            return 0
        with self._mutex():
            self.refresh()
            self.claims.refresh()
            open_keys = [claim_id(k) for k in keys if k not in self.records and k not in self.attempted]
            return len(self.claims.live(open_keys))

    def append(self, record: dict[str, Any]) -> None:
        with self._mutex():
            if self._fh is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fh = open(self.path, "a", encoding="utf-8")
            self._fh.write(dumps(record) + "\n")
            self._fh.flush()
            if self.shared:
                os.fsync(self._fh.fileno())  # before the unlock: on NFS the next worker reads what the server has
        key = self.key_fn(record)
        self.attempted.add(key)
        if not record.get("error"):
            self.records.setdefault(key, record)

    def close(self) -> None:
        if self._fh is not None:
            os.fsync(self._fh.fileno())
            self._fh.close()
            self._fh = None
        self._unlock()

    def _unlock(self) -> None:
        if self.lock is None:
            return
        if self.claims is not None and self.lock.alone():
            self.claims.clear()  # the last worker out: every claim is settled
        self.lock.release()
        self.lock = None

    def sort(self, sort_key: Callable[[dict[str, Any]], Any]) -> None:
        """Rewrite the file in a stable order (good records first, then errors as written); a --share worker
        does it only when it is the last one writing the file."""
        if self._fh is not None:
            os.fsync(self._fh.fileno())
            self._fh.close()
            self._fh = None
        if not self.path.exists() or (self.lock is not None and not self.lock.alone()):
            self.close()
            return
        rows = read_jsonl(self.path)
        rows.sort(key=lambda r: (bool(r.get("error")), sort_key(r)))
        write_jsonl_atomic(self.path, rows)
        self.close()

    def __enter__(self) -> "JsonlStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
