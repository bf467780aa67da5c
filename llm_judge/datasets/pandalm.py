"""PandaLM (WeOpenML/PandaLM ``data/``): the human-annotated test set and the judges' released outputs.

``testset-v1.json``: a JSON array of ``idx, cmp_key ("bloom-7b_llama-7b"), motivation_app, instruction,
input, response1, response2, annotator1..3`` with 0 = tie, 1 = response1 better, 2 = response2 better.
One row has a blank instruction and the task in ``input``; six responses are JSON ``true`` where the
model answered "True" (the release went through a converter that parsed them).

``gpt-3.5-turbo-testset-v1.json`` / ``pandalm-7b-testset-v1.json``: ``idx``, ``<judge>_result`` (0, 1, 2,
"Tie", or text PandaLM could not parse, "garbage") and ``<judge>_reason``.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from .rows import Row, iter_rows, read_responses
from .sample import ONE, TIE, TWO, Sample, Verdict

VOTE = {0: TIE, 1: ONE, 2: TWO}
NAMES = ("Response 1", "Response 2")  # how the judges' reasons call the two responses
_ANNOTATOR = re.compile(r"^annotator(\d+)$")


def _idx(row: Row) -> int | str:
    idx = row.object().get("idx")
    if isinstance(idx, bool) or not isinstance(idx, (int, str)):
        raise row.error("is missing or not an integer", "idx")
    return idx


def _sample(row: Row) -> Sample:
    obj = row.object()
    idx = _idx(row)
    instruction = row.text("instruction", allow_empty=True)
    extra_input = row.get("input", required=False) or ""
    if not (instruction.strip() or extra_input.strip()):
        raise row.error("and 'input' are both empty", "instruction")
    annotators = sorted((int(m.group(1)), k) for k in obj if (m := _ANNOTATOR.match(k)))
    if not annotators:
        raise row.error("has no annotator1..3 labels", "annotator1")
    votes = tuple(row.choice(k, VOTE) for _, k in annotators)
    cmp_key = row.get("cmp_key", required=False)
    models = str(cmp_key or "").split("_")
    responses, quirks = read_responses(row, "response1", "response2")
    return Sample("pandalm", str(idx), row.location, instruction, responses, input=extra_input, votes=votes,
                  subset="PandaLM", category=str(obj.get("motivation_app") or ""),
                  models=tuple(models) if len(models) == 2 and all(models) else ("response1", "response2"),
                  quirks=quirks, extra={"idx": idx, "cmp_key": cmp_key})


def read(path: str | Path) -> list[Sample]:
    return [_sample(row) for row in iter_rows(path)]


@dataclass(frozen=True)
class JudgeOutput:
    """One line of a released prediction file: the verdict (None = unparseable) and the judge's reason."""

    row: Row
    idx: int | str
    verdict: Verdict
    reason: str | None


def _verdict(row: Row, key: str) -> Verdict:
    value = row.object()[key]
    if isinstance(value, str):
        text = value.strip().lower()
        if text == "tie":
            return TIE
        return VOTE.get(int(text)) if text in ("0", "1", "2") else None  # "garbage": no verdict
    if isinstance(value, int) and not isinstance(value, bool) and value in VOTE:
        return VOTE[value]
    if value is None:
        return None
    raise row.error(f"must be 0, 1, 2, \"Tie\" or a string PandaLM could not parse, got {json.dumps(value)}", key)


def read_outputs(path: str | Path) -> list[JudgeOutput]:
    outputs = []
    for row in iter_rows(path):
        obj = row.object()
        keys = [k for k in obj if k.endswith("_result")]
        if len(keys) != 1 or "idx" not in obj:
            raise row.error("expected an 'idx' and one '<judge>_result' field", "idx")
        reason = row.get(keys[0][: -len("_result")] + "_reason", required=False)
        outputs.append(JudgeOutput(row, _idx(row), _verdict(row, keys[0]), reason))
    return outputs
