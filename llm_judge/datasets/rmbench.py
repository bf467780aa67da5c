"""RM-Bench (THU-KEG/RM-Bench, ICLR 2025): the same content written in three styles, to expose style bias.

Each file under ``data/`` (``chat_filtered.json``, ``code_filtered.json``, ``math_filtered.json``,
``safety-refuse_filtered.json``, ``safety-response_filtered.json``) is a JSON array of items ``id, subset,
prompt, chosen [3], rejected [3]`` (code adds ``language, task_id``; chat ``error_key, error``). Index 0 of
each list is concise, 1 detailed in plain text, 2 detailed with markdown. The domain is the file's name up
to ``_`` or ``-`` (chat, code, math, safety: the two safety files are one domain), or the item's ``domain``.

An item becomes nine pairs, chosen style i against rejected style j, response 1 the chosen one, so each is
labelled "1". Pair ids are ``<subset>/<id>/<i><j>`` (``subset`` and ``id`` together are unique in the set).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator, Sequence

from ..errors import InputError
from ..records import SingleJudgment
from .rows import Row, iter_rows
from .sample import ONE, Sample

STYLES = ("concise", "detailed", "markdown")
DOMAINS = ("chat", "math", "code", "safety")
_CELL = re.compile(r"/(\d)(\d)$")


def item_key(subset: str, item_id: object) -> str:
    return f"{subset}/{item_id}"


def pair_id(item: str, chosen: int, rejected: int) -> str:
    return f"{item}/{chosen}{rejected}"


def cell_of(pair: str) -> tuple[str, int, int]:
    """The item key and the (chosen style, rejected style) of a pair id."""
    match = _CELL.search(pair)
    if not match:
        raise ValueError(f"not an RM-Bench pair id: {pair!r}")
    return pair[: match.start()], int(match.group(1)), int(match.group(2))


def _domain(path: Path, row: Row) -> str:
    own = row.object().get("domain")
    name = own if isinstance(own, str) else re.split(r"[_-]", path.stem, maxsplit=1)[0]
    if name not in DOMAINS:
        raise row.error(f"no RM-Bench domain ({', '.join(DOMAINS)}) in the item or the file name {path.name!r}",
                        "domain")
    return name


def _styled(row: Row, key: str) -> list[str]:
    value = row.get(key, list)
    if len(value) != len(STYLES) or not all(isinstance(v, str) for v in value):
        raise row.error(f"must be a list of {len(STYLES)} responses ({', '.join(STYLES)})", key)
    return value


def _samples(path: Path, row: Row) -> list[Sample]:
    domain, subset = _domain(path, row), row.text("subset")
    item_id = row.get("id", (int, str))
    chosen, rejected = _styled(row, "chosen"), _styled(row, "rejected")
    item = item_key(subset, item_id)
    return [Sample("rmbench", pair_id(item, i, j), row.location, row.text("prompt"), (chosen[i], rejected[j]),
                   votes=(ONE,), subset=domain, category=f"{STYLES[i]} vs {STYLES[j]}",
                   models=(f"chosen_{STYLES[i]}", f"rejected_{STYLES[j]}"), extra={"item": item})
            for i in range(len(STYLES)) for j in range(len(STYLES))]


def files(path: str | Path) -> list[Path]:
    """The item files of a path: the file itself, or a folder's ``*.json`` files (its ``data/`` if it has one)."""
    path = Path(path)
    if not path.is_dir():
        return [path]
    folder = path / "data" if (path / "data").is_dir() else path
    found = sorted(folder.glob("*.json"))
    if not found:
        raise InputError(folder, "holds no RM-Bench *.json files")
    return found


def read(path: str | Path) -> list[Sample]:
    """Every item of a file or folder as its nine pairs, in file order."""
    return [s for file in files(path) for row in iter_rows(file) for s in _samples(file, row)]


# -- scores of the six responses ---------------------------------------------------------------------

Scores = list  # three numbers (None: a failed judgment), in STYLES order


def _numbers(row: Row, key: str) -> Scores:
    value = row.get(key, list)
    if len(value) != len(STYLES) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        raise row.error(f"must be a list of {len(STYLES)} numbers", key)
    return value


def _from_judgments(rows: list[Row]) -> Iterator[tuple[Row, str, Scores, Scores]]:
    """FastChat single judgments of the bench metaeval.rmbench.write_bench wrote: per item, the scores of
    chosen_<style> and rejected_<style>."""
    by_item: dict[str, dict[str, float | None]] = {}
    first: dict[str, Row] = {}
    for row in rows:
        rec = SingleJudgment.from_json(row.obj, row.path if row.line is not None else f"{row.path}[{row.index}]",
                                       row.line)
        by_item.setdefault(str(rec.question_id), {})[rec.model] = None if rec.failed else float(rec.score)
        first.setdefault(str(rec.question_id), row)
    for item, scores in by_item.items():
        names = [(f"chosen_{s}", f"rejected_{s}") for s in STYLES]
        missing = [n for pair in names for n in pair if n not in scores]
        if missing:
            raise first[item].error(f"item {item!r} has no judgment of {', '.join(missing)}", "model")
        yield first[item], item, [scores[c] for c, _ in names], [scores[r] for _, r in names]


def read_scores(files: Sequence[Path]) -> Iterator[tuple[Row, str, Scores, Scores]]:
    """(row, item key, chosen scores, rejected scores) per item: from RM-Bench-style score rows
    (``{"id", "subset", "score_chosen", "score_rejected"}``), or from single judgments of the six responses."""
    for path in files:
        rows = list(iter_rows(path))
        if rows and "model" in rows[0].object():
            yield from _from_judgments(rows)
            continue
        for row in rows:
            yield (row, item_key(row.text("subset"), row.get("id", (int, str))), _numbers(row, "score_chosen"),
                   _numbers(row, "score_rejected"))
