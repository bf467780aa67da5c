"""The Bradley-Terry ratings of show_result --ratings --human-labels: judge-only, human-only and prediction-powered
(the PPI++ M-estimator, :mod:`llm_judge.ppi_bt`), on the Elo scale with 95% sandwich intervals. Needs numpy
(extra ``ratings``), as --ratings does.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .. import ppi_bt
from ..five_level import STRONG_WEIGHT
from ..ppi import Z95
from ..records import Judgment, PairJudgment
from .aggregate import pairs_in_scope, weighted_games
from .human_labels import MIN_LABELS, HumanLabels, game_key, judge_value
from .ratings import BASE, ELO_SCALE
from .tables import Table


def _games(rows: list[tuple[int, int, float]]) -> ppi_bt.Games:
    arr = np.asarray(rows, dtype=float).reshape(-1, 3)
    return ppi_bt.Games(arr[:, 0].astype(int), arr[:, 1].astype(int), arr[:, 2])


def _elo(fit: ppi_bt.Fit, anchor: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Ratings on the Elo scale (mean 1000, or the anchor model's 1000) and their standard errors."""
    k = len(fit.strengths)
    shift = np.eye(k) - (np.ones((k, k)) / k if anchor is None else np.eye(k)[[anchor] * k])
    ratings = BASE + ELO_SCALE * shift @ fit.strengths
    cov = ELO_SCALE ** 2 * shift @ fit.cov @ shift.T
    return ratings, np.sqrt(np.clip(np.diag(cov), 0.0, None))


def _elo_columns(fit: ppi_bt.Fit | None, anchor: int | None, k: int) -> list[list[float | None]]:
    if fit is None:
        return [[None, None, None] for _ in range(k)]
    ratings, se = _elo(fit, anchor)
    return [[r, r - Z95 * s, r + Z95 * s] for r, s in zip(ratings, se)]


def _try_fit(k: int, labelled: ppi_bt.Games, judged: np.ndarray, unlabelled: ppi_bt.Games,
             lam: float | None, why: list[str], who: str) -> ppi_bt.Fit | None:
    try:
        return ppi_bt.fit(k, labelled, judged, unlabelled, lam)
    except ppi_bt.NotIdentified as exc:
        why.append(f"{who}: no finite fit ({exc})")
        return None


def corrected_ratings_table(records: Sequence[Judgment], labels: HumanLabels, models: list[str] | None,
                            baseline: str | None, failed_games: str = "drop",
                            strong_weight: int = STRONG_WEIGHT) -> Table:
    """Bradley-Terry ratings (Elo scale) fitted three ways, with 95% sandwich intervals (no bootstrap)."""
    games = [r for r in pairs_in_scope(records, models, baseline) if isinstance(r, PairJudgment)]
    names = sorted({m for r in games for m in (r.model_1, r.model_2)})
    index = {m: i for i, m in enumerate(names)}
    judged_rows, lab_rows, lab_judge, un_rows = [], [], [], []
    for r in games:
        f = judge_value(r, r.model_1, weighted_games(r, failed_games, strong_weight))
        if f is not None:
            judged_rows.append((index[r.model_1], index[r.model_2], f))
        human = labels.value(game_key(r))
        f = 0.5 if f is None else f
        if human is None:
            un_rows.append((index[r.model_1], index[r.model_2], f))
        else:
            lab_rows.append((index[r.model_1], index[r.model_2], human))
            lab_judge.append(f)
    k, anchor, why = len(names), (index[baseline] if baseline in index else None), []
    empty = _games([])
    judge = _try_fit(k, _games(judged_rows), np.zeros(len(judged_rows)), empty, 0.0, why, "judge")
    human = _try_fit(k, _games(lab_rows), np.zeros(len(lab_rows)), empty, 0.0, why, "human") if lab_rows else None
    ppi = _try_fit(k, _games(lab_rows), np.asarray(lab_judge), _games(un_rows), None, why, "ppi") if len(
        lab_rows) >= MIN_LABELS else None
    columns = ["model"] + [f"{who}{part}" for who in ("judge", "human", "ppi") for part in ("", "_lower", "_upper")]
    table = Table("pairwise: Bradley-Terry ratings (Elo scale) corrected by human labels", columns + ["lambda"])
    cols = [_elo_columns(f, anchor, k) for f in (judge, human, ppi)]
    for i, model in enumerate(names):
        table.rows.append([model] + cols[0][i] + cols[1][i] + cols[2][i] + [ppi.lam if ppi else None])
    table.rows.sort(key=lambda row: -(row[7] if row[7] is not None else row[1] or 0.0))
    anchored = "mean 1000" if anchor is None else f"{baseline} = 1000"
    table.note = "; ".join([f"the PPI++ M-estimator with the logistic loss (anchor: {anchored}); games as the "
                            "win-rate table counts them; 95% sandwich intervals"] + why)
    return table
