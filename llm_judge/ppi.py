"""Prediction-powered inference (PPI++) for a mean: a judge's predictions on every item corrected by human
labels on a random few, giving an estimate unbiased for the human mean with a valid 95% interval.

Sources: Angelopoulos, Bates, Fannjiang, Jordan, Zrnic, "Prediction-powered inference" (Science, 2023);
Angelopoulos, Duchi, Zrnic, "PPI++: Efficient prediction-powered inference" (2023); Boyeau, Angelopoulos, Yosef,
Malik, Jordan, "AutoEval done right: using synthetic data for model evaluation" (2024).

With n labelled items (human value Y_i, judge prediction f_i) and N unlabelled ones (prediction f~_j), the
power-tuned estimate of E[Y] is

    theta = mean(Y - lam * f) + lam * mean(f~)

unbiased for every fixed lam. Its variance, Var(Y - lam f) / n + lam^2 Var(f) / N, is smallest at
lam = Cov(Y, f) / ((1 + n / N) Var(f)) (PPI++, the mean example); lam is estimated from the data and clipped
to [0, 1] as in PPI++: lam = 0 is the human-only mean, lam = 1 the original PPI. The interval is the normal
(CLT) one, theta +- 1.96 se. The effective number of human labels is the n a human-only mean would need for
the same standard error: Var(Y) / se^2.

The Bradley-Terry form (the PPI M-estimator with the logistic loss) is in :mod:`llm_judge.ppi_bt`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Sequence

Z95 = NormalDist().inv_cdf(0.975)


@dataclass(frozen=True)
class Estimate:
    """A mean with its standard error and 95% normal interval; ``n`` is the number of items it averages."""

    value: float
    se: float
    n: int

    @property
    def lower(self) -> float:
        return self.value - Z95 * self.se

    @property
    def upper(self) -> float:
        return self.value + Z95 * self.se

    def covers(self, truth: float) -> bool:
        return self.lower <= truth <= self.upper


@dataclass(frozen=True)
class Corrected:
    """The three estimates of one mean: the judge's alone, the humans' alone, and prediction-powered."""

    judge: Estimate | None  # over every judged item
    human: Estimate  # over the labelled items
    ppi: Estimate
    lam: float  # the power-tuning parameter used
    effective_n: float | None  # human labels a human-only mean would need for ppi's standard error


def _mean(x: Sequence[float]) -> float:
    return math.fsum(x) / len(x)


def _cov(x: Sequence[float], y: Sequence[float]) -> float:
    """The sample covariance (n - 1 in the denominator); 0 for fewer than two values."""
    if len(x) < 2:
        return 0.0
    mx, my = _mean(x), _mean(y)
    return math.fsum((a - mx) * (b - my) for a, b in zip(x, y)) / (len(x) - 1)


def _var(x: Sequence[float]) -> float:
    return _cov(x, x)


def mean_estimate(values: Sequence[float]) -> Estimate:
    """The sample mean and its CLT standard error."""
    x = [float(v) for v in values]
    if not x:
        raise ValueError("no values to average")
    return Estimate(_mean(x), math.sqrt(_var(x) / len(x)), len(x))


def tuned_lambda(human: Sequence[float], judged: Sequence[float], unlabelled: Sequence[float]) -> float:
    """PPI++'s variance-minimising lam for a mean, clipped to [0, 1]; 0 when the predictions do not vary."""
    n, big_n = len(human), len(unlabelled)
    var_f = _var(list(judged) + list(unlabelled))
    if n < 2 or big_n == 0 or var_f == 0.0:
        return 0.0
    return min(1.0, max(0.0, _cov(human, judged) / ((1.0 + n / big_n) * var_f)))


def ppi_mean(human: Sequence[float], judged: Sequence[float], unlabelled: Sequence[float],
             lam: float | None = None) -> tuple[Estimate, float]:
    """The prediction-powered mean of ``human`` (labels on n items, ``judged`` the predictions on the same
    items) with ``unlabelled`` the predictions on the other N items; ``lam`` None: tuned from the data.
    Returns the estimate (its ``n`` counts labelled and unlabelled items) and the lam used."""
    y, f, f_un = ([float(v) for v in values] for values in (human, judged, unlabelled))
    if len(y) != len(f):
        raise ValueError(f"{len(y)} human labels but {len(f)} predictions on the labelled items")
    if len(y) < 2:
        raise ValueError("prediction-powered inference needs at least two labelled items")
    lam = tuned_lambda(y, f, f_un) if lam is None else lam
    rectified = [a - lam * b for a, b in zip(y, f)]
    value = _mean(rectified) + (lam * _mean(f_un) if f_un else 0.0)
    var = _var(rectified) / len(y) + (lam * lam * _var(f_un) / len(f_un) if f_un else 0.0)
    return Estimate(value, math.sqrt(var), len(y) + len(f_un)), lam


def corrected_mean(human: Sequence[float], judged: Sequence[float], unlabelled: Sequence[float],
                   judge_only: Sequence[float] | None = None) -> Corrected:
    """Judge-only, human-only and PPI++ estimates of one mean. ``judge_only``: the judge's values the judge-only
    estimate averages (default: ``judged`` and ``unlabelled`` together)."""
    ppi, lam = ppi_mean(human, judged, unlabelled)
    human_only = mean_estimate(human)
    every = list(judged) + list(unlabelled) if judge_only is None else list(judge_only)
    var_y = _var([float(h) for h in human])
    effective = var_y / ppi.se ** 2 if ppi.se > 0 else None
    return Corrected(mean_estimate(every) if every else None, human_only, ppi, lam, effective)
