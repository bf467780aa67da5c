"""Position bias of pairwise judges: how often a judge's two orders agree, and how often the first shown wins.

Every pairwise judgment is played twice (game 1 shows model_1 as assistant A, game 2 shows model_2 as A).
An unbiased judge names the same model in both orders, and the answer shown first wins about as often as
the one shown second. Counted per judge model over every pair in the file; failed judgments are left out.
When the records hold score distributions, the judge's mean probability for the first-shown answer is
given too: it shows a lean that greedy verdicts hide.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from ..records import judge_name
from .tables import Table


@dataclass
class PositionBias:
    pairs: int = 0  # pairwise judgments with both orders judged
    agree: int = 0  # both orders name the same model, or both a tie
    first: int = 0  # orders (games) won by the answer shown first
    second: int = 0  # orders won by the answer shown second
    tie: int = 0  # orders judged a tie
    prob_first: float = 0.0  # summed P(first shown wins) over games with a distribution
    prob_games: int = 0

    @property
    def games(self) -> int:
        return 2 * self.pairs

    def pct(self, what: str) -> float | None:
        if what == "prob_first":
            return 100.0 * self.prob_first / self.prob_games if self.prob_games else None
        n = self.pairs if what == "agree" else self.games
        return 100.0 * getattr(self, what) / n if n else None


def _judged(record: dict[str, Any]) -> bool:
    return (not record.get("error") and record.get("g1_winner") in ("model_1", "model_2", "tie")
            and record.get("g2_winner") in ("model_1", "model_2", "tie"))


def position_bias(records: Iterable[dict[str, Any]]) -> dict[str, PositionBias]:
    """Per judge model: agreement of the two orders and wins by position."""
    out: dict[str, PositionBias] = {}
    for r in records:
        if "model_1" not in r or not _judged(r):
            continue
        b = out.setdefault(judge_name(r)[0], PositionBias())
        b.pairs += 1
        b.agree += r["g1_winner"] == r["g2_winner"]
        # game 1 shows model_1 first, game 2 shows model_2 first
        for winner, shown_first in ((r["g1_winner"], "model_1"), (r["g2_winner"], "model_2")):
            if winner == "tie":
                b.tie += 1
            elif winner == shown_first:
                b.first += 1
            else:
                b.second += 1
        for game in ("g1", "g2"):
            probs = r.get(f"{game}_verdict_probs")
            if isinstance(probs, dict) and "A" in probs:
                b.prob_first += float(probs["A"])
                b.prob_games += 1
    return out


def position_table(records: Iterable[dict[str, Any]]) -> Table:
    table = Table("pairwise: position bias per judge (%)",
                  ["judge", "pairs", "orders_agree", "first_wins", "second_wins", "tie", "p_first"])
    for judge, b in sorted(position_bias(records).items()):
        table.rows.append([judge, b.pairs, b.pct("agree"), b.pct("first"), b.pct("second"), b.pct("tie"),
                           b.pct("prob_first")])
    table.note = ("over both orders of every pair: orders_agree = both orders name the same winner; first_wins = "
                  "the answer shown first (as A) won that order; p_first = mean probability the judge gave the "
                  "first-shown answer (distribution judging only). No bias: first_wins = second_wins")
    return table
