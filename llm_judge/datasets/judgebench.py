"""JudgeBench (ScalerLab/JudgeBench, ICLR 2025): response pairs with objective correctness labels, and the
judges' released outputs.

Pair files (``data/dataset=judgebench,response_model=<model>.jsonl``): ``pair_id, original_id, source,
question, response_model, response_A, response_B, label`` with the label ``"A>B"`` or ``"B>A"``. ``source``
names the original set: ``mmlu-pro-<subject>`` (knowledge), ``livebench-reasoning``, ``livebench-math``,
``livecodebench``; JudgeBench reports accuracy per those four categories and overall.

Output files (``outputs/dataset=...,judge_name=<name>,judge_model=<model>.jsonl``): the pair rows plus
``judge_name`` and ``judgments``, a list of two games, each ``{"judgment": {...}, "decision": "A>B"|"B>A"|
"A=B"|null}``: the first shows response_A first, the second shows response_B first and its decision is in
shown order (its "A" is response_B). Reward-model files (``judge_name`` ``reward_model``, per-response
``scores``) count their first game only, as JudgeBench scores them.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .rows import Row, iter_rows, read_responses
from .sample import ONE, TIE, TWO, Sample, Verdict, flip

LABEL = {"A>B": ONE, "B>A": TWO}
DECISION: dict[object, Verdict] = {"A>B": ONE, "B>A": TWO, "A=B": TIE, None: None}
CATEGORIES = ("knowledge", "reasoning", "math", "coding")
_BY_SOURCE = {"livebench-reasoning": "reasoning", "livebench-math": "math", "livecodebench": "coding"}
SINGLE_GAME_JUDGES = ("reward_model",)


def category(source: str) -> str | None:
    """JudgeBench's category of a source: knowledge for mmlu-pro-*, else by name; None for an unknown one."""
    return "knowledge" if source.startswith("mmlu-pro") else _BY_SOURCE.get(source)


def _sample(row: Row) -> Sample:
    source = row.text("source")
    group = category(source)
    if group is None:
        raise row.error(f"is not a JudgeBench source (mmlu-pro-*, {', '.join(_BY_SOURCE)}), got {source!r}",
                        "source")
    responses, quirks = read_responses(row, "response_A", "response_B")
    return Sample("judgebench", row.text("pair_id"), row.location, row.text("question"), responses,
                  votes=(row.choice("label", LABEL),), subset=group, category=source,
                  models=("response_A", "response_B"), quirks=quirks,
                  extra={"original_id": row.object().get("original_id"),
                         "response_model": row.object().get("response_model")})


def read(path: str | Path) -> list[Sample]:
    """A pair file, or an output file (its pair fields; the judgments are read by :func:`read_outputs`)."""
    return [_sample(row) for row in iter_rows(path)]


@dataclass(frozen=True)
class JudgeOutput:
    """One pair's released verdicts in the pair's terms: (order 1,) or (order 1, order 2); None = no decision."""

    row: Row
    pair_id: str
    judge: str
    verdicts: tuple[Verdict, ...]


def _output(row: Row) -> JudgeOutput:
    judge = row.text("judge_name")
    games = row.get("judgments", list)
    if len(games) != 2 or not all(isinstance(g, dict) for g in games):
        raise row.error("must be a list of two games (response_A shown first, then response_B)", "judgments")
    decisions = [row.pick(g.get("decision"), f"judgments[{i}].decision", DECISION) for i, g in enumerate(games)]
    verdicts = (decisions[0],) if judge in SINGLE_GAME_JUDGES else (decisions[0], flip(decisions[1]))
    return JudgeOutput(row, row.text("pair_id"), judge, verdicts)


def read_outputs(path: str | Path) -> list[JudgeOutput]:
    return [_output(row) for row in iter_rows(path)]
