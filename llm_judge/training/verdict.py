"""Where a training target states its verdict, and the number each label of the family's scale stands for.

The labels are those of ``--judge-method distribution`` (the family's DistributionSpec): a score label
stands for its score; a pairwise label for the preference of the first response, A = 1, B = 0, tie = 0.5,
so the expected preference under the judge's label probabilities is P(A) + 0.5 * P(tie), the
probabilities renormalised over the labels. The verdict is found in the text, never at a fixed offset:
after the last occurrence of the prefill ("Rating: [[", "[RESULT] "); at the start of the target for
families that write the verdict first with no prefill (JudgeLM, PandaLM); at the end when a family has
neither prefill nor suffix.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import ConfigError
from ..judging.families import DistributionSpec, JudgeFamily
from ..judging.verdicts import VerdictError, pair_parser, single_parser

PAIR_VALUE = {"A": 1.0, "B": 0.0, "tie": 0.5}  # the first response's preference
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


@dataclass(frozen=True)
class Scale:
    """One way a family writes its verdict: a prefill, the labels and the number each stands for."""

    prefill: str
    labels: tuple[str, ...]
    suffix: str
    values: tuple[float, ...]
    pairwise: bool


@dataclass(frozen=True)
class VerdictSite:
    scale: Scale
    start: int  # character offset in the target where the label begins (right after the prefill)
    end: int  # where the label and its suffix end
    target: float  # the verdict as a number on the scale's terms (score, or 1 / 0 / 0.5)


def scales(family: JudgeFamily, pairwise: bool) -> list[Scale]:
    """Every (prefill, labels) the family reads in ``pairwise`` or single judging, with the labels' values."""
    kind = "pairwise" if pairwise else "single"
    specs = family.distribution.get(kind, ())
    if not specs:
        raise ConfigError(f"judge family {family.name!r} has no score-distribution labels for {kind} judging, "
                          "which the raft objectives and the evaluation read")
    out = []
    for spec in specs:
        prefills = [spec.prefill] if isinstance(spec.prefill, str) else list(dict.fromkeys(spec.prefill.values()))
        for prefill in prefills:
            values = _values(family, kind, spec, prefill)
            if values is not None:
                out.append(Scale(prefill, spec.labels, spec.suffix, values, pairwise))
    return out


def _values(family: JudgeFamily, kind: str, spec: DistributionSpec, prefill: str) -> tuple[float, ...] | None:
    formats = list(spec.formats) if spec.formats is not None else \
        sorted({p.output_format for p in family.prompts.values() if p.type == kind})
    for fmt in formats:  # the first format whose parser reads every label (families are checked on load)
        try:
            if kind == "pairwise":
                parse = pair_parser(fmt)
                return tuple(PAIR_VALUE[parse(prefill + label + spec.suffix)] for label in spec.labels)
            parse_score = single_parser(fmt)
            return tuple(float(parse_score(prefill + label + spec.suffix)) for label in spec.labels)
        except (VerdictError, ConfigError, KeyError):
            continue
    return None


def find(target: str, family_scales: list[Scale]) -> VerdictSite | None:
    """The verdict of ``target`` under the first scale that finds one; None when none does."""
    for scale in family_scales:
        site = _locate(target, scale)
        if site is not None:
            return site
    return None


def _locate(target: str, scale: Scale) -> VerdictSite | None:
    if scale.prefill:
        at = target.rfind(scale.prefill)
        if at < 0:
            return None
        return _read(target, scale, at + len(scale.prefill))
    if scale.suffix:
        return _read(target, scale, 0)
    body = target.rstrip()
    ends = [label for label in scale.labels if body.endswith(label)]
    return _read(target, scale, len(body) - len(max(ends, key=len))) if ends else None


def _read(target: str, scale: Scale, start: int) -> VerdictSite | None:
    """The label written at ``start``; a single score between labels (Auto-J's 7.5) is read as a number."""
    found = [k for k, label in enumerate(scale.labels) if target.startswith(label + scale.suffix, start)]
    if found:
        k = max(found, key=lambda i: len(scale.labels[i]))
        return VerdictSite(scale, start, start + len(scale.labels[k] + scale.suffix), scale.values[k])
    m = _NUMBER.match(target, start)
    if scale.pairwise or not m or not target.startswith(scale.suffix, m.end()):
        return None
    value = float(m.group())
    if not min(scale.values) <= value <= max(scale.values):
        return None
    return VerdictSite(scale, start, m.end() + len(scale.suffix), value)
