"""LLMBar (princeton-nlp/LLMBar): ``dataset.json`` arrays of ``{input, output_1, output_2, label}``.

``label`` is 1 or 2, the output that follows the instruction; there are no ties and no rationales. The
path may be one file or a folder: every ``dataset.json`` below it is read (evaluator outputs skipped), and
the subset folder ("Natural", "Adversarial/Neighbor", "Processed/FairEval", ...) becomes the subset.
Sample ids are ``<subset>/<row>``.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from .rows import Row, iter_rows, read_responses
from .sample import ONE, TWO, Sample

LABEL = {1: ONE, 2: TWO}


def files(path: Path) -> list[tuple[str, Path]]:
    """(subset, dataset.json) for a file, or for every dataset.json under a folder (skipping evaluator outputs)."""
    if not path.exists():
        raise InputError(path, "file not found")
    if path.is_file():
        return [(path.parent.name, path)]
    found = sorted(p for p in path.rglob("dataset.json") if "evaluators" not in p.relative_to(path).parts)
    if not found:
        raise InputError(path, "holds no LLMBar dataset.json files")
    return [(p.parent.relative_to(path).as_posix() if p.parent != path else path.name, p) for p in found]


def _sample(row: Row, subset: str) -> Sample:
    label = row.choice("label", LABEL)
    responses, quirks = read_responses(row, "output_1", "output_2")
    return Sample("llmbar", f"{subset}/{row.index}", row.location, row.text("input"), responses, votes=(label,),
                  subset=subset, quirks=quirks)


def read(path: str | Path) -> list[Sample]:
    return [_sample(row, subset) for subset, file in files(Path(path)) for row in iter_rows(file)]
