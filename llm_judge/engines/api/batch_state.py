"""The small file that makes batch runs resumable: which batches exist and which requests each holds.

It lives beside the output file (``<output>.batches.json``), locked as the output is (``.lock`` beside it:
one run at a time, or --share workers each rereading it under the lock's mutex before every change), and is
rewritten atomically right after each batch is created, before anything else happens, so a process killed at any later moment leaves the ids
of every batch it paid for; the next run polls those batches instead of submitting their requests again.
Each request is saved as its custom_id and a fingerprint of its body: a saved result is reused only for
the very request it answers (a changed judge prompt or model gives a new fingerprint and a new batch).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from ...errors import InputError
from ...jsonl import read_json_object, write_text_atomic
from ...locks import LockOptions, StoreLock

VERSION = 1


def state_path(output: str | Path) -> Path:
    """Where the batch state of ``output`` (a judgment or answer file, or a judgment folder) is kept."""
    output = Path(output)
    return output.with_name(output.name + ".batches.json")


def fingerprint(body: dict[str, Any]) -> str:
    """A short stable hash of a request body (key order does not matter)."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()[:16]


@dataclass
class SavedBatch:
    id: str
    provider: str
    requests: dict[str, str]  # custom_id -> fingerprint of the body it was submitted with
    created: float = field(default_factory=time.time)
    # the last status seen: creating (input uploaded, batch not confirmed yet), submitted, in_progress,
    # completed, expired, cancelled, failed
    status: str = "submitted"
    input_file: str | None = None  # OpenAI: the uploaded input file, by which an unconfirmed batch is found again

    def to_json(self) -> dict[str, Any]:
        d = {"id": self.id, "provider": self.provider, "created": self.created, "status": self.status,
             "requests": self.requests}
        if self.input_file:
            d["input_file"] = self.input_file
        return d


class BatchState:
    """The saved batches of one output, oldest first; its lock held from :meth:`load` to :meth:`close`."""

    def __init__(self, path: Path, batches: list[SavedBatch] | None = None, lock: StoreLock | None = None):
        self.path = path
        self.batches = batches or []
        self.lock = lock

    @classmethod
    def load(cls, path: Path, lock: LockOptions | None = None) -> "BatchState":
        held = StoreLock(path, lock).acquire() if lock is not None else None
        try:
            with held.mutex() if held else contextlib.nullcontext():
                return cls(path, _read(path), held)
        except BaseException:
            if held is not None:
                held.release()
            raise

    def refresh(self) -> None:
        """--share: the batches as saved now, other workers' included."""
        if self.lock is not None and self.lock.options.share:
            with self.lock.mutex():
                self.batches = _read(self.path)

    @contextlib.contextmanager
    def _changing(self) -> Iterator[None]:
        """A change made to the saved batches as they are now on disk (--share: others' kept), then saved."""
        with self.lock.mutex() if self.lock else contextlib.nullcontext():
            if self.lock is not None and self.lock.options.share:
                self.batches = [_same(b, mine) for b in _read(self.path) for mine in [self.batches]]
            yield
            self._write()

    def save(self) -> None:
        with self._changing():
            pass

    def _write(self) -> None:
        if not self.batches:
            self.path.unlink(missing_ok=True)
            return
        data = {"version": VERSION, "batches": [b.to_json() for b in self.batches]}
        write_text_atomic(self.path, [json.dumps(data, ensure_ascii=False, indent=1), "\n"])

    def add(self, batch: SavedBatch) -> None:
        """Record a batch just created, on disk before the caller does anything else."""
        with self._changing():
            self.batches.append(batch)

    def confirm(self, batch: SavedBatch, batch_id: str | None) -> None:
        """An unconfirmed batch's id once known; None: it was never created, so it is dropped."""
        with self._changing():
            if batch_id is None:
                self.batches = [b for b in self.batches if b is not batch]
            else:
                batch.id, batch.status = batch_id, "submitted"

    def set_status(self, batch_id: str, status: str) -> None:
        if any(b.id == batch_id and b.status != status for b in self.batches):
            with self._changing():
                for b in self.batches:
                    if b.id == batch_id:
                        b.status = status

    def close(self) -> None:
        if self.lock is not None:
            self.lock.release()
            self.lock = None

    def holding(self, provider: str, custom_id: str, print_: str) -> list[SavedBatch]:
        """The saved batches of ``provider`` that hold this request with this body, oldest first."""
        return [b for b in self.batches if b.provider == provider and b.requests.get(custom_id) == print_]

    def forget(self, delivered: set[tuple[str, str]]) -> None:
        """Drop the batches whose every request (custom_id, fingerprint) was delivered, i.e. written; remove the
        file when none is left."""
        if all(not set(b.requests.items()) <= delivered for b in self.batches):
            return
        with self._changing():
            self.batches = [b for b in self.batches if not set(b.requests.items()) <= delivered]


def _read(path: Path) -> list[SavedBatch]:
    if not path.exists():
        return []
    data = read_json_object(path)
    try:
        if data.get("version") != VERSION:
            raise ValueError(f"version {data.get('version')!r}, expected {VERSION}")
        return [SavedBatch(id=str(b["id"]), provider=str(b["provider"]), created=float(b["created"]),
                           status=str(b["status"]), requests=dict(b["requests"]),
                           input_file=b.get("input_file")) for b in data["batches"]]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(path, f"not a batch state file ({exc}); it lists the batches an earlier run "
                               "submitted: fix it or, if those batches are to be abandoned, delete it",
                         field="batches") from None


def _same(saved: SavedBatch, mine: list[SavedBatch]) -> SavedBatch:
    """This process's own object for a batch read back from disk (so that later changes to it are saved)."""
    for b in mine:
        if (b.provider, b.created, b.input_file, b.requests) == (saved.provider, saved.created, saved.input_file,
                                                                saved.requests):
            b.id, b.status = saved.id, saved.status
            return b
    return saved
