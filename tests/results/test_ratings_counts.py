"""Ratings fitted on outcome counts: the point estimates of the fit on every game, and intervals that agree
with drawing games one by one (the row bootstrap) within Monte-Carlo error."""
import random

import numpy as np
import pytest

from llm_judge.records import PairJudgment
from llm_judge.results.aggregate import CountedPair
from llm_judge.results.ratings import ELO_SCALE, collect_games, fit, rate

TRUTH = {"a": 1100.0, "b": 1000.0, "c": 950.0, "d": 900.0}
RESAMPLES = 2000


def _games(seed: int = 0, per_pair: int = 30) -> list[PairJudgment]:
    rng, models, out = random.Random(seed), list(TRUTH), []
    for i, a in enumerate(models):
        for b in models[i + 1:]:
            for q in range(per_pair):
                p = 1.0 / (1.0 + 10 ** ((TRUTH[b] - TRUTH[a]) / 400.0))
                u = rng.random()
                w = "model_1" if u < 0.8 * p else "model_2" if u < 0.8 else "tie"
                out.append(PairJudgment(question_id=q, model_1=a, model_2=b, g1_winner=w, g2_winner=w, turn=1))
    return out


def _row_bootstrap(records: list[PairJudgment], seed: int):
    """The previous method: one design row per game, resamples drawn as multiplicities of the games."""
    names = sorted(TRUTH)
    index = {m: i for i, m in enumerate(names)}
    x = np.zeros((len(records), len(names)))
    for row, r in enumerate(records):
        x[row, index[r.model_1]] += 1.0
        x[row, index[r.model_2]] -= 1.0
    y = np.array([{"model_1": 1.0, "model_2": 0.0, "tie": 0.5}[r.g1_winner] for r in records])
    n = len(records)
    weights = np.vstack([np.ones((1, n)), np.random.default_rng(seed).multinomial(n, np.full(n, 1 / n), RESAMPLES)])
    theta = fit(x, y, weights)
    elo = 1000.0 + ELO_SCALE * (theta - theta.mean(axis=1, keepdims=True))
    return names, elo


def test_games_are_counted_once_per_outcome():
    records = _games()
    games = collect_games(records)
    assert sum(games.count) == len(records) == 180
    assert len(games.count) <= 6 * 3  # 6 pairs x 3 results
    counted = [CountedPair(question_id=1, model_1="a", model_2="b", g1_winner="tie", g2_winner="tie", count=7)]
    assert collect_games(counted).count == [7]


def test_point_estimates_are_those_of_the_fit_on_every_game_and_intervals_agree_with_the_row_bootstrap():
    records = _games()
    ours = {r.model: r for r in rate(records, bootstrap=RESAMPLES, seed=1).rows}
    names, rows = _row_bootstrap(records, seed=2)
    for i, m in enumerate(names):
        assert ours[m].rating == pytest.approx(rows[0, i], abs=1e-6)
        assert ours[m].games == 90
        sd = rows[1:, i].std()
        lo, hi = np.percentile(rows[1:, i], [2.5, 97.5])
        # A 2.5% quantile of 2,000 resamples has a standard error of about 0.06 sd; two independent ones
        # differ by about 0.085 sd: 0.35 sd is four of those.
        assert abs(ours[m].lower - lo) < 0.35 * sd and abs(ours[m].upper - hi) < 0.35 * sd
        assert 10 < sd < 100  # a real spread (90 games per model), not a degenerate one
