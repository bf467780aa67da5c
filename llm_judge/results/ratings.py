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

Style control adds one term per style feature of the game's two answers (:mod:`.style`: length in tokens,
markdown headers, list items, bold spans), each the normalised difference (a - b) / (a + b), divided by its
standard deviation over the games. Not centred: a game between answers of equal style gets no adjustment,
so ratings are unchanged when every game's styles are equal (Arena-Hard also subtracts the mean). A
feature's coefficient says how many Elo points one standard deviation of "more of it than the opponent" is
worth to the judge; the controlled ratings are the model terms with those effects taken out. Length
control is the same fit with the length feature alone.

Five-level records count each order as a game and a strong verdict as ``strong_weight`` games
(:func:`.aggregate.weighted_games`), in the fit and in every resample.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from ..errors import MissingDependency
from ..five_level import STRONG_WEIGHT
from ..records import Judgment
from .aggregate import pairs_in_scope, weighted_games
from .style import LENGTH_ONLY, Styles, count_tokens

ELO_SCALE = 400.0 / math.log(10.0)  # natural-log strength -> Elo points
BASE = 1000.0
RIDGE = 1e-2  # tiny next to the curvature of a few dozen games; only keeps undefeated models finite

Lengths = Mapping[tuple[str, Any, int], int]  # (model, question_id, turn) -> answer length in tokens


@dataclass
class Games:
    models: list[str]
    first: list[int] = field(default_factory=list)  # index of model_1
    second: list[int] = field(default_factory=list)  # index of model_2
    score: list[float] = field(default_factory=list)  # model_1's result: 1, 0.5 or 0
    count: list[int] = field(default_factory=list)  # how many games had this outcome
    style_diff: list[tuple[float, ...]] | None = None  # normalised style differences, under style control
    features: tuple[str, ...] = ()  # the style features, in style_diff's order


@dataclass
class Rating:
    model: str
    rating: float
    lower: float | None  # None without bootstrap resamples
    upper: float | None
    games: int
    lc_rating: float | None = None  # style-controlled (length-controlled with the length feature alone)
    lc_lower: float | None = None
    lc_upper: float | None = None


@dataclass
class Ratings:
    rows: list[Rating]
    bootstrap: int
    seed: int
    anchor: str  # "mean" or the baseline model
    controls: tuple[str, ...] = ()  # the style features held equal in lc_rating; () without style control
    coefs: dict[str, float] = field(default_factory=dict)  # feature -> Elo points per s.d. of its difference
    coef_intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    strong_weight: int | None = None  # set when five-level records were counted

    @property
    def length_coef(self) -> float | None:
        return self.coefs.get("length")

    @property
    def length_coef_interval(self) -> tuple[float, float] | None:
        return self.coef_intervals.get("length")

    @property
    def control_name(self) -> str:
        """What the controlled ratings hold equal: "length" or "style"."""
        return "length" if self.controls == LENGTH_ONLY else "style"

    def coef_text(self, feature: str) -> str:
        text = f"{self.coefs[feature]:+.1f}"
        interval = self.coef_intervals.get(feature)
        return text + (" [{:+.1f}, {:+.1f}]".format(*interval) if interval else "")

    def describe(self) -> str:
        anchor = "mean 1000" if self.anchor == "mean" else f"{self.anchor} = 1000"
        text = f"Bradley-Terry on the Elo scale (anchor: {anchor}); ties count as half a win; "
        text += (f"95% intervals from {self.bootstrap} bootstrap resamples of games, seed {self.seed}" if self.bootstrap
                 else "no intervals (--bootstrap 0)")
        if self.strong_weight is not None:
            text += f"; five-level verdicts: each order a game, a strong one as {self.strong_weight} games"
        if self.controls == LENGTH_ONLY:
            interval = self.coef_intervals.get("length")
            text += f"; length term: {self.coefs['length']:+.1f} Elo per s.d. of relative answer length in tokens"
            text += " [{:+.1f}, {:+.1f}]".format(*interval) if interval else ""
        elif self.controls:
            terms = ", ".join(f"{f} {self.coef_text(f)}" for f in self.controls)
            text += f"; style terms, Elo per s.d. of each normalised difference: {terms}"
        return text


