"""Labelled pairwise sets, read through llm_judge.datasets and turned into a LabelledSet.

    pandalm        PandaLM testset-v1.json: three annotators' votes, the label their majority
    llmbar         LLMBar dataset.json; a folder loads every dataset.json under it, each folder one subset
    autoj          Auto-J testdata_pairwise.jsonl, grouped by Auto-J's scenario groups
    mtbench-human  MT-bench human judgments: one pair per question, model pair and turn
    judgelm        JudgeLM val set, labelled by GPT-4's scores in ``text`` (made without the reference)
    jsonl          ours: {"id", "question", "response_1", "response_2", "label": "1"|"2"|"tie", ...}
    judgebench     JudgeBench pair files (or output files: their pairs), grouped by its four categories
    rmbench        RM-Bench item files (or their folder): nine pairs per item, chosen style vs rejected style

Pair ids follow the source's row order (0-based), so prediction files aligned by line with the source
(Auto-J, JudgeLM) and our judge runs refer to the same pairs. Bad input raises InputError naming the
file, the line (JSONL) or ``[item]`` (JSON array), and the field.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from ..datasets import autoj, judgebench, judgelm, llmbar, mtbench_human, ours, pandalm, rmbench
from ..datasets.rows import iter_rows
from ..datasets.sample import Sample
from ..errors import ConfigError, InputError
from .pairs import LabelledPair, LabelledSet, pair_of

FORMATS = ("pandalm", "llmbar", "autoj", "mtbench-human", "judgelm", "jsonl", "judgebench", "rmbench")


def _judgelm_pair(sample: Sample) -> LabelledPair:
    # The labels were made without the reference, and pairs are told apart by their own ids (as ever).
    return pair_of(replace(sample, reference=None, question_id=None))


def _labelled(name: str, fmt: str, path: str | Path, samples: list[Sample],
              to_pair: Callable[[Sample], LabelledPair] = pair_of) -> LabelledSet:
    items = [to_pair(s) for s in samples]
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise InputError(path, f"pair id {item.id!r} occurs twice")
        seen.add(item.id)
    if not items:
        raise InputError(path, "holds no pairs")
    return LabelledSet(name, fmt, items)


def load_set(path: str | Path, fmt: str = "auto", annotators: tuple[str, ...] = ("expert",)) -> LabelledSet:
    """Load a labelled pairwise set; ``fmt`` "auto" tells the format from the fields of the first record."""
    fmt = detect_format(path) if fmt == "auto" else fmt
    if fmt == "pandalm":
        return _labelled("pandalm", fmt, path, pandalm.read(path))
    if fmt == "llmbar":
        return _labelled("llmbar", fmt, path, llmbar.read(path))
    if fmt == "autoj":
        return _labelled("autoj", fmt, path, autoj.read_testset(path))
    if fmt == "mtbench-human":
        return _labelled("mtbench-human", fmt, path, mtbench_human.read(path, annotators))
    if fmt == "judgelm":
        return _labelled("judgelm", fmt, path, judgelm.read(path), _judgelm_pair)
    if fmt == "jsonl":
        return _labelled(Path(path).stem, fmt, path, ours.read(path))
    if fmt == "judgebench":
        return _labelled("judgebench", fmt, path, judgebench.read(path))
    if fmt == "rmbench":
        return _labelled("rmbench", fmt, path, rmbench.read(path))
    raise ConfigError(f"unknown set format {fmt!r} (known: {', '.join(FORMATS)})")


# -- format detection ------------------------------------------------------------------------------

_SIGNATURES: list[tuple[str, Callable[[dict], bool]]] = [
    ("judgebench", lambda o: "pair_id" in o and "response_A" in o),
    ("rmbench", lambda o: isinstance(o.get("chosen"), list) and isinstance(o.get("rejected"), list)),
    ("pandalm", lambda o: "annotator1" in o and "response1" in o),
    ("llmbar", lambda o: "output_1" in o and "label" in o),
    ("autoj", lambda o: "response 1" in o),
    ("mtbench-human", lambda o: "conversation_a" in o or ("model_a" in o and "winner" in o)),
    ("judgelm", lambda o: "answer1_body" in o),
    ("jsonl", lambda o: "response_1" in o),
]


def _first_object(path: Path) -> dict[str, Any]:
    row = next(iter_rows(path), None)  # a JSON array is parsed whole to see one item; JSONL just one line
    obj = row.obj if row else None
    if not isinstance(obj, dict):
        raise InputError(path, "expected JSON objects (one per line, or a JSON array of them)")
    return obj


def _signature(obj: dict[str, Any]) -> str | None:
    return next((name for name, matches in _SIGNATURES if matches(obj)), None)


def detect_format(path: str | Path) -> str:
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found")
    if path.is_dir():  # LLMBar's folders hold dataset.json files in subfolders; RM-Bench's its item files
        first = next(iter(sorted((path / "data" if (path / "data").is_dir() else path).glob("*.json"))), None)
        return "rmbench" if first is not None and _signature(_first_object(first)) == "rmbench" else "llmbar"
    obj = _first_object(path)
    name = _signature(obj)
    if name:
        return name
    raise ConfigError(f"{path}: cannot tell which labelled-set format this is (fields: {', '.join(list(obj)[:8])}); "
                      f"give --set-format ({', '.join(FORMATS)})")
