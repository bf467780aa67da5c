"""Named verdict rules: how one judge's record becomes the verdict the tables count (show_result --verdict-rule).

    fastchat   pairwise: a win only when both orders name the same model, else a tie (FastChat's rule, the
               default); single: the judge's greedy score
    pooled     pairwise: each order's verdict probabilities (A, B, tie), the second order's positions swapped
               back to model terms, averaged (the record's ``win_probs``); model_1 wins when its probability
               exceeds model_2's by more than the tie margin (--tie-margin, default 0.1), model_2 likewise,
               else a tie. Needs the records of --judge-method distribution
    expected   single: the expected score of the judge's score distribution (``expected_score``) instead of
               its greedy score. Needs the records of --judge-method distribution

A rule never revives a failed record: a judgment with an ``error`` field stays failed under every rule.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ..calibration import CalibrationMap, load_map
from ..errors import ConfigError
from ..records import Judgment, PairJudgment, SingleJudgment
from .aggregate import CountedPair, multiplicity

VERDICT_RULES = {
    "fastchat": "fastchat (a win only when both orders agree)",
    "pooled": "pooled (both orders' verdict probabilities averaged; a tie within {margin:g})",
    "expected": "expected (the expected score of each score distribution)",
}
PAIRWISE_RULES = ("fastchat", "pooled")
SINGLE_RULES = ("fastchat", "expected")
DEFAULT_TIE_MARGIN = 0.1


@dataclass(kw_only=True, eq=False)
class DecidedPair(CountedPair):
    """A pairwise record whose verdict a rule decided (``winner``; None = no verdict): the tables count
    ``winner``, while g1_winner / g2_winner keep what the judge said in each order (the position tables)."""

    winner: str | None = None

    @property
    def combined_winner(self) -> str | None:
        return self.winner

    @property
    def failed(self) -> bool:
        return self.winner is None


def describe(rule: str, tie_margin: float = DEFAULT_TIE_MARGIN, pairwise: bool = True) -> str:
    """The rule's name and meaning, as the notes under the tables state it."""
    if rule == "fastchat" and not pairwise:
        return "fastchat (the judge's greedy score)"
    return VERDICT_RULES[rule].format(margin=tie_margin)


def check(rule: str, pairwise: bool, tie_margin: float = DEFAULT_TIE_MARGIN) -> None:
    """A rule that does not apply to the mode, or a margin outside [0, 1), is a ConfigError."""
    if rule not in VERDICT_RULES:
        raise ConfigError(f"unknown verdict rule {rule!r} (rules: {', '.join(VERDICT_RULES)})")
    allowed = PAIRWISE_RULES if pairwise else SINGLE_RULES
    if rule not in allowed:
        raise ConfigError(f"--verdict-rule {rule} applies to {'single' if pairwise else 'pairwise'} judgments; "
                          f"these are {'pairwise' if pairwise else 'single'} (rules for them: {', '.join(allowed)})")
    if not 0.0 <= tie_margin < 1.0:
        raise ConfigError(f"--tie-margin must be in [0, 1), got {tie_margin:g}")


def apply(records: list[Judgment], rule: str, path: Path | str, tie_margin: float = DEFAULT_TIE_MARGIN) -> list[Judgment]:
    """``records`` (one judge's, read from ``path``) with their verdicts decided by ``rule``."""
    if rule == "fastchat":
        return records
    if rule == "expected":
        return _expected(records, path)
    return _pooled(records, path, tie_margin)


def _expected(records: Iterable[Judgment], path: Path | str) -> list[Judgment]:
    out: list[Judgment] = []
    missing = total = 0
    for r in records:
        if isinstance(r, SingleJudgment) and not r.failed:
            total += 1
            if r.expected_score is None:
                missing += 1
                continue
            r = dataclasses.replace(r, score=float(r.expected_score))
        out.append(r)
    if missing:
        raise ConfigError(f"{path}: --verdict-rule expected needs expected_score (written by --judge-method "
                          f"distribution); {missing} of {total} judgments have none")
    return out


def pooled_probs(record: PairJudgment) -> dict[str, float] | None:
    """P(model_1), P(model_2), P(tie) over both orders: the record's win_probs, else its two orders' verdict
    probabilities averaged (game 2 shows model_2 as A, so its A is model_2's); None when it has neither."""
    if record.win_probs is not None:
        return {k: float(record.win_probs.get(k, 0.0)) for k in ("model_1", "model_2", "tie")}
    g1, g2 = record.g1_verdict_probs, record.g2_verdict_probs
    if not g1 or not g2:
        return None
    return {"model_1": (g1.get("A", 0.0) + g2.get("B", 0.0)) / 2, "model_2": (g1.get("B", 0.0) + g2.get("A", 0.0)) / 2,
            "tie": (g1.get("tie", 0.0) + g2.get("tie", 0.0)) / 2}


def pooled_winner(probs: dict[str, float], tie_margin: float) -> str:
    """model_1 or model_2 when its probability beats the other's by more than ``tie_margin``, else tie."""
    lead = probs["model_1"] - probs["model_2"]
    if lead > tie_margin:
        return "model_1"
    if -lead > tie_margin:
        return "model_2"
    return "tie"


def _pooled(records: Iterable[Judgment], path: Path | str, tie_margin: float) -> list[Judgment]:
    out: list[Judgment] = []
    missing = total = 0
    for r in records:
        if not isinstance(r, PairJudgment):
            out.append(r)
            continue
        probs = None if r.error else pooled_probs(r)
        if not r.error:
            total += multiplicity(r)
            missing += multiplicity(r) if probs is None else 0
        fields = {f.name: getattr(r, f.name) for f in dataclasses.fields(PairJudgment)}
        out.append(DecidedPair(**fields, count=multiplicity(r),
                               winner=pooled_winner(probs, tie_margin) if probs else None))
    if missing:
        raise ConfigError(f"{path}: --verdict-rule pooled needs verdict probabilities (win_probs, or g1_/g2_"
                          f"verdict_probs, written by --judge-method distribution); {missing} of {total} "
                          "judgments have none")
    return out


def calibrated(records: Iterable[Judgment], cmap: CalibrationMap) -> list[Judgment]:
    """The pairwise records with their pooled verdict probabilities put through a calibration map (show_result
    --calibration, a file eval_judge calibrate wrote), kept as ``win_probs`` for the pooled rule."""
    out: list[Judgment] = []
    for r in records:
        probs = pooled_probs(r) if isinstance(r, PairJudgment) and not r.error else None
        if probs is not None:
            p = cmap((probs["model_1"], probs["model_2"], probs["tie"]))
            r = dataclasses.replace(r, win_probs={"model_1": p[0], "model_2": p[1], "tie": p[2]})
        out.append(r)
    return out


def calibration_for(path: str, rule: str) -> CalibrationMap:
    """The map of show_result --calibration, which only the pooled rule's probabilities go through."""
    if rule != "pooled":
        raise ConfigError("--calibration maps the verdict probabilities that --verdict-rule pooled counts; "
                          "add --verdict-rule pooled")
    return load_map(path)
