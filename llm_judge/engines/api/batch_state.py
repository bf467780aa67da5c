"""The small file that makes batch runs resumable: which batches exist and which requests each holds.

It lives beside the output file (``<output>.batches.json``) and is rewritten atomically right after each
batch is created, before anything else happens, so a process killed at any later moment leaves the ids
of every batch it paid for; the next run polls those batches instead of submitting their requests again.
Each request is saved as its custom_id and a fingerprint of its body: a saved result is reused only for
the very request it answers (a changed judge prompt or model gives a new fingerprint and a new batch).
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import InputError
from ...jsonl import read_json_object, write_text_atomic

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
    """The saved batches of one output, oldest first."""

    def __init__(self, path: Path, batches: list[SavedBatch] | None = None):
        self.path = path
        self.batches = batches or []

    @classmethod
    def load(cls, path: Path) -> "BatchState":
        if not path.exists():
            return cls(path)
        data = read_json_object(path)
        try:
            if data.get("version") != VERSION:
                raise ValueError(f"version {data.get('version')!r}, expected {VERSION}")
            batches = [SavedBatch(id=str(b["id"]), provider=str(b["provider"]), created=float(b["created"]),
                                  status=str(b["status"]), requests=dict(b["requests"]),
                                  input_file=b.get("input_file")) for b in data["batches"]]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputError(path, f"not a batch state file ({exc}); it lists the batches an earlier run "
                                   "submitted: fix it or, if those batches are to be abandoned, delete it",
                             field="batches") from None
        return cls(path, batches)

    def save(self) -> None:
        data = {"version": VERSION, "batches": [b.to_json() for b in self.batches]}
        write_text_atomic(self.path, [json.dumps(data, ensure_ascii=False, indent=1), "\n"])

    def add(self, batch: SavedBatch) -> None:
        """Record a batch just created, on disk before the caller does anything else."""
        self.batches.append(batch)
        self.save()

    def confirm(self, batch: SavedBatch, batch_id: str | None) -> None:
        """An unconfirmed batch's id once known; None: it was never created, so it is dropped."""
        if batch_id is None:
            self.batches.remove(batch)
        else:
            batch.id, batch.status = batch_id, "submitted"
        self.save()

    def set_status(self, batch_id: str, status: str) -> None:
        for b in self.batches:
            if b.id == batch_id and b.status != status:
                b.status = status
                self.save()

    def holding(self, provider: str, custom_id: str, print_: str) -> list[SavedBatch]:
        """The saved batches of ``provider`` that hold this request with this body, oldest first."""
        return [b for b in self.batches if b.provider == provider and b.requests.get(custom_id) == print_]

    def forget(self, delivered: set[tuple[str, str]]) -> None:
        """Drop the batches whose every request (custom_id, fingerprint) was delivered, i.e. written; remove the
        file when none is left."""
        keep = [b for b in self.batches if not set(b.requests.items()) <= delivered]
        if len(keep) == len(self.batches):
            return
        self.batches = keep
        if keep:
            self.save()
        else:
            self.path.unlink(missing_ok=True)
