"""Arena-Hard-Auto's scores from battles: the default score with its bootstrap interval, and the
style-controlled win probability against the baseline.

Default: per model, the mean battle score over 100 bootstrap resamples of its battles (with replacement, as
many as it has), reported as the mean of those means and their 5th and 95th percentiles (x100).
Style control: a Bradley-Terry model of each battle's outcome on the model's strength minus the baseline's
and the four style features z-scored over all battles (sample s.d.), fitted by maximum likelihood on 100
bootstrap resamples of the battles; reported as the median and 5th-95th percentile of
sigmoid(model - baseline), the model's win probability against the baseline with style held equal.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

ROUNDS = 100


@dataclass(frozen=True)
class Battle:
    model: str
    baseline: str
    score: float  # the model's: 1 win, 0.5 tie, 0 loss
    features: tuple[float, ...] = ()


@dataclass(frozen=True)
class Score:
    model: str
    score: float  # percent
    lower: float
    upper: float

    @property
    def interval(self) -> str:
        return f"(-{round(self.score - self.lower, 1)} / +{round(self.upper - self.score, 1)})"


def default_scores(battles: Sequence[Battle], rounds: int = ROUNDS, seed: int = 0) -> list[Score]:
    """Per model: the mean and 5th/95th percentiles of its bootstrap mean scores."""
    rng = np.random.default_rng(seed)
    by_model: dict[str, np.ndarray] = {}
    for b in battles:
        by_model.setdefault(b.model, []).append(b.score)  # type: ignore[union-attr]
    models = sorted(by_model)
    values = {m: np.asarray(by_model[m], dtype=float) for m in models}
    means = {m: np.empty(rounds) for m in models}
    for r in range(rounds):
        for m in models:
            v = values[m]
            means[m][r] = v[rng.integers(0, len(v), size=len(v))].mean()
    return [Score(m, float(means[m].mean()) * 100, float(np.quantile(means[m], 0.05)) * 100,
                  float(np.quantile(means[m], 0.95)) * 100) for m in models]


def design(battles: Sequence[Battle]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(x, y, models): one column per non-baseline model (+1 when it plays), then the z-scored features."""
    baselines = {b.baseline for b in battles}
    models = sorted({b.model for b in battles} - baselines)
    index = {m: i for i, m in enumerate(models)}
    x = np.zeros((len(battles), len(models) + len(battles[0].features)))
    for row, b in enumerate(battles):
        x[row, index[b.model]] = 1.0
    feats = np.asarray([b.features for b in battles], dtype=float)
    sd = feats.std(axis=0, ddof=1)
    x[:, len(models):] = (feats - feats.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    return x, np.asarray([b.score for b in battles], dtype=float), models


def fit_bt(x: np.ndarray, y: np.ndarray, weights: np.ndarray, iterations: int = 100, tol: float = 1e-10
           ) -> np.ndarray:
    """Maximum-likelihood logistic fit on soft outcomes, one per row of ``weights`` (battle multiplicities),
    by Newton's method with a tiny ridge that only keeps an undefeated model finite."""
    from ..results.ratings import fit

    return fit(x, y, weights, iterations=iterations, tol=tol)


def style_controlled(battles: Sequence[Battle], rounds: int = ROUNDS, seed: int = 0
                     ) -> tuple[list[Score], np.ndarray]:
    """Per model: the median and 5th/95th percentiles of its win probability against the baseline with style
    held equal; and the features' median coefficients."""
    x, y, models = design(battles)
    rng = np.random.default_rng(seed)
    weights = np.zeros((rounds, len(battles)))
    for r in range(rounds):
        np.add.at(weights[r], rng.integers(0, len(battles), size=len(battles)), 1.0)
    theta = fit_bt(x, y, weights)
    probs = 1.0 / (1.0 + np.exp(-theta[:, :len(models)]))
    scores = [Score(m, float(np.quantile(probs[:, i], 0.5)) * 100, float(np.quantile(probs[:, i], 0.05)) * 100,
                    float(np.quantile(probs[:, i], 0.95)) * 100) for i, m in enumerate(models)]
    return scores, np.median(theta[:, len(models):], axis=0)
