"""One record per key for the readers (show_result, eval_judge, make_traindata, the browser).

A file can hold a key twice: written by two runs at once before runs took locks, by an older version, by
FastChat (which appends a rerun's records to the same file), or by --share workers, whose file keeps a
failed record beside the retry that replaced it. The first valid record of a key counts; a failed record
counts only while the key has no valid one, and never replaces one. Every other record is dropped and
counted, so that a reader can say how many it dropped.
"""
from __future__ import annotations

from typing import Any, Callable, Hashable, Iterable, TypeVar

T = TypeVar("T")


class FirstValid:
    """Which record of each key counts, fed one record at a time in file order."""

    def __init__(self) -> None:
        self.valid: set[Hashable] = set()
        self.failed: dict[Hashable, Any] = {}  # key -> what its counted failed record became (the caller's)
        self.dropped = 0

    def add(self, key: Hashable, failed: bool) -> tuple[bool, Any]:
        """(whether this record counts, what the counted failed record it replaces became, or None).

        The caller passes what a counted failed record became to :meth:`counted_failed`, so that it can
        be handed back when a valid record of its key replaces it.
        """
        if key in self.valid:
            self.dropped += 1
            return False, None
        if failed:
            if key in self.failed:
                self.dropped += 1
                return False, None
            self.failed[key] = None
            return True, None
        self.valid.add(key)
        if key in self.failed:
            self.dropped += 1
            return True, self.failed.pop(key)
        return True, None

    def counted_failed(self, key: Hashable, what: Any) -> None:
        self.failed[key] = what

    def note(self) -> str:
        """The line a reader prints under its output; "" when nothing was dropped."""
        if not self.dropped:
            return ""
        s = "" if self.dropped == 1 else "s"
        return (f"{self.dropped} duplicate record{s} dropped (a key written more than once: its first valid record "
                "counts)")


def first_valid(records: Iterable[T], key: Callable[[T], Hashable], failed: Callable[[T], bool],
                seen: FirstValid | None = None) -> list[T]:
    """``records`` with one per key, in file order (a valid record that replaces a failed one takes its
    place); ``seen`` counts what was dropped."""
    seen = seen if seen is not None else FirstValid()
    out: list[T | None] = []
    for record in records:
        k = key(record)
        keep, replaced = seen.add(k, failed(record))
        if not keep:
            continue
        if replaced is not None:
            out[replaced] = record
            continue
        if failed(record):
            seen.counted_failed(k, len(out))
        out.append(record)
    return [r for r in out if r is not None]
