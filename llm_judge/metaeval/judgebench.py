"""JudgeBench's score: accuracy per category (knowledge, reasoning, math, coding) and overall.

JudgeBench's rule (its ``utils/metrics.py``): each order scores +1 when its verdict is the label, -1 when
it is the opposite verdict, 0 for a tie or no verdict; a pair is correct when the sum is above 0. With one
order (reward models) that is: the verdict is the label. The interval is the 2.5th to 97.5th percentile of
the accuracy over bootstrap resamples of the pairs (:func:`llm_judge.stats.bootstrap_interval`).
"""
from __future__ import annotations

from typing import Sequence

from ..datasets.judgebench import CATEGORIES
from ..results.tables import Table
from ..stats import bootstrap_interval
from .pairs import LabelledPair, Verdict, flip
from .predictions import Predictions

BOOTSTRAP = 1000


def correct(verdicts: Sequence[Verdict], label: Verdict) -> bool:
    """JudgeBench's rule for one pair: the orders' +1 / -1 / 0 scores sum above 0."""
    return sum(1 if v == label else -1 if v is not None and v == flip(label) else 0 for v in verdicts) > 0


def outcomes(items: Sequence[LabelledPair], preds: Predictions) -> dict[str, list[bool]]:
    """Per category, then "overall": whether each pair the judge has verdicts for is correct."""
    out: dict[str, list[bool]] = {c: [] for c in CATEGORIES}
    for p in items:
        if p.id in preds.verdicts and p.label is not None:
            out.setdefault(p.subset, []).append(correct(preds.verdicts[p.id], p.label))
    out["overall"] = [hit for c in list(out) for hit in out[c]]
    return out


def judgebench_table(title: str, items: Sequence[LabelledPair], judges: Sequence[Predictions],
                     resamples: int = BOOTSTRAP, seed: int = 0) -> Table:
    """One row per judge: accuracy (%) per category and overall with its 95% bootstrap interval."""
    table = Table(f"{title}: JudgeBench accuracy (%)",
                  ["judge", "orders"] + list(CATEGORIES) + ["overall", "lower_95", "upper_95", "n"],
                  note="a pair is correct when its orders' scores (+1 the label, -1 the opposite, 0 a tie or no "
                       f"verdict) sum above 0 (JudgeBench's rule); interval: {resamples} bootstrap resamples of "
                       f"pairs, seed {seed}")
    for preds in judges:
        got = outcomes(items, preds)
        rates = [100.0 * sum(got[c]) / len(got[c]) if got[c] else None for c in (*CATEGORIES, "overall")]
        interval = bootstrap_interval([[float(hit) for hit in got["overall"]]], resamples, seed)
        low, high = (100.0 * interval[0], 100.0 * interval[1]) if interval else (None, None)
        table.rows.append([preds.name, preds.orders] + rates + [low, high, len(got["overall"])])
    return table
