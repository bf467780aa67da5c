"""Prediction-powered Bradley-Terry: the PPI++ M-estimator with the logistic loss (see :mod:`llm_judge.ppi`).

A game between models a and b is x = e_a - e_b with outcome y in [0, 1] (a's share: 1 a win, 0.5 a tie); the
Bradley-Terry strengths theta minimise the mean logistic loss l(theta; x, y) = log(1 + exp(x.theta)) - y x.theta.
With n human-labelled games (x_i, Y_i, judge's f_i) and N judge-only games (x~_j, f~_j), PPI++ minimises

    L(theta) = mean_i l(theta; x_i, Y_i) + lam * (mean_j l(theta; x~_j, f~_j) - mean_i l(theta; x_i, f_i))

which is convex for lam in [0, 1] (the loss is linear in y). Its covariance is H^-1 (lam^2 V_f / N + V_d / n) H^-1
with H the Hessian of the loss (the same for every y: estimated over all games), V_f the covariance of the
judge-label gradients on the unlabelled games and V_d that of grad l(Y) - lam grad l(f) on the labelled ones.
lam minimises the trace of that covariance, estimated at the lam = 1 fit, then clipped to [0, 1] (PPI++, the
M-estimation case). Strengths are in natural-log odds with the first model's fixed at 0; the caller rescales.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_STEPS = 100


class NotIdentified(ValueError):
    """The strengths have no finite estimate (a model won or lost all its games, or the games are disconnected)."""


@dataclass(frozen=True)
class Games:
    """Games as index pairs: ``first``/``second`` model indices, ``outcome`` the first model's share."""

    first: np.ndarray
    second: np.ndarray
    outcome: np.ndarray

    def design(self, models: int) -> np.ndarray:
        """x without the first model's column (its strength is fixed at 0)."""
        x = np.zeros((len(self.first), models))
        rows = np.arange(len(self.first))
        x[rows, self.first] += 1.0
        x[rows, self.second] -= 1.0
        return x[:, 1:]


@dataclass(frozen=True)
class Fit:
    strengths: np.ndarray  # one per model, the first 0
    cov: np.ndarray  # their covariance (the first row and column 0)
    lam: float


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _solve(x_lab: np.ndarray, target: np.ndarray, x_un: np.ndarray, f_un: np.ndarray, lam: float) -> np.ndarray:
    """Newton's method on L(theta); ``target`` = Y - lam f on the labelled games."""
    theta = np.zeros(x_lab.shape[1])
    n, big_n = len(x_lab), max(len(x_un), 1)
    for step_number in range(MAX_STEPS):
        s_lab, s_un = _sigmoid(x_lab @ theta), _sigmoid(x_un @ theta)
        grad = x_lab.T @ ((1 - lam) * s_lab - target) / n + lam * x_un.T @ (s_un - f_un) / big_n
        hess = ((1 - lam) * (x_lab.T * (s_lab * (1 - s_lab))) @ x_lab / n
                + lam * (x_un.T * (s_un * (1 - s_un))) @ x_un / big_n)
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:  # singular at the start (theta = 0): the games leave a model unconnected
            raise NotIdentified("a model won (or lost) every game it played" if step_number else
                                "the games do not connect every model") from None
        theta -= step
        if not np.all(np.isfinite(theta)) or np.abs(theta).max() > 50:
            raise NotIdentified("a model won (or lost) every game it played")
        if np.abs(step).max() < 1e-10:
            return theta
    raise NotIdentified("the fit did not converge")


def _pieces(theta: np.ndarray, x_lab: np.ndarray, y: np.ndarray, f: np.ndarray, x_un: np.ndarray,
            f_un: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """H^-1 and the per-game gradients: human and judge labels on the labelled games, judge on the others."""
    x_all = np.vstack([x_lab, x_un])
    s_all = _sigmoid(x_all @ theta)
    hess = (x_all.T * (s_all * (1 - s_all))) @ x_all / len(x_all)
    s_lab, s_un = s_all[: len(x_lab)], s_all[len(x_lab):]
    return (np.linalg.inv(hess), x_lab * (s_lab - y)[:, None], x_lab * (s_lab - f)[:, None],
            x_un * (s_un - f_un)[:, None])


def _cov(a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    b = a if b is None else b
    if len(a) < 2:
        return np.zeros((a.shape[1], a.shape[1]))
    return (a - a.mean(0)).T @ (b - b.mean(0)) / (len(a) - 1)


def _tuned(inv_h: np.ndarray, g_y: np.ndarray, g_f: np.ndarray, g_un: np.ndarray) -> float:
    n, big_n = len(g_y), len(g_un)
    if big_n == 0 or n < 2:
        return 0.0
    cross = _cov(g_y, g_f)
    num = np.trace(inv_h @ (cross + cross.T) @ inv_h)
    den = 2 * (1 + n / big_n) * np.trace(inv_h @ _cov(np.vstack([g_f, g_un])) @ inv_h)
    return float(min(1.0, max(0.0, num / den))) if den > 0 else 0.0


def fit(models: int, labelled: Games, judged: np.ndarray, unlabelled: Games, lam: float | None = None) -> Fit:
    """Bradley-Terry strengths from human outcomes on ``labelled`` (``judged``: the judge's outcomes on the same
    games) and the judge's on ``unlabelled``; ``lam`` None: tuned (PPI++), 0: the humans' games alone."""
    x_lab, x_un = labelled.design(models), unlabelled.design(models)
    y, f, f_un = labelled.outcome, np.asarray(judged, dtype=float), unlabelled.outcome
    if lam is None and not len(f_un):
        lam = 0.0  # every game labelled: the humans' fit
    if lam is None:
        start = _solve(x_lab, y - f, x_un, f_un, 1.0)
        lam = _tuned(*_pieces(start, x_lab, y, f, x_un, f_un))
    if lam == 0.0:
        x_un, f_un = x_un[:0], f_un[:0]
    theta = _solve(x_lab, y - lam * f, x_un, f_un, lam)
    inv_h, g_y, g_f, g_un = _pieces(theta, x_lab, y, f, x_un, f_un)
    var = _cov(g_y - lam * g_f) / len(x_lab) + (lam * lam * _cov(g_un) / len(g_un) if len(g_un) else 0.0)
    reduced = inv_h @ var @ inv_h
    cov = np.zeros((models, models))
    cov[1:, 1:] = reduced
    return Fit(np.concatenate([[0.0], theta]), cov, lam)
