"""De-duplication, the train/test split by question, and the augmentations (swap, reference drop).

Every random choice comes from the seed alone: the split shuffles question groups with
``random.Random(seed)``, and reference drop decides per record from a hash of (seed, record), so the same
inputs and seed give the same files whatever order the sources are listed in.
"""
from __future__ import annotations

import hashlib
import random
from collections import Counter
from typing import Callable, Iterable, TypeVar

from .record import JudgeRecord

T = TypeVar("T")


def dedup(items: Iterable[T], key: Callable[[T], str], dropped: Counter | None = None,
          source: Callable[[T], str] | None = None) -> list[T]:
    """Keep the first item of each key; tally the rest per source in ``dropped``."""
    seen: set[str] = set()
    out: list[T] = []
    for item in items:
        k = key(item)
        if k in seen:
            if dropped is not None:
                dropped[source(item) if source else ""] += 1
            continue
        seen.add(k)
        out.append(item)
    return out


def split_by_question(records: list[JudgeRecord], test_ratio: float, seed: int) -> tuple[list[JudgeRecord], list[JudgeRecord]]:
    """(train, test) with every record of a question on the same side.

    Sources are taken in turn so each gets about ``test_ratio`` of its own questions in test; a question
    already placed by an earlier source (the same prompt in two datasets) keeps its side.
    """
    rng = random.Random(seed)
    side: dict[str, bool] = {}  # group -> is test
    by_source: dict[str, list[str]] = {}
    for rec in records:
        groups = by_source.setdefault(rec.source, [])
        g = rec.group_key()
        if g not in groups:
            groups.append(g)
    for source in sorted(by_source):
        fresh = sorted(g for g in by_source[source] if g not in side)
        rng.shuffle(fresh)
        n_test = round(len(fresh) * test_ratio)
        if test_ratio > 0 and n_test == 0 and len(fresh) > 1:
            n_test = 1  # a small source still gets one test question
        for i, g in enumerate(fresh):
            side[g] = i < n_test
    train = [r for r in records if not side[r.group_key()]]
    test = [r for r in records if side[r.group_key()]]
    return train, test


def with_swaps(records: list[JudgeRecord]) -> list[JudgeRecord]:
    """The records followed by every pairwise record in the other order (label and rationale swapped)."""
    return records + [r.swapped() for r in records if r.pairwise]


def chance(seed: int, record: JudgeRecord, salt: str) -> float:
    """A number in [0, 1) fixed by the seed and the record's content."""
    digest = hashlib.sha256(f"{seed}:{salt}:{record.content_key()}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def drop_references(records: list[JudgeRecord], rate: float, seed: int) -> list[JudgeRecord]:
    """Each record that has a reference loses it with probability ``rate``."""
    if rate <= 0:
        return records
    return [r.drop_reference() if r.has_reference and chance(seed, r, "refdrop") < rate else r
            for r in records]
