"""Correlation and error between two series of scores: Pearson, Spearman, Kendall's tau-b, MSE.

Used by the inter-judge agreement table (results/agreement.py) and train_judge's before/after measurement
(training/evaluate.py).

Each returns None where it is undefined (fewer than two items, or a constant side), never a made-up 0.
"""
from __future__ import annotations

import math
from typing import Sequence


def pearson(x: Sequence[float], y: Sequence[float]) -> float | None:
    n = len(x)
    if n < 2 or n != len(y):
        return None
    mx, my = sum(x) / n, sum(y) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    return sxy / math.sqrt(sxx * syy) if sxx > 0 and syy > 0 else None


def ranks(x: Sequence[float]) -> list[float]:
    """Ranks from 1, ties given their average rank."""
    order = sorted(range(len(x)), key=lambda i: x[i])
    out = [0.0] * len(x)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and x[order[j + 1]] == x[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return out


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    return pearson(ranks(x), ranks(y)) if len(x) == len(y) else None


def kendall(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Kendall's tau-b: (concordant - discordant) / sqrt((pairs - ties in x) * (pairs - ties in y))."""
    n = len(x)
    if n < 2 or n != len(y):
        return None
    concordant = discordant = tie_x = tie_y = 0
    for i in range(n):
        for j in range(i + 1, n):
            dx, dy = x[i] - x[j], y[i] - y[j]
            if dx == 0:
                tie_x += 1
            if dy == 0:
                tie_y += 1
            if dx * dy > 0:
                concordant += 1
            elif dx * dy < 0:
                discordant += 1
    pairs = n * (n - 1) // 2
    denom = math.sqrt((pairs - tie_x) * (pairs - tie_y))
    return (concordant - discordant) / denom if denom else None


def mse(x: Sequence[float], y: Sequence[float]) -> float | None:
    return sum((a - b) ** 2 for a, b in zip(x, y)) / len(x) if x and len(x) == len(y) else None


def score_metrics(pred: Sequence[float], label: Sequence[float]) -> dict[str, float | None]:
    return {"pearson": pearson(pred, label), "spearman": spearman(pred, label), "kendall": kendall(pred, label),
            "mse": mse(pred, label)}
