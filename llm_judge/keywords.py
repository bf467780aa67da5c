"""Keyword arguments into an option dataclass, for the library's functions (llm_judge/api.py): an unknown
keyword is named with the known ones, as a mistyped flag is."""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping, TypeVar

T = TypeVar("T")


def from_keywords(cls: type[T], values: Mapping[str, Any]) -> T:
    """``cls(**values)``, with an unknown keyword named among the known ones."""
    known = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise TypeError(f"unknown option {unknown[0]!r} (options: {', '.join(known)})")
    return cls(**values)
