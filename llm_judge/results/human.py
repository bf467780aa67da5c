"""Results corrected by human labels (show_result --human-labels): each model's win rate (pairwise) or mean
score (single), and the Bradley-Terry ratings, three ways: the judge's alone, the humans' alone on the labelled
games, and prediction-powered (PPI++, :mod:`llm_judge.ppi` and :mod:`llm_judge.ppi_bt`), each with a 95%
interval, and the number of human labels the correction is worth.

The judge-only win rate is the tables' (failed judgments left out). In the prediction-powered estimate a game
the judge failed on predicts the middle of the scale (a tie, or the scale's midpoint for scores), so every
game counts and the estimate stays unbiased for the humans' value over all the games. The labelled games must
be a random sample of the judged ones.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .. import ppi_bt
from ..five_level import STRONG_WEIGHT
from ..ppi import Z95, Corrected, Estimate, corrected_mean, mean_estimate
from ..records import Judgment, PairJudgment
from .aggregate import Scale, pairs_in_scope, scale_of, singles, weighted_games
from .human_labels import HumanLabels, game_key, judge_value, read_human_labels
from .ratings import BASE, ELO_SCALE
from .tables import Table

MIN_LABELS = 2  # a model needs this many labelled games for the human-only and corrected columns
METHOD = ("PPI++ (Angelopoulos et al. 2023): judge verdicts on every game corrected by the human labels, the "
          "power-tuning lambda estimated from the data and clipped to [0, 1]; 95% normal intervals; "
          "effective_labels = human labels a human-only estimate would need for the same interval")


@dataclass
class ModelValues:
    """One model's games: the judge's value on each (None: failed) and the human value where labelled."""

    judge: list[float | None]
    human: list[float | None]


def pair_values(records: Sequence[Judgment], labels: HumanLabels, models: list[str] | None, baseline: str | None,
                failed_games: str = "drop", strong_weight: int = STRONG_WEIGHT) -> dict[str, ModelValues]:
    """model -> its outcome in each of its games, as the judge and the humans counted it (the baseline left out)."""
    out: dict[str, ModelValues] = {}
    for r in pairs_in_scope(records, models, baseline):
        weighted = weighted_games(r, failed_games, strong_weight)
        human = labels.value(game_key(r))
        for model in (r.model_1, r.model_2):
            if model == baseline:
                continue
            values = out.setdefault(model, ModelValues([], []))
            values.judge.append(judge_value(r, model, weighted))
            values.human.append(None if human is None else human if model == r.model_1 else 1.0 - human)
    return out


def single_values(records: Sequence[Judgment], labels: HumanLabels, models: list[str] | None,
                  scale: Scale) -> dict[str, ModelValues]:
    """model -> its score on each judged turn of ``scale``, as the judge and the humans gave it."""
    out: dict[str, ModelValues] = {}
    for r in singles(records, models):
        if scale_of(r) != scale:
            continue
        values = out.setdefault(r.model, ModelValues([], []))
        values.judge.append(judge_value(r, r.model))
        values.human.append(labels.value(game_key(r)))
    return out


def correct(values: ModelValues, missing: float) -> Corrected | None:
    """The three estimates of one model's mean; ``missing``: what a failed judgment predicts. None with fewer
    than MIN_LABELS labelled games."""
    fill = [missing if v is None else v for v in values.judge]
    human = [h for h in values.human if h is not None]
    if len(human) < MIN_LABELS:
        return None
    judged = [f for f, h in zip(fill, values.human) if h is not None]
    unlabelled = [f for f, h in zip(fill, values.human) if h is None]
    return corrected_mean(human, judged, unlabelled, [v for v in values.judge if v is not None])


def _interval(e: Estimate | None) -> list[float | None]:
    return [None, None, None] if e is None else [e.value, e.lower, e.upper]


def corrected_table(values: dict[str, ModelValues], pairwise: bool, scale: Scale | None = None) -> Table:
    """One row per model: judge-only, human-only and prediction-powered estimates with their 95% intervals."""
    what = "win rate (ties half)" if pairwise else f"mean score ({scale[0]:g}-{scale[1]:g})" if scale else "score"
    columns = ["model"] + [f"{who}{part}" for who in ("judge", "human", "ppi") for part in ("", "_lower", "_upper")]
    table = Table(f"{'pairwise' if pairwise else 'single'}: {what} corrected by human labels",
                  columns + ["lambda", "labelled", "games", "effective_labels"])
    missing = 0.5 if pairwise else (sum(scale) / 2 if scale else 5.5)
    few = []
    for model, v in values.items():
        c = correct(v, missing)
        labelled = sum(h is not None for h in v.human)
        if c is None:
            judge = [x for x in v.judge if x is not None]
            few.append(model)
            table.rows.append([model] + _interval(mean_estimate(judge) if judge else None) + [None] * 7
                              + [labelled, len(v.judge), None])
            continue
        table.rows.append([model] + _interval(c.judge) + _interval(c.human) + _interval(c.ppi)
                          + [c.lam, labelled, len(v.judge), c.effective_n])
    table.rows.sort(key=lambda row: -(row[7] if row[7] is not None else row[1] if row[1] is not None else 0.0))
    notes = [METHOD, "a game the judge failed counts as " + ("a tie" if pairwise else "the scale's midpoint")
             + " in the corrected estimate"]
    if few:
        notes.append(f"fewer than {MIN_LABELS} labelled games: {', '.join(few)} (judge-only shown)")
    table.note = "; ".join(notes)
    return table


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


def human_tables(path: str, records: Sequence[Judgment], pairwise: bool, models: list[str] | None,
                 baseline: str | None = None, failed_games: str = "drop", strong_weight: int = STRONG_WEIGHT,
                 scale: Scale | None = None, ratings: bool = False) -> list[Table]:
    """show_result --human-labels: the corrected win rates (pairwise) or mean scores (single) and, with
    ``ratings``, the corrected Bradley-Terry ratings."""
    labels = read_human_labels(path, list(records), pairwise)
    if not pairwise:
        return [corrected_table(single_values(records, labels, models, scale), False, scale)]
    tables = [corrected_table(pair_values(records, labels, models, baseline, failed_games, strong_weight), True)]
    if ratings:
        tables.append(corrected_ratings_table(records, labels, models, baseline, failed_games, strong_weight))
    return tables
