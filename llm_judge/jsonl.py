"""JSONL files: strict reading, and an append-only store that makes reruns exact-once.

Only the main process writes. Every record is appended as one line and flushed, so a crash loses at
most the line being written; :class:`JsonlStore` detects that torn last line when it opens the file
and cuts it off. Records carrying an ``error`` field are dropped on open, so a rerun retries exactly the
failed and the missing keys, and the file ends up with each key once.
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Callable, Hashable, Iterable, Iterator

from .errors import InputError

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
    """Append-only JSONL file keyed by ``key_fn``; the single writer of one output file.

    On open: a torn last line is cut, records with an ``error`` field and later duplicates of a key are
    dropped (the file is rewritten atomically only if something was dropped). ``done`` then holds the
    keys with a good record, and :meth:`append` adds new records one line at a time.
    """

    def __init__(self, path: str | Path, key_fn: Callable[[dict[str, Any]], Hashable]):
        self.path = Path(path)
        self.key_fn = key_fn
        self.records: dict[Hashable, dict[str, Any]] = {}
        self.repaired_tail = False
        self.dropped_errors = 0
        self.dropped_duplicates = 0
        self._fh = None
        if self.path.exists():
            self._load()

    def _load(self) -> None:
        self.repaired_tail = _repair_torn_tail(self.path)
        if self.repaired_tail:
            log.warning("%s: cut a torn last line left by an interrupted run", self.path)
        rewrite = False
        for lineno, obj in iter_jsonl(self.path):
            if not isinstance(obj, dict):
                raise InputError(self.path, "expected a JSON object", lineno)
            try:
                key = self.key_fn(obj)
            except (KeyError, TypeError, ValueError) as exc:
                raise InputError(self.path, f"record has no usable key ({exc})", lineno) from None
            if obj.get("error"):
                self.dropped_errors += 1
                rewrite = True
            elif key in self.records:
                self.dropped_duplicates += 1
                rewrite = True
            else:
                self.records[key] = obj
        if rewrite:
            write_jsonl_atomic(self.path, self.records.values())

    @property
    def done(self) -> set[Hashable]:
        return set(self.records)

    def __contains__(self, key: Hashable) -> bool:
        return key in self.records

    def append(self, record: dict[str, Any]) -> None:
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "a", encoding="utf-8")
        self._fh.write(dumps(record) + "\n")
        self._fh.flush()
        if not record.get("error"):
            self.records[self.key_fn(record)] = record

    def close(self) -> None:
        if self._fh is not None:
            os.fsync(self._fh.fileno())
            self._fh.close()
            self._fh = None

    def sort(self, sort_key: Callable[[dict[str, Any]], Any]) -> None:
        """Rewrite the file in a stable order (good records first, then errors as written)."""
        self.close()
        if not self.path.exists():
            return
        rows = read_jsonl(self.path)
        rows.sort(key=lambda r: (bool(r.get("error")), sort_key(r)))
        write_jsonl_atomic(self.path, rows)

    def __enter__(self) -> "JsonlStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
