"""Statistics shared by results/, metaeval/ and training/, below all of them: correlation and error between two
series of scores (Pearson, Spearman, Kendall's tau-b, MSE), Cohen's kappa of two raters' labels, the
strict majority of a panel's votes, and a (stratified) bootstrap interval of a mean.

Used by the inter-judge agreement table and the panels (results/agreement.py, results/panel.py), the judge
meta-evaluation (metaeval/metrics.py, metaeval/panel.py) and train_judge's before/after measurement
(training/evaluate.py).

Each returns None where it is undefined (fewer than two items, or a constant side), never a made-up 0.
"""
from __future__ import annotations

import math
import random
from typing import Hashable, Iterable, Sequence


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


def _pairwise_sum(values: Sequence[float]) -> float:
    """Sum in numpy's pairwise order, so a kappa equals sklearn's to the last bit (LLMBar's statistics)."""
    n = len(values)
    if n < 8:
        total = 0.0
        for v in values:
            total += v
        return total
    if n <= 128:
        acc = list(values[:8])
        rest = n - n % 8
        for i in range(8, rest, 8):
            for j in range(8):
                acc[j] += values[i + j]
        total = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
        for i in range(rest, n):
            total += values[i]
        return total
    half = n // 2
    half -= half % 8
    return _pairwise_sum(values[:half]) + _pairwise_sum(values[half:])


def cohen_kappa(a: Sequence, b: Sequence) -> float | None:
    """Cohen's kappa of two raters' labels (any hashable values); None when chance agreement is 1."""
    if len(a) != len(b) or not a:
        raise ValueError("cohen_kappa needs two equally long, non-empty label lists")
    # sklearn orders the classes by value; numbers first, then text, then None
    labels = sorted(set(a) | set(b), key=lambda x: (x is None, not isinstance(x, (int, float)),
                                                     x if isinstance(x, (int, float)) else str(x)))
    pos = {label: i for i, label in enumerate(labels)}
    k = len(labels)
    confusion = [[0] * k for _ in range(k)]
    for x, y in zip(a, b):
        confusion[pos[x]][pos[y]] += 1
    col = [sum(confusion[i][j] for i in range(k)) for j in range(k)]
    row = [sum(confusion[i]) for i in range(k)]
    n = sum(col)
    observed = sum(confusion[i][j] for i in range(k) for j in range(k) if i != j)
    expected = _pairwise_sum([0.0 if i == j else col[i] * row[j] / n for i in range(k) for j in range(k)])
    if expected == 0:
        return None
    return 1 - observed / expected


def strict_majority(votes: Iterable[Hashable]) -> Hashable | None:
    """The value more than half of ``votes`` hold; "tie" when none does; None for no votes."""
    votes = list(votes)
    if not votes:
        return None
    top = max(set(votes), key=votes.count)
    return top if 2 * votes.count(top) > len(votes) else "tie"


def bootstrap_interval(strata: Sequence[Sequence[float]], resamples: int = 1000,
                       seed: int = 0) -> tuple[float, float] | None:
    """95% percentile interval of the mean over strata of each stratum's mean, from ``resamples`` resamples
    drawn with replacement within each stratum (``random.Random(seed)``); one stratum: the plain bootstrap
    of a mean. None when a stratum is empty or there are no resamples."""
    if not strata or not all(strata) or resamples < 1:
        return None
    rng = random.Random(seed)
    means = sorted(math.fsum(math.fsum(rng.choices(s, k=len(s))) / len(s) for s in strata) / len(strata)
                   for _ in range(resamples))
    return percentile(means, 2.5), percentile(means, 97.5)


def percentile(ordered: Sequence[float], q: float) -> float:
    """numpy's default (linear) percentile of sorted values."""
    at = (len(ordered) - 1) * q / 100
    low = math.floor(at)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (at - low)