def collect_games(records: Iterable[Judgment], models: list[str] | None = None, baseline: str | None = None,
                  lengths: Lengths | None = None, failed_games: str = "drop", styles: Styles | None = None,
                  strong_weight: int = STRONG_WEIGHT) -> Games:
    """The games to fit, each distinct outcome once with its count: failed judgments are left out (but see
    ``failed_games``, as in :mod:`.aggregate`); with ``styles`` (or ``lengths``, the length feature alone)
    every game needs both answers."""
    if lengths is not None and styles is None:
        styles = Styles(LENGTH_ONLY, {key: (float(n),) for key, n in lengths.items()})
    kept = [(r, games) for r in pairs_in_scope(records, models, baseline)
            if (games := weighted_games(r, failed_games, strong_weight))]
    names = sorted({m for r, _ in kept for m in (r.model_1, r.model_2)})
    index = {m: i for i, m in enumerate(names)}
    games = Games(names, style_diff=[] if styles is not None else None, features=styles.features if styles else ())
    cells: dict[tuple[int, int, float, tuple[float, ...] | None], int] = {}  # outcome -> its place in games
    for r, outcomes in kept:
        diff = styles.diff((r.model_1, r.question_id, r.turn), (r.model_2, r.question_id, r.turn)) if styles else None
        for w, n in outcomes:
            key = (index[r.model_1], index[r.model_2], 0.5 if w == "tie" else 1.0 if w == "model_1" else 0.0, diff)
            at = cells.get(key)
            if at is not None:
                games.count[at] += n
                continue
            cells[key] = len(games.count)
            games.first.append(key[0])
            games.second.append(key[1])
            games.score.append(key[2])
            games.count.append(n)
            if games.style_diff is not None:
                games.style_diff.append(diff)
    return games


def _design(games: Games, with_style: bool):
    import numpy as np

    n, k = len(games.score), len(games.models)
    f = len(games.features) if with_style else 0
    x = np.zeros((n, k + f))
    rows = np.arange(n)
    x[rows, games.first] += 1.0
    x[rows, games.second] -= 1.0
    if f:  # each feature divided by its s.d. over the games (each outcome weighs its count); not centred
        diff = np.asarray(games.style_diff, dtype=float).reshape(n, f)
        count = np.asarray(games.count, dtype=float)
        for j in range(f):
            sd = math.sqrt(float(np.average((diff[:, j] - np.average(diff[:, j], weights=count)) ** 2,
                                            weights=count)))
            x[:, k + j] = diff[:, j] / sd if sd > 0 else 0.0
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
         bootstrap: int = 1000, seed: int = 0, lengths: Lengths | None = None, failed_games: str = "drop",
         styles: Styles | None = None, strong_weight: int = STRONG_WEIGHT) -> Ratings:
    """Ratings of every model in the pairwise records, best first; with ``styles`` (or ``lengths``) the
    style-controlled ratings beside them."""
    try:
        import numpy as np
    except ImportError:
        raise MissingDependency("numpy", "ratings") from None

    records = list(records)
    games = collect_games(records, models, baseline, lengths, failed_games, styles, strong_weight)
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
    out = Ratings([], bootstrap, seed, baseline if anchor is not None else "mean", controls=games.features,
                  strong_weight=strong_weight if any(getattr(r, "g1_verdict", None) for r in records) else None)
    controlled = None
    if games.features:
        theta = fit(_design(games, True), y, weights)
        controlled = _elo(theta[:, :k], anchor)
        for j, feature in enumerate(games.features):
            coef = ELO_SCALE * theta[:, k + j]
            out.coefs[feature] = float(coef[0])
            if bootstrap:
                out.coef_intervals[feature] = _interval(coef[1:])
    played = (np.bincount(games.first, weights=count, minlength=k)
              + np.bincount(games.second, weights=count, minlength=k)).astype(int)
    for i, m in enumerate(games.models):
        row = Rating(m, float(raw[0, i]), *(_interval(raw[1:, i]) if bootstrap else (None, None)), int(played[i]))
        if controlled is not None:
            row.lc_rating = float(controlled[0, i])
            if bootstrap:
                row.lc_lower, row.lc_upper = _interval(controlled[1:, i])
        out.rows.append(row)
    out.rows.sort(key=lambda r: -r.rating)
    return out


def _interval(values) -> tuple[float, float]:
    import numpy as np

    lo, hi = np.percentile(values, [2.5, 97.5])
    return float(lo), float(hi)


def answer_lengths(answers: Mapping[str, Mapping[Any, Any]]) -> dict[tuple[str, Any, int], int]:
    """(model, question_id, turn) -> length in tokens (:func:`.style.count_tokens`: words, and each CJK
    character one token), from Bench.load_answers."""
    return {(model, qid, t): count_tokens(text) for model, by_qid in answers.items()
            for qid, answer in by_qid.items() for t, text in enumerate(answer.turns, 1)}
