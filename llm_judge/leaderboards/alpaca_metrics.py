"""AlpacaEval's leaderboard numbers from one model's annotations, as its ``get_winrate`` defines them.

A preference lies in [1, 2] (1: the baseline's output preferred, 2: the model's; 1.5 a draw); a record
without one is left out of every number but counted nowhere. Win rate is the mean of ``preference - 1``
(x100), its standard error the sample standard error of that mean; wins and baseline wins are the records
above and below 1.5, draws those at exactly 1.5. The discrete win rate rounds each preference to a win, a
loss or (exactly 1.5) a draw counted one half.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from .alpaca_files import Annotation


@dataclass(frozen=True)
class WinRate:
    win_rate: float
    standard_error: float
    n_wins: int
    n_wins_base: int
    n_draws: int
    n_total: int
    discrete_win_rate: float


def _mean_and_sem(values: Sequence[float]) -> tuple[float, float]:
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, float("nan")
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, math.sqrt(var / n)


def _discrete(p: float) -> float:
    return 0.5 if p == 1.5 else float(round(p)) - 1.0


def win_rate(preferences: Sequence[float | None]) -> WinRate:
    scored = [p for p in preferences if p is not None]
    if not scored:
        raise ValueError("no annotation holds a preference")
    shifted = [p - 1.0 for p in scored]
    mean, sem = _mean_and_sem(shifted)
    discrete = [_discrete(p) for p in scored]
    return WinRate(win_rate=mean * 100, standard_error=sem * 100,
                   n_wins=sum(1 for x in shifted if x > 0.5), n_wins_base=sum(1 for x in shifted if x < 0.5),
                   n_draws=sum(1 for p in scored if p == 1.5), n_total=len(scored),
                   discrete_win_rate=sum(discrete) / len(discrete) * 100)


def average_length(annotations: Sequence[Annotation]) -> int:
    """The mean length of the model's outputs in characters, truncated as the leaderboard prints it."""
    return int(sum(len(a.output_2) for a in annotations) / len(annotations))
