"""The records of a published file, each with where it came from, and typed access to their fields.

Every reader in this package (and the prediction and judgment readers built on it) goes through
:class:`Row`, so a bad value is always reported the same way: an InputError naming the file, the line
(JSONL) or ``[item]`` (JSON array), and the field.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Protocol, TypeVar

from ..errors import InputError
from ..jsonl import iter_jsonl


@dataclass(frozen=True)
class Location:
    """Where a record sits: a JSONL file's line, or an item of a JSON array (``line`` None)."""

    path: Path
    line: int | None
    index: int  # 0-based position among the file's records

    def error(self, message: str, field: str | None = None) -> InputError:
        if self.line is not None:
            return InputError(self.path, message, self.line, field)
        return InputError(f"{self.path}[{self.index}]", message, None, field)


class Checkable(Protocol):
    def check(self) -> None: ...


C = TypeVar("C", bound=Checkable)


@dataclass(frozen=True)
class Row(Location):
    """One record of a file: its location and the parsed JSON value."""

    obj: Any

    @property
    def location(self) -> Location:
        return Location(self.path, self.line, self.index)

    def object(self) -> dict[str, Any]:
        if not isinstance(self.obj, dict):
            raise self.error(f"expected a JSON object, got {type(self.obj).__name__}")
        return self.obj

    def get(self, key: str, kind: type | tuple[type, ...] = str, required: bool = True) -> Any:
        """The value of ``key`` if it has type ``kind``; None (or an error if ``required``) when absent or null."""
        value = self.object().get(key)
        if value is None:
            if required:
                raise self.error("is missing", key)
            return None
        kinds = kind if isinstance(kind, tuple) else (kind,)
        # JSON true is a Python int too; accept it only where bool is asked for.
        if not isinstance(value, kinds) or isinstance(value, bool) and bool not in kinds:
            names = " or ".join(k.__name__ for k in kinds)
            raise self.error(f"must be {names}, got {type(value).__name__}", key)
        return value

    def text(self, key: str, allow_empty: bool = False) -> str:
        value = self.object().get(key)
        if not isinstance(value, str):
            raise self.error("is missing or not a string", key)
        if not allow_empty and not value.strip():
            raise self.error("is empty", key)
        return value

    def response(self, key: str) -> str:
        """A response to judge: any text, even empty. Some releases store a response that read "True" as a
        JSON boolean (PandaLM's test set); scalars like that are taken as the text they stand for."""
        value = self.object().get(key)
        if is_scalar_response(value):
            return str(value)
        return self.text(key, allow_empty=True)

    def choice(self, key: str, mapping: dict[Any, Any]) -> Any:
        """The value of field ``key`` translated by ``mapping``; anything else is an error naming the field."""
        return self.pick(self.object().get(key), key, mapping)

    def pick(self, value: Any, key: str, mapping: dict[Any, Any]) -> Any:
        known = not isinstance(value, (bool, list, dict)) and value in mapping  # True == 1 must not pass
        if not known:
            allowed = ", ".join(json.dumps(k) for k in mapping)
            raise self.error(f"must be one of {allowed}, got {json.dumps(value)}", key)
        return mapping[value]

    def checked(self, item: C) -> C:
        """``item`` after its own ``check()``; a ValueError becomes an InputError at this row."""
        return checked(self, item)


def checked(where: Location, item: C) -> C:
    try:
        item.check()
    except ValueError as exc:
        raise where.error(str(exc)) from None
    return item


def is_scalar_response(value: Any) -> bool:
    """A response stored as a JSON boolean or number instead of its text (see :meth:`Row.response`)."""
    return isinstance(value, (bool, int, float))


def iter_rows(path: str | Path) -> Iterator[Row]:
    """The records of a JSON array file or a JSONL file (whichever the file holds)."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as fh:
            head = fh.read(1 << 12).lstrip()
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except IsADirectoryError:
        raise InputError(path, "is a folder, expected a file") from None
    if head.startswith("[") or (path.suffix == ".json" and head.startswith("{") and not _jsonl(path)):
        yield from _array_rows(path)
        return
    for i, (line, obj) in enumerate(iter_jsonl(path)):
        yield Row(path, line, i, obj)


def read_rows(path: str | Path) -> list[Row]:
    return list(iter_rows(path))


def _jsonl(path: Path) -> bool:
    """Whether a ``.json`` file starting with ``{`` holds one object per line rather than one document."""
    with open(path, encoding="utf-8") as fh:
        first = fh.readline()
    try:
        return isinstance(json.loads(first), dict)
    except json.JSONDecodeError:
        return False


def _array_rows(path: Path) -> Iterator[Row]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(path, f"invalid JSON ({exc.msg} at column {exc.colno})", exc.lineno) from None
    if not isinstance(data, list):
        raise InputError(path, f"expected a JSON list of objects, got {type(data).__name__}")
    for i, obj in enumerate(data):
        yield Row(path, None, i, obj)


SCALAR_RESPONSE = 'non-text response read as its text (JSON true -> "True")'


def read_responses(row: Row, *keys: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The responses under ``keys`` as text, and one SCALAR_RESPONSE quirk per response that was not."""
    quirks = tuple(SCALAR_RESPONSE for key in keys if is_scalar_response(row.object().get(key)))
    return tuple(row.response(key) for key in keys), quirks
