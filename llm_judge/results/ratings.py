"""Bradley-Terry ratings on an Elo scale from pairwise judgments, with bootstrap confidence intervals.

Each judgment record is one game between model_1 and model_2, scored by the same rule as the win-rate
tables (FastChat's): a win when both orders name the same winner, otherwise a tie; a tie counts as half
a win; a game with an "error" verdict is left out or is a tie by the tables' failed-games rule. The model
P(i beats j) = 1 / (1 + 10 ** ((R_j - R_i) / 400)) is fitted by Newton's method on the log-likelihood
with fractional outcomes, plus a weak ridge term so that a model that wins (or loses) every game still
gets a finite rating. Ratings are anchored so that their mean is 1000, or the
baseline's rating is 1000 in pairwise-baseline mode.

Intervals: the games are resampled with replacement ``bootstrap`` times from ``numpy.random.default_rng(seed)``
and refitted (all resamples in one batched fit); the interval is the 2.5th to 97.5th percentile. The fit sees
each distinct outcome once (model_1, model_2 and the result, plus the length difference when length control
is on) with its count, and a resample draws new counts for them from one multinomial over all the games
(n draws, each outcome with probability count / n): the same distribution as drawing n games with
replacement, at a cost set by the number of model pairs rather than of games. (Drawing games one by one took
bootstrap x games weights: 8 GB for 1,000 resamples of a million games.)

Length control adds one term to the model: the answers' relative length difference
(len_1 - len_2) / (len_1 + len_2), standardised over the games. Its coefficient says how many Elo
points one standard deviation of "longer than the opponent" is worth to the judge; the length-controlled
ratings are the model terms with that effect taken out.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from ..errors import ConfigError, MissingDependency
from ..records import Judgment, PairJudgment
from .aggregate import game_winner, multiplicity, pairs_in_scope

ELO_SCALE = 400.0 / math.log(10.0)  # natural-log strength -> Elo points
BASE = 1000.0
RIDGE = 1e-2  # tiny next to the curvature of a few dozen games; only keeps undefeated models finite

Lengths = Mapping[tuple[str, Any, int], int]  # (model, question_id, turn) -> answer length in characters


@dataclass
class Games:
    models: list[str]
    first: list[int] = field(default_factory=list)  # index of model_1
    second: list[int] = field(default_factory=list)  # index of model_2
    score: list[float] = field(default_factory=list)  # model_1's result: 1, 0.5 or 0
    count: list[int] = field(default_factory=list)  # how many games had this outcome
    length_diff: list[float] | None = None  # relative length difference, when length control is on


@dataclass
class Rating:
    model: str
    rating: float
    lower: float | None  # None without bootstrap resamples
    upper: float | None
    games: int
    lc_rating: float | None = None
    lc_lower: float | None = None
    lc_upper: float | None = None


@dataclass
class Ratings:
    rows: list[Rating]
    bootstrap: int
    seed: int
    anchor: str  # "mean" or the baseline model
    length_coef: float | None = None  # Elo points per standard deviation of relative length difference
    length_coef_interval: tuple[float, float] | None = None

    def describe(self) -> str:
        anchor = "mean 1000" if self.anchor == "mean" else f"{self.anchor} = 1000"
        text = f"Bradley-Terry on the Elo scale (anchor: {anchor}); ties count as half a win; "
        text += (f"95% intervals from {self.bootstrap} bootstrap resamples of games, seed {self.seed}" if self.bootstrap
                 else "no intervals (--bootstrap 0)")
        if self.length_coef is not None:
            text += f"; length term: {self.length_coef:+.1f} Elo per s.d. of relative answer length"
            if self.length_coef_interval:
                text += " [{:+.1f}, {:+.1f}]".format(*self.length_coef_interval)
        return text


def collect_games(records: Iterable[Judgment], models: list[str] | None = None, baseline: str | None = None,
                  lengths: Lengths | None = None, failed_games: str = "drop") -> Games:
    """The games to fit, each distinct outcome once with its count: failed judgments are left out (but see
    ``failed_games``, as in :mod:`.aggregate`); with ``lengths`` every game needs both lengths."""
    kept = [(r, w) for r in pairs_in_scope(records, models, baseline) if (w := game_winner(r, failed_games))]
    names = sorted({m for r, _ in kept for m in (r.model_1, r.model_2)})
    index = {m: i for i, m in enumerate(names)}
    games = Games(names, length_diff=[] if lengths is not None else None)
    cells: dict[tuple[int, int, float, float | None], int] = {}  # outcome -> its place in games
    for r, w in kept:
        score = 0.5 if w == "tie" else 1.0 if w == "model_1" else 0.0
        diff = _length_diff(r, lengths) if lengths is not None else None
        key = (index[r.model_1], index[r.model_2], score, diff)
        at = cells.get(key)
        if at is not None:
            games.count[at] += multiplicity(r)
            continue
        cells[key] = len(games.count)
        games.first.append(key[0])
        games.second.append(key[1])
        games.score.append(score)
        games.count.append(multiplicity(r))
        if games.length_diff is not None:
            games.length_diff.append(diff)
    return games


def _length_diff(r: PairJudgment, lengths: Lengths) -> float:
    key1, key2 = (r.model_1, r.question_id, r.turn), (r.model_2, r.question_id, r.turn)
    missing = [k for k in (key1, key2) if k not in lengths]
    if missing:
        m, qid, t = missing[0]
        raise ConfigError(f"no answer of {m} to question {qid!r} turn {t}; the length term needs every answer")
    l1, l2 = lengths[key1], lengths[key2]
    return (l1 - l2) / (l1 + l2) if l1 + l2 else 0.0


def _design(games: Games, with_length: bool):
    import numpy as np

    n, k = len(games.score), len(games.models)
    x = np.zeros((n, k + (1 if with_length else 0)))
    rows = np.arange(n)
    x[rows, games.first] += 1.0
    x[rows, games.second] -= 1.0
    if with_length:  # standardised over the games: each outcome weighs its count
        diff = np.asarray(games.length_diff, dtype=float)
        count = np.asarray(games.count, dtype=float)
        sd = math.sqrt(float(np.average((diff - np.average(diff, weights=count)) ** 2, weights=count)))
        x[:, k] = diff / sd if sd > 0 else 0.0
    return x


def fit(x, y, weights, iterations: int = 100, tol: float = 1e-9):
    """Batched ridge-penalised logistic regression with fractional targets, by Newton's method.

    x: (games, params); y: (games,) in [0, 1]; weights: (fits, games) game multiplicities.
    Returns (fits, params) coefficients in natural-log units.
    """
    import numpy as np

    b, p = weights.shape[0], x.shape[1]
    theta = np.zeros((b, p))
    eye = np.eye(p) * RIDGE
    outer = (x[:, :, None] * x[:, None, :]).reshape(len(x), p * p)  # each game's x x^T, so the Hessians are one matmul
    for _ in range(iterations):
        prob = 1.0 / (1.0 + np.exp(-(theta @ x.T)))
        grad = (weights * (y - prob)) @ x - RIDGE * theta
        hess = ((weights * prob * (1.0 - prob)) @ outer).reshape(b, p, p) + eye
        step = np.linalg.solve(hess, grad[..., None])[..., 0]
        # Damping: the first steps of a near-separable resample could otherwise overshoot wildly.
        big = np.abs(step).max(axis=1, keepdims=True)
        step = np.where(big > 2.0, step * (2.0 / np.maximum(big, 1e-12)), step)
        theta += step
        if np.abs(step).max() < tol:
            break
    return theta


def _elo(theta_models, anchor_index: int | None):
    import numpy as np

    ref = theta_models[..., anchor_index] if anchor_index is not None else theta_models.mean(axis=-1)
    return BASE + ELO_SCALE * (theta_models - np.expand_dims(ref, -1))


def rate(records: Iterable[Judgment], models: list[str] | None = None, baseline: str | None = None,
         bootstrap: int = 1000, seed: int = 0, lengths: Lengths | None = None,
         failed_games: str = "drop") -> Ratings:
    """Ratings of every model in the pairwise records, best first."""
    try:
        import numpy as np
    except ImportError:
        raise MissingDependency("numpy", "ratings") from None

    games = collect_games(records, models, baseline, lengths, failed_games)
    k = len(games.models)
    if k < 2 or not games.score:
        return Ratings([], bootstrap, seed, baseline or "mean")
    y = np.asarray(games.score, dtype=float)
    count = np.asarray(games.count, dtype=np.int64)
    n = int(count.sum())
    rng = np.random.default_rng(seed)
    # Row 0 is the fit on the data as it is; rows 1.. are resamples: new counts of each outcome, drawn as
    # n games with replacement would draw them.
    resampled = rng.multinomial(n, count / n, size=bootstrap)
    weights = np.vstack([count[None, :], resampled]).astype(float)
    anchor = games.models.index(baseline) if baseline in games.models else None
    raw = _elo(fit(_design(games, False), y, weights)[:, :k], anchor)
    lc = coef = None
    if lengths is not None:
        theta = fit(_design(games, True), y, weights)
        lc, coef = _elo(theta[:, :k], anchor), ELO_SCALE * theta[:, k]
    played = (np.bincount(games.first, weights=count, minlength=k)
              + np.bincount(games.second, weights=count, minlength=k)).astype(int)
    rows = []
    for i, m in enumerate(games.models):
        lo, hi = (float(v) for v in np.percentile(raw[1:, i], [2.5, 97.5])) if bootstrap else (None, None)
        row = Rating(m, float(raw[0, i]), lo, hi, int(played[i]))
        if lc is not None:
            row.lc_rating = float(lc[0, i])
            if bootstrap:
                row.lc_lower, row.lc_upper = (float(v) for v in np.percentile(lc[1:, i], [2.5, 97.5]))
        rows.append(row)
    rows.sort(key=lambda r: -r.rating)
    out = Ratings(rows, bootstrap, seed, baseline if anchor is not None else "mean")
    if coef is not None:
        out.length_coef = float(coef[0])
        if bootstrap:
            out.length_coef_interval = tuple(float(v) for v in np.percentile(coef[1:], [2.5, 97.5]))
    return out


def answer_lengths(answers: Mapping[str, Mapping[Any, Any]]) -> dict[tuple[str, Any, int], int]:
    """(model, question_id, turn) -> characters, from Bench.load_answers (characters, not tokens: no
    tokenizer is needed and Japanese and English answers are measured the same way)."""
    out: dict[tuple[str, Any, int], int] = {}
    for model, by_qid in answers.items():
        for qid, answer in by_qid.items():
            for t, text in enumerate(answer.turns, 1):
                out[(model, qid, t)] = len(text)
    return out
