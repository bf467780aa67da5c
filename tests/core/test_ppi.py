"""PPI++ for means and for Bradley-Terry: hand-computed values, the clipping of lambda, and coverage by simulation."""
import math

import numpy as np
import pytest

from llm_judge import ppi_bt
from llm_judge.ppi import Z95, corrected_mean, mean_estimate, ppi_mean, tuned_lambda


def test_hand_computed_estimate():
    # labelled: Y = f = [1, 0, 1, 0]; unlabelled f~ = [1, 1, 0, 0] (n = N = 4).
    # Var(Y) = 1/3 on the labelled games, Var(f) = 2/7 over all 8 predictions, Cov(Y, f) = 1/3:
    # lam = (1/3) / ((1 + 4/4) * 2/7) = 7/12. theta = mean((1 - lam) Y) + lam * mean(f~) = 1/2.
    # Var = (5/12)^2 (1/3) / 4 + (7/12)^2 (1/3) / 4 = 25/1728 + 49/1728 = 74/1728.
    est, lam = ppi_mean([1, 0, 1, 0], [1, 0, 1, 0], [1, 1, 0, 0])
    assert lam == pytest.approx(7 / 12)
    assert est.value == pytest.approx(0.5)
    assert est.se == pytest.approx(math.sqrt(74 / 1728))
    assert (est.lower, est.upper) == pytest.approx((0.5 - Z95 * est.se, 0.5 + Z95 * est.se))
    both = corrected_mean([1, 0, 1, 0], [1, 0, 1, 0], [1, 1, 0, 0])
    assert both.effective_n == pytest.approx((1 / 3) / (74 / 1728))  # = 7.78 labels' worth from 4
    assert both.human.se == pytest.approx(math.sqrt((1 / 3) / 4))
    assert both.judge.value == pytest.approx(0.5) and both.judge.n == 8


def test_lambda_clipped_to_zero_and_one():
    # A judge that disagrees with the humans gets lam = 0: the estimate is the human mean.
    est, lam = ppi_mean([1, 0, 1, 0], [0, 1, 0, 1], [1, 1, 1, 0])
    assert lam == 0.0
    assert est.value == pytest.approx(0.5) and est.se == pytest.approx(mean_estimate([1, 0, 1, 0]).se)
    # Predictions that barely vary off the labelled games make the raw lam ~99: clipped to 1 (plain PPI).
    assert tuned_lambda(np.array([1.0, 0.0]), np.array([1.0, 0.0]), np.full(100, 0.5)) == 1.0
    # Constant predictions carry no information.
    assert tuned_lambda(np.array([1.0, 0.0]), np.array([0.5, 0.5]), np.full(10, 0.5)) == 0.0


def _simulate(reps: int, games: int, labelled: int, seed: int):
    """A biased judge: right 75% of the time, otherwise it says model_1 won. Human truth: model_1 wins with
    p = 0.55, ties half of the rest. Returns per repetition (judge-only, human-only, ppi) estimates."""
    rng = np.random.default_rng(seed)
    truth = 0.55 + 0.5 * 0.5 * 0.45  # wins + half the ties
    out = []
    for _ in range(reps):
        human = np.where(rng.random(games) < 0.55, 1.0, np.where(rng.random(games) < 0.5, 0.5, 0.0))
        judge = np.where(rng.random(games) < 0.75, human, 1.0)
        lab = rng.choice(games, labelled, replace=False)
        rest = np.setdiff1d(np.arange(games), lab)
        c = corrected_mean(human[lab], judge[lab], judge[rest])
        out.append((c.judge, c.human, c.ppi))
    return truth, out


def test_coverage_by_simulation():
    truth, runs = _simulate(reps=1000, games=2000, labelled=200, seed=1)
    cover = {who: np.mean([r[i].covers(truth) for r in runs]) for i, who in enumerate(("judge", "human", "ppi"))}
    assert 0.93 <= cover["ppi"] <= 0.97, cover  # 0.940; about 0.94 over 4,000 (lam fitted on the labels)
    assert cover["judge"] < 0.05, cover  # the judge's interval is around its bias (+0.08), not the truth
    widths = {who: np.mean([r[i].upper - r[i].lower for r in runs]) for i, who in enumerate(("judge", "human", "ppi"))}
    assert widths["ppi"] < 0.8 * widths["human"], widths


def _two_model_games(y, f, f_un):
    """Games of model 1 (first) against model 0 (second), outcomes model 1's share."""
    lab = ppi_bt.Games(np.ones(len(y), int), np.zeros(len(y), int), np.asarray(y, float))
    un = ppi_bt.Games(np.ones(len(f_un), int), np.zeros(len(f_un), int), np.asarray(f_un, float))
    return lab, np.asarray(f, float), un


def test_bradley_terry_of_two_models_is_the_logit_of_the_ppi_mean():
    # With two models the M-estimator's equation is sigma(theta) = the PPI++ mean (the same lam), and its
    # standard error is the mean's divided by sigma (1 - sigma) (the delta method).
    y, f = [1, 0, 1, 1, 0.5, 1, 0, 1], [1, 0, 1, 0, 0.5, 1, 1, 1]
    f_un = [1, 1, 0, 1, 0.5, 1, 0, 1, 1, 0, 1, 1]
    fit = ppi_bt.fit(2, *_two_model_games(y, f, f_un))
    est, lam = ppi_mean(y, f, f_un)
    assert fit.lam == pytest.approx(lam)
    p = 1 / (1 + math.exp(-fit.strengths[1]))
    assert p == pytest.approx(est.value)
    assert math.sqrt(fit.cov[1, 1]) == pytest.approx(est.se / (p * (1 - p)))
    human = ppi_bt.fit(2, *_two_model_games(y, f, []), lam=0.0)
    assert 1 / (1 + math.exp(-human.strengths[1])) == pytest.approx(np.mean(y))


def test_bradley_terry_refuses_an_unbeaten_model():
    lab, f, un = _two_model_games([1, 1, 1], [1, 1, 1], [1, 1])
    with pytest.raises(ppi_bt.NotIdentified, match="won"):
        ppi_bt.fit(2, lab, f, un, lam=0.0)


def test_bradley_terry_coverage_with_three_models():
    # Strengths 0, 0.5, 1 (natural log odds); a judge that says "first model wins" 30% of the time.
    rng = np.random.default_rng(3)
    strengths, hits, reps = np.array([0.0, 0.5, 1.0]), 0, 300
    for _ in range(reps):
        a = rng.integers(0, 3, 1500)
        b = (a + rng.integers(1, 3, 1500)) % 3
        human = (rng.random(1500) < 1 / (1 + np.exp(strengths[b] - strengths[a]))).astype(float)
        judge = np.where(rng.random(1500) < 0.7, human, 1.0)
        lab, rest = np.arange(200), np.arange(200, 1500)
        games = ppi_bt.Games(a[lab], b[lab], human[lab]), judge[lab], ppi_bt.Games(a[rest], b[rest], judge[rest])
        fit = ppi_bt.fit(3, *games)
        diff, se = fit.strengths[2] - fit.strengths[1], math.sqrt(fit.cov[2, 2] + fit.cov[1, 1] - 2 * fit.cov[1, 2])
        hits += abs(diff - 0.5) <= Z95 * se
    assert 0.92 <= hits / reps <= 0.98
