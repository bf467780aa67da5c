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

from itertools import combinations
from typing import Any, Hashable, Mapping, Sequence

from ..records import Judgment
from ..stats import cohen_kappa, pearson, spearman
from .aggregate import game_winner, pairs_in_scope, singles
from .panel import FLIP, latest, pair_key, single_key
from .tables import Table


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
