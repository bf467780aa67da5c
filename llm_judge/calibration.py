"""Calibration of a judge's verdict probabilities (P(response 1), P(response 2), P(tie)): the maps, their fit,
and the measures of calibration. Pure Python; used by eval_judge calibrate (fit) and show_result (apply).

Maps (``--method``, or chosen by cross-validation):
    temperature  p_k ** a / sum_j p_j ** a, one exponent a = 1 / T fitted by minimising the log-loss (Guo et al.
                 2017 on probabilities: the same as dividing the logits by T); keeps the ranking of the classes
    isotonic     top-label: the confidence of the most likely class mapped by an isotonic (non-decreasing) fit
                 of "that class is the label" (pool-adjacent-violators), the other classes rescaled to share
                 the rest in their proportions

Measures: ECE (top-label, 10 equal-width bins of confidence: the mean over items of |accuracy - confidence|
per bin, weighted by the bin's share), Brier (sum over the classes of (p_k - y_k)^2, averaged) and log-loss
(-log p_label, p clipped at 1e-15), each a mean over items.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from .errors import InputError
from .jsonl import write_text_atomic

CLASSES = ("1", "2", "tie")  # response 1 (model_1), response 2 (model_2), a tie
METHODS = ("temperature", "isotonic")
BINS = 10
EPS = 1e-15
Probs = tuple[float, float, float]


def top(p: Sequence[float]) -> int:
    """The most likely class (the first of equals, in CLASSES order)."""
    return max(range(len(p)), key=lambda k: (p[k], -k))


def ece(probs: Sequence[Sequence[float]], labels: Sequence[int], bins: int = BINS) -> float:
    totals: dict[int, list[float]] = {}
    for p, y in zip(probs, labels):
        k = top(p)
        b = min(int(p[k] * bins), bins - 1)
        t = totals.setdefault(b, [0.0, 0.0, 0.0])
        t[0] += 1
        t[1] += p[k]
        t[2] += k == y
    return sum(abs(t[2] - t[1]) for t in totals.values()) / len(labels)


def brier_items(probs: Sequence[Sequence[float]], labels: Sequence[int]) -> list[float]:
    return [sum((pk - (k == y)) ** 2 for k, pk in enumerate(p)) for p, y in zip(probs, labels)]


def log_loss_items(probs: Sequence[Sequence[float]], labels: Sequence[int]) -> list[float]:
    return [-math.log(max(p[y], EPS)) for p, y in zip(probs, labels)]


def measures(probs: Sequence[Sequence[float]], labels: Sequence[int]) -> dict[str, float]:
    n = len(labels)
    return {"ece": ece(probs, labels), "brier": math.fsum(brier_items(probs, labels)) / n,
            "log_loss": math.fsum(log_loss_items(probs, labels)) / n}


@dataclass
class CalibrationMap:
    """A fitted map: ``temperature`` (``exponent`` = 1 / T) or ``isotonic`` (``edges``: the upper confidence of
    each block, ``values``: its calibrated confidence)."""

    method: str
    exponent: float = 1.0
    edges: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)  # what it was fitted on, written to the file

    def __call__(self, p: Sequence[float]) -> Probs:
        if self.method == "temperature":
            powered = [max(pk, EPS) ** self.exponent if pk > 0 else 0.0 for pk in p]
            total = sum(powered)
            return tuple(x / total for x in powered)  # type: ignore[return-value]
        k = top(p)
        new = self.values[next((i for i, e in enumerate(self.edges) if p[k] <= e), len(self.edges) - 1)]
        rest, others = 1.0 - p[k], [j for j in range(len(p)) if j != k]
        out = [0.0] * len(p)
        out[k] = new
        for j in others:
            out[j] = (1.0 - new) * (p[j] / rest if rest > 0 else 1.0 / len(others))
        return tuple(out)  # type: ignore[return-value]

    def to_json(self) -> dict[str, Any]:
        params = ({"temperature": 1.0 / self.exponent, "exponent": self.exponent} if self.method == "temperature"
                  else {"edges": self.edges, "values": self.values})
        return {"calibration": self.method, **params, "classes": list(CLASSES), **self.info}


def fit_temperature(probs: Sequence[Sequence[float]], labels: Sequence[int]) -> CalibrationMap:
    """The exponent minimising the mean log-loss (convex in it), by golden-section search on its logarithm."""
    logs = [[math.log(max(pk, EPS)) if pk > 0 else None for pk in p] for p in probs]

    def loss(log_a: float) -> float:
        a = math.exp(log_a)
        total = 0.0
        for lp, y in zip(logs, labels):
            terms = [a * x for x in lp if x is not None]
            peak = max(terms)
            total += peak + math.log(sum(math.exp(t - peak) for t in terms)) - a * (lp[y] if lp[y] is not None
                                                                                  else math.log(EPS))
        return total

    low, high, ratio = -6.0, 6.0, (math.sqrt(5) - 1) / 2
    for _ in range(80):
        m1, m2 = high - ratio * (high - low), low + ratio * (high - low)
        if loss(m1) <= loss(m2):
            high = m2
        else:
            low = m1
    return CalibrationMap("temperature", exponent=math.exp((low + high) / 2))


def fit_isotonic(probs: Sequence[Sequence[float]], labels: Sequence[int]) -> CalibrationMap:
    """Pool-adjacent-violators on (confidence, top class is the label), equal confidences pooled first."""
    points: dict[float, list[float]] = {}
    for p, y in zip(probs, labels):
        k = top(p)
        points.setdefault(p[k], []).append(float(k == y))
    blocks: list[list[float]] = []  # [upper confidence, sum of hits, count]
    for conf in sorted(points):
        blocks.append([conf, sum(points[conf]), float(len(points[conf]))])
        while len(blocks) > 1 and blocks[-2][1] / blocks[-2][2] >= blocks[-1][1] / blocks[-1][2]:
            last = blocks.pop()
            blocks[-1] = [last[0], blocks[-1][1] + last[1], blocks[-1][2] + last[2]]
    return CalibrationMap("isotonic", edges=[b[0] for b in blocks], values=[b[1] / b[2] for b in blocks])


FITS = {"temperature": fit_temperature, "isotonic": fit_isotonic}


def cross_fitted(probs: Sequence[Sequence[float]], labels: Sequence[int], method: str, folds: int) -> list[Probs]:
    """Each item's probabilities under the map fitted on the other folds (fold = item index mod ``folds``)."""
    out: list[Probs] = [(0.0, 0.0, 0.0)] * len(labels)
    for f in range(folds):
        train = [i for i in range(len(labels)) if i % folds != f]
        fitted = FITS[method]([probs[i] for i in train], [labels[i] for i in train])
        for i in range(f, len(labels), folds):
            out[i] = fitted(probs[i])
    return out


