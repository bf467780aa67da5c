"""Inter-judge agreement: how often each pair of judges of a panel give the same verdict (show_result --panel).

For every pair of judges, over the items both have a verdict on (failed judgments left out; ``n`` counts them):
  pairwise  agreement = the share of games with the same verdict (model_1, model_2 or tie, each judge's
            decided by the verdict rule), and Cohen's kappa on those three labels;
  single    agreement = the share of answers given exactly the same score, Cohen's kappa on the scores
            taken as labels as they are (1..10 are ten categories, no binning), and Pearson's and
            Spearman's correlation between the two judges' scores (Spearman: Pearson on average ranks).
A statistic that is undefined (kappa when chance agreement is 1, a correlation when one judge gives every
item the same score, fewer than two items) is shown as "-".
"""
from __future__ import annotations

import math
from itertools import combinations
from typing import Any, Hashable, Mapping, Sequence

from ..metaeval.metrics import cohen_kappa
from ..records import Judgment
from .aggregate import game_winner, pairs_in_scope, singles
from .panel import FLIP, latest, pair_key, single_key
from .tables import Table


def pearson(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Pearson's r, None when undefined (fewer than two items, or no variance in one of them)."""
    n = len(x)
    if n < 2:
        return None
    mx, my = sum(x) / n, sum(y) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
    sxx, syy = sum((a - mx) ** 2 for a in x), sum((b - my) ** 2 for b in y)
    return sxy / math.sqrt(sxx * syy) if sxx > 0 and syy > 0 else None


def ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks, tied values sharing the mean of their ranks (as scipy.stats.rankdata)."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return out


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    return pearson(ranks(x), ranks(y))


def _kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float | None:
    return cohen_kappa(a, b) if a else None


def _verdicts(records: list[Judgment], pairwise: bool, failed_games: str, models: list[str] | None,
              baseline: str | None) -> dict[Hashable, Any]:
    """item -> the judge's verdict: a score (single), or a winner in the order of the models' names (pairwise)."""
    out: dict[Hashable, Any] = {}
    if pairwise:
        for k, r in latest(pairs_in_scope(records, models, baseline), pair_key).items():
            w = game_winner(r, failed_games)  # type: ignore[arg-type]
            if w is not None:
                out[k] = w if r.model_1 <= r.model_2 else FLIP[w]  # type: ignore[union-attr]
    else:
        for k, r in latest(singles(records, models), single_key).items():
            if not r.failed:
                out[k] = float(r.score)  # type: ignore[union-attr, arg-type]
    return out


def agreement_table(judges: Mapping[str, list[Judgment]], pairwise: bool, failed_games: str = "drop",
                    models: list[str] | None = None, baseline: str | None = None) -> Table:
    """One row per pair of judges: shared items, agreement (%), Cohen's kappa, and in single mode the
    correlations of their scores."""
    columns = ["judge_1", "judge_2", "n", "agreement", "kappa"] + ([] if pairwise else ["pearson", "spearman"])
    what = "verdicts" if pairwise else "scores"
    table = Table(f"{'pairwise' if pairwise else 'single'}: inter-judge agreement on {what}", columns)
    verdicts = {j: _verdicts(recs, pairwise, failed_games, models, baseline) for j, recs in judges.items()}
    for j1, j2 in combinations(verdicts, 2):
        shared = [k for k in verdicts[j1] if k in verdicts[j2]]
        a, b = [verdicts[j1][k] for k in shared], [verdicts[j2][k] for k in shared]
        same = 100.0 * sum(x == y for x, y in zip(a, b)) / len(shared) if shared else None
        row = [j1, j2, len(shared), same, _kappa(a, b)]
        if not pairwise:
            row += [pearson(a, b), spearman(a, b)]
        table.rows.append(row)
    table.note = ("over the items both judges have a verdict on (n; failed judgments left out): agreement = % "
                  "with the same " + ("verdict (model_1, model_2, tie)" if pairwise else "score")
                  + "; Cohen's kappa on " + ("those verdicts" if pairwise else "the scores as labels, unbinned")
                  + ("" if pairwise else "; Pearson and Spearman between the scores"))
    return table
