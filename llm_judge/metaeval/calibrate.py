"""eval_judge calibrate: fit a calibration of a judge's verdict probabilities on a labelled set and measure it.

The probabilities are those of ``--judge-method distribution`` judgments (a FastChat pairwise judgment file,
e.g. ``eval_judge run``'s): both orders' verdict probabilities pooled (``win_probs``), in the set's terms.
Before and after are measured on the same pairs; "after" uses cross-fitted probabilities (each fold's pairs
under the map fitted on the other folds, fold = index mod ``folds``), so it is not flattered by fitting on the
pairs it is measured on. ``method`` auto picks the map with the lower cross-fitted Brier score (temperature
on a tie). The map written to the file is fitted on every pair. Intervals: 95% percentile bootstrap over
pairs.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..calibration import CLASSES, FITS, METHODS, CalibrationMap, brier_items, cross_fitted, measures
from ..datasets.rows import read_rows
from ..errors import ConfigError
from ..results.tables import Table
from ..results.verdict_rules import pooled_probs
from ..stats import percentile
from .pairs import LabelledSet
from .predictions import pair_index, pair_judgment

MEASURES = ("ece", "brier", "log_loss")


@dataclass
class Calibrated:
    cmap: CalibrationMap
    before: dict[str, float]
    after: dict[str, float]
    before_ci: dict[str, tuple[float, float]]
    after_ci: dict[str, tuple[float, float]]
    n: int
    skipped: int  # labelled pairs without verdict probabilities


def set_probs(labelled: LabelledSet, files: Sequence[Path]) -> tuple[list[tuple[float, ...]], list[int], int]:
    """The pooled probabilities (in CLASSES order, the set's terms) and the label of every labelled pair the
    files judge with probabilities, and how many labelled pairs have none."""
    index, found = pair_index(labelled), {}
    for path in files:
        for row in read_rows(path):
            rec = pair_judgment(row)
            hit = index.get((str(rec.question_id), rec.model_1, rec.model_2, rec.turn))
            probs = None if rec.error or hit is None else pooled_probs(rec)
            if probs is not None:
                p = (probs["model_1"], probs["model_2"], probs["tie"])
                found[hit[0]] = (p[1], p[0], p[2]) if hit[1] else p  # the record names the models the other way
    pairs = [p for p in labelled.items if p.label is not None]
    kept = [p for p in pairs if p.id in found]
    return [found[p.id] for p in kept], [CLASSES.index(p.label) for p in kept], len(pairs) - len(kept)


def bootstrap(probs: Sequence[Sequence[float]], labels: Sequence[int], resamples: int,
              seed: int) -> dict[str, tuple[float, float]]:
    rng, n = random.Random(seed), len(labels)
    draws: dict[str, list[float]] = {m: [] for m in MEASURES}
    for _ in range(resamples):
        picks = rng.choices(range(n), k=n)
        got = measures([probs[i] for i in picks], [labels[i] for i in picks])
        for m in MEASURES:
            draws[m].append(got[m])
    return {m: (percentile(sorted(v), 2.5), percentile(sorted(v), 97.5)) for m, v in draws.items()}


def calibrate(labelled: LabelledSet, files: Sequence[Path], method: str = "auto", folds: int = 5,
              resamples: int = 1000, seed: int = 0) -> Calibrated:
    probs, labels, skipped = set_probs(labelled, files)
    if len(labels) < 2 * folds:
        raise ConfigError(f"calibrate needs at least {2 * folds} labelled pairs with verdict probabilities "
                          f"(--judge-method distribution judgments); found {len(labels)}")
    methods = METHODS if method == "auto" else (method,)
    fitted = {m: cross_fitted(probs, labels, m, folds) for m in methods}
    chosen = min(methods, key=lambda m: (sum(brier_items(fitted[m], labels)), METHODS.index(m)))
    cmap = FITS[chosen](probs, labels)
    after = fitted[chosen]
    return Calibrated(cmap, measures(probs, labels), measures(after, labels), bootstrap(probs, labels, resamples, seed),
                      bootstrap(after, labels, resamples, seed), len(labels), skipped)


def calibration_table(title: str, result: Calibrated, folds: int, resamples: int) -> Table:
    columns = ["probabilities"] + [f"{m}{part}" for m in MEASURES for part in ("", "_lower", "_upper")] + ["n"]
    table = Table(f"{title}: calibration of the verdict probabilities", columns)
    for name, values, ci in (("judge", result.before, result.before_ci),
                             (f"{result.cmap.method} (cross-fitted)", result.after, result.after_ci)):
        table.rows.append([name] + [x for m in MEASURES for x in (values[m], *ci[m])] + [result.n])
    table.note = (f"ECE: top-label, 10 bins; Brier: summed over 1 / 2 / tie; after: each of {folds} folds under the "
                  f"map fitted on the others; 95% intervals from {resamples} bootstrap resamples of pairs"
                  + (f"; {result.skipped} labelled pairs without verdict probabilities left out" if result.skipped
                     else ""))
    return table
