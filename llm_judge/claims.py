"""--share: several runs divide one output's keys, each key bought once, a dead worker's keys finished by the rest.

A worker claims keys before it calls any model: under the lock's mutex it reads the records and claims the
others wrote since it last looked, picks keys that have no record and no claim of a live worker, and
appends one line per key to ``<output>.claims`` (``{"key": ..., "by": <worker id>}``). A worker is live
while it holds its slot of the lock (locks.py), which the kernel frees when it dies, however it dies;
its claims then count for nothing, and the next worker to look takes those keys. A worker with nothing
left to take waits for the live workers' keys, so the work is finished while any worker runs.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Callable, Hashable, Sequence

from .locks import StoreLock


def claim_id(key: Hashable) -> str:
    """A key as the claims file writes it (tuples as lists, so equal keys give equal text)."""
    return json.dumps(key, ensure_ascii=False, sort_keys=True)


class Claims:
    """The claims file of one output, read incrementally (each read starts where the last ended)."""

    def __init__(self, target: Path, lock: StoreLock):
        self.path = target.with_name(target.name + ".claims")
        self.lock = lock
        self.by_key: dict[str, str] = {}  # claim id -> the worker that claimed it last
        self._offset = 0

    def refresh(self) -> None:
        """Read the claims appended since the last call (under the mutex)."""
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self._offset)
                data = fh.read()
        except FileNotFoundError:
            return
        end = data.rfind(b"\n") + 1  # a line torn by a kill is never complete: it claims nothing
        for raw in data[:end].splitlines():
            try:
                obj = json.loads(raw)
                self.by_key[obj["key"]] = obj["by"]
            except (ValueError, KeyError, TypeError):
                continue
        self._offset += end

    def take(self, ids: Sequence[str]) -> None:
        """Claim ``ids`` for this worker, on disk before any call is made (under the mutex)."""
        holder = self.lock.holder
        if not ids or holder is None:
            return
        lines = "".join(json.dumps({"key": i, "by": holder.id}, ensure_ascii=False) + "\n" for i in ids)
        with open(self.path, "ab") as fh:
            fh.write(lines.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())  # before the unlock: on NFS the next worker reads what the server has
        for i in ids:
            self.by_key[i] = holder.id

    def live(self, ids: Sequence[str]) -> set[str]:
        """The ids of ``ids`` claimed by a worker that still runs (this one included)."""
        workers = self.lock.workers()
        alive: dict[str, bool] = {}
        out = set()
        for i in ids:
            by = self.by_key.get(i)
            if by is None:
                continue
            if by not in alive:
                alive[by] = self.lock.alive(by, workers)
            if alive[by]:
                out.add(i)
        return out

    def clear(self) -> None:
        """Remove the file (by the last worker out, when nobody else holds the lock)."""
        self.path.unlink(missing_ok=True)


def take_turns(claim: Callable[[int | None], list], waiting: Callable[[], int], work: Callable[[list], None],
               chunk: int | None, poll: float = 0.5) -> None:
    """Call ``work`` on each batch of keys that ``claim(chunk)`` gives this process, until it gives none and
    ``waiting()`` (keys claimed by live workers and not written yet) is 0: a worker with nothing to take
    waits, so that the keys of a worker that dies are taken by one that still runs."""
    while True:
        mine = claim(chunk)
        if mine:
            work(mine)
        elif not waiting():
            return
        else:
            time.sleep(poll)
