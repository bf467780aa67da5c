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

from ..errors import MissingDependency
from ..five_level import STRONG_WEIGHT
from ..ppi import Corrected, Estimate, corrected_mean, mean_estimate
from ..records import Judgment
from .aggregate import Scale, pairs_in_scope, scale_of, singles, weighted_games
from .human_labels import MIN_LABELS, HumanLabels, game_key, judge_value, read_human_labels
from .tables import Table

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
        try:
            from .human_ratings import corrected_ratings_table
        except ImportError:
            raise MissingDependency("numpy", "ratings") from None
        tables.append(corrected_ratings_table(records, labels, models, baseline, failed_games, strong_weight))
    return tables