def load_map(path: str | Path) -> CalibrationMap:
    """A map file written by eval_judge calibrate; a malformed one is an InputError naming the field."""
    path = Path(path)
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(path, f"cannot read a calibration map ({exc})") from None
    method = obj.get("calibration") if isinstance(obj, dict) else None
    if method not in METHODS:
        raise InputError(path, f"must be one of {', '.join(METHODS)}, got {json.dumps(method)}", None, "calibration")
    if method == "temperature":
        exponent = obj.get("exponent")
        if isinstance(exponent, bool) or not isinstance(exponent, (int, float)) or exponent <= 0:
            raise InputError(path, "must be a positive number", None, "exponent")
        return CalibrationMap(method, exponent=float(exponent))
    edges, values = obj.get("edges"), obj.get("values")
    ok = (isinstance(edges, list) and isinstance(values, list) and edges and len(edges) == len(values)
          and all(isinstance(v, (int, float)) and 0 <= v <= 1 for v in edges + values))
    if not ok:
        raise InputError(path, "must be two lists of numbers in [0, 1] of the same length", None, "edges")
    return CalibrationMap(method, edges=[float(e) for e in edges], values=[float(v) for v in values])


def save_map(cmap: CalibrationMap, path: str | Path) -> None:
    write_text_atomic(path, [json.dumps(cmap.to_json(), indent=2) + "\n"])
