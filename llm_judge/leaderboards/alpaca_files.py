"""AlpacaEval's files: ``model_outputs.json`` (one list per model) and ``annotations.json`` (one list per model
and annotator), read as released and written in the same form.

Layout (tatsu-lab/alpaca_eval's ``results/``)::

    results/<model>/model_outputs.json                                 instruction, output, generator, dataset
    results/<model>/<annotator>/annotations.json                       instruction, output_1 (baseline), output_2
                                                                       (model), generator_1/2, preference, ...
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..jsonl import write_text_atomic

BASELINE = "gpt4_1106_preview"
ANNOTATOR = "weighted_alpaca_eval_gpt4_turbo"
OUTPUTS_FILE = "model_outputs.json"
ANNOTATIONS_FILE = "annotations.json"


@dataclass(frozen=True)
class Output:
    instruction: str
    output: str
    generator: str
    dataset: str


@dataclass(frozen=True)
class Annotation:
    """One released (or our) annotation; ``preference`` is None where the annotator gave none."""

    instruction: str
    output_1: str  # the baseline's
    output_2: str  # the model's
    generator_1: str
    generator_2: str
    preference: float | None
    index: int  # position in the evaluation set, the key of the instruction difficulty


def read_json_list(path: Path) -> list[dict[str, Any]]:
    """A JSON file holding a list of objects; anything else is an InputError naming the file and record."""
    try:
        obj = json.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except UnicodeDecodeError:
        raise InputError(path, "not UTF-8 text; save the file as UTF-8") from None
    except json.JSONDecodeError as exc:
        raise InputError(path, f"invalid JSON ({exc.msg})", exc.lineno) from None
    if not isinstance(obj, list):
        raise InputError(path, "expected a JSON list of records")
    for i, rec in enumerate(obj):
        if not isinstance(rec, dict):
            raise InputError(path, "must be an object", field=f"[{i}]")
    return obj


def _text(rec: dict[str, Any], name: str, path: Path, i: int) -> str:
    value = rec.get(name)
    if not isinstance(value, str):
        raise InputError(path, "is missing or not a string", field=f"[{i}].{name}")
    return value


def read_outputs(path: Path) -> list[Output]:
    out = []
    for i, rec in enumerate(read_json_list(path)):
        generator, dataset = rec.get("generator", path.parent.name), rec.get("dataset", "")
        for name, value in (("generator", generator), ("dataset", dataset)):
            if not isinstance(value, str):
                raise InputError(path, "must be a string", field=f"[{i}].{name}")
        out.append(Output(_text(rec, "instruction", path, i), _text(rec, "output", path, i), generator, dataset))
    return out


def preference_value(value: Any, path: Path, i: int) -> float | None:
    """A released preference: a number 1..2 (0 is an old spelling of a draw), a numeric string, or null/NaN."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise InputError(path, f"must be a number, got {value!r}", field=f"[{i}].preference") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(path, f"must be a number, got {value!r}", field=f"[{i}].preference")
    value = float(value)
    if math.isnan(value):
        return None
    if value == 0:
        return 1.5
    if not 1 <= value <= 2:
        raise InputError(path, f"must lie in [1, 2] (1: output_1 preferred, 2: output_2), got {value}",
                         field=f"[{i}].preference")
    return value


def read_annotations(path: Path) -> list[Annotation]:
    out = []
    for i, rec in enumerate(read_json_list(path)):
        names = [_text(rec, k, path, i) for k in ("instruction", "output_1", "output_2", "generator_1", "generator_2")]
        out.append(Annotation(*names, preference=preference_value(rec.get("preference"), path, i), index=i))
    models = {a.generator_2 for a in out}
    if len(models) > 1:
        raise InputError(path, f"holds several models ({', '.join(sorted(models))}); one file is one model's",
                         field="generator_2")
    return out


def write_json_list(path: Path, records: list[dict[str, Any]]) -> None:
    """AlpacaEval's own format (an indented JSON list), replaced in one rename."""
    write_text_atomic(path, [json.dumps(records, ensure_ascii=False, indent=2), "\n"])


def write_outputs(path: Path, outputs: list[Output]) -> None:
    write_json_list(path, [{"instruction": o.instruction, "output": o.output, "generator": o.generator,
                            "dataset": o.dataset} for o in outputs])


def annotation_sets(path: Path) -> dict[str, list[Path]]:
    """Annotator (its folder's name) -> its files: ``annotations.json`` itself, every
    ``<model>/<annotator>/annotations.json`` under a results folder, or every ``<annotator>/annotations.json``
    of one model's folder; AlpacaEval's own annotator first."""
    if path.is_file():
        return {path.parent.name: [path]}
    if not path.is_dir():
        raise InputError(path, "no such file or folder")
    sets: dict[str, list[Path]] = {}
    for found in sorted(path.glob(f"*/*/{ANNOTATIONS_FILE}")) or sorted(path.glob(f"*/{ANNOTATIONS_FILE}")):
        sets.setdefault(found.parent.name, []).append(found)
    if not sets:
        raise InputError(path, f"holds no <model>/<annotator>/{ANNOTATIONS_FILE}")
    return dict(sorted(sets.items(), key=lambda kv: kv[0] != ANNOTATOR))


def annotator_folder(annotator: str, judge: str, judge_id: str) -> str:
    """Where a judge's annotations go: the annotator's own name for the judge it names, else tagged with ours."""
    return annotator if judge_id == judge else f"{annotator}_by_{judge_id}"


def outputs_beside(annotations: Path) -> Path:
    """``results/<model>/model_outputs.json`` next to ``results/<model>/<annotator>/annotations.json``."""
    return annotations.parent.parent / OUTPUTS_FILE
