"""RM-Bench's score: the 3x3 accuracy matrix of chosen style against rejected style, and its hard / normal /
easy accuracies, per domain and averaged over domains (its README and ``compute_accuracy``).

M[i][j] is the share of items whose chosen response in style i beats the rejected one in style j (styles:
concise, detailed, markdown). hard = the mean of the upper triangle (j > i: the rejected response is the more
styled one), normal = the diagonal, easy = the lower triangle; total = the mean of all nine. A pair judged in
both orders is won by the chosen response when the orders' +1 / -1 / 0 scores sum above 0 (as JudgeBench; a
tie is not a win, as RM-Bench's strict ``>`` on scores); a pair scored once, when its verdict is "1". The
average row is the mean over the domains present, as RM-Bench's table averages chat, math, code and safety.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..datasets.rmbench import DOMAINS, STYLES, cell_of
from ..results.tables import Table
from .judgebench import correct
from .pairs import LabelledPair
from .predictions import Predictions

SIZE = len(STYLES)


def matrices(items: Sequence[LabelledPair], preds: Predictions) -> dict[str, tuple[np.ndarray, int]]:
    """domain -> (M, the number of items with a verdict), over the pairs the judge has verdicts for."""
    hits: dict[str, np.ndarray] = {}
    counts: dict[str, np.ndarray] = {}
    items_seen: dict[str, set[str]] = {}
    for p in items:
        if p.id not in preds.verdicts or p.label is None:
            continue
        item, i, j = cell_of(p.id)
        hits.setdefault(p.subset, np.zeros((SIZE, SIZE)))[i, j] += correct(preds.verdicts[p.id], p.label)
        counts.setdefault(p.subset, np.zeros((SIZE, SIZE)))[i, j] += 1
        items_seen.setdefault(p.subset, set()).add(item)
    order = [d for d in DOMAINS if d in hits] + sorted(set(hits) - set(DOMAINS))
    return {d: (np.divide(hits[d], counts[d], out=np.full((SIZE, SIZE), np.nan), where=counts[d] > 0),
                len(items_seen[d])) for d in order}


def summary(m: np.ndarray) -> dict[str, float]:
    """hard (upper triangle), normal (diagonal), easy (lower triangle) and total of a matrix."""
    upper, lower = np.triu_indices(SIZE, 1), np.tril_indices(SIZE, -1)
    return {"hard": float(np.mean(m[upper])), "normal": float(np.mean(np.diag(m))),
            "easy": float(np.mean(m[lower])), "total": float(np.mean(m))}


def _pct(x: float) -> float | None:
    return None if np.isnan(x) else 100.0 * x


def rmbench_tables(title: str, items: Sequence[LabelledPair], judges: Sequence[Predictions]) -> list[Table]:
    """The accuracies per judge and domain (and their average), then each judge's matrices."""
    scores = Table(f"{title}: RM-Bench accuracy (%)",
                   ["judge", "domain", "items", "hard", "normal", "easy", "total"],
                   note="hard: chosen in a plainer style than rejected (upper triangle of the matrix); normal: the "
                        "same style; easy: the chosen one more styled; average: the mean over the domains")
    cells = Table(f"{title}: RM-Bench matrix (% chosen beats rejected)",
                  ["judge", "domain", "chosen"] + [f"vs {s}" for s in STYLES],
                  note="rows: the chosen response's style; columns: the rejected one's")
    for preds in judges:
        found = matrices(items, preds)
        for domain, (m, n) in found.items():
            s = summary(m)
            scores.rows.append([preds.name, domain, n] + [_pct(s[k]) for k in ("hard", "normal", "easy", "total")])
            cells.rows += [[preds.name, domain, STYLES[i]] + [_pct(m[i, j]) for j in range(SIZE)]
                           for i in range(SIZE)]
        if len(found) > 1:
            per = [summary(m) for m, _ in found.values()]
            scores.rows.append([preds.name, "average", sum(n for _, n in found.values())]
                               + [_pct(float(np.mean([s[k] for s in per]))) for k in ("hard", "normal", "easy",
                                                                                      "total")])
    return [scores, cells]
