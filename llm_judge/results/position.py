"""Position bias of pairwise judges, counted once per judgment and shown two ways.

Every pairwise judgment is played twice (game 1 shows model_1 as assistant A, game 2 shows model_2 as A).
An unbiased judge names the same model in both orders, and the answer shown first wins about as often as
the one shown second. :func:`count` classifies each judgment once, by pair (do the orders agree, and if
not, did the position decide) and by game (which position won); :class:`PositionCounts` adds them up.
Two tables show the sums: per model pair (the models and baseline chosen) and per judge model (every pair
in the file). When the records hold verdict distributions, the judge's mean probability for the
first-shown answer is given too: it shows a lean that greedy verdicts hide. Failed judgments are left out,
and so are games with an "error" verdict under either failed-games rule: a verdict that could not be read
says nothing about position, whichever way the win-rate tables score it.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Callable, Hashable, Iterable

from ..records import Judgment, PairJudgment
from .aggregate import error_games, multiplicity, pairs_in_scope
from .tables import Table


@dataclass
class PositionCounts:
    pairs: int = 0  # judgments with both orders judged
    agree: int = 0  # both orders gave the same verdict (a tie in both counts too)
    first_both: int = 0  # the orders disagree: the answer shown first won in both
    second_both: int = 0  # the orders disagree: the answer shown second won in both
    one_tie: int = 0  # the orders disagree: a win in one, a tie in the other
    first: int = 0  # games won by the answer shown first
    second: int = 0  # games won by the answer shown second
    tie: int = 0  # games judged a tie
    prob_first: float = 0.0  # summed P(first shown wins) over games with a distribution
    prob_games: int = 0

    def __add__(self, other: "PositionCounts") -> "PositionCounts":
        return PositionCounts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def rate(self, what: str) -> float | None:
        """A pair count (agree, first_both, second_both, one_tie) as a fraction of the pairs."""
        return getattr(self, what) / self.pairs if self.pairs else None

    def pct(self, what: str) -> float | None:
        """``what`` as a percentage: pair counts of the pairs, game counts of the games (2 per pair)."""
        if what == "prob_first":
            return 100.0 * self.prob_first / self.prob_games if self.prob_games else None
        n = self.pairs if what in ("agree", "first_both", "second_both", "one_tie") else 2 * self.pairs
        return 100.0 * getattr(self, what) / n if n else None


def _position(winner: str, shown_first: str) -> str:
    if winner == "tie":
        return "tie"
    return "first" if winner == shown_first else "second"


def count(record: PairJudgment) -> PositionCounts:
    """One judged (not failed) pairwise judgment, classified by pair and by game (times its multiplicity)."""
    n = multiplicity(record)
    c = PositionCounts(pairs=n)
    positions = (_position(record.g1_winner, "model_1"), _position(record.g2_winner, "model_2"))
    for p in positions:
        setattr(c, p, getattr(c, p) + n)
    if record.g1_winner == record.g2_winner:
        c.agree = n
    elif positions[0] == positions[1]:  # e.g. "A" in both orders: in model terms, a disagreement
        setattr(c, f"{positions[0]}_both", n)
    else:
        c.one_tie = n
    for probs in (record.g1_verdict_probs, record.g2_verdict_probs):
        if probs and "A" in probs:
            c.prob_first += float(probs["A"])
            c.prob_games += 1
    return c


def grouped(records: Iterable[PairJudgment], group: Callable[[PairJudgment], Hashable]) -> dict:
    """The counts of the judged records, summed per ``group(record)`` in order of first appearance."""
    out: dict[Hashable, PositionCounts] = {}
    for r in records:
        if not r.failed:
            out[group(r)] = out.get(group(r), PositionCounts()) + count(r)
    return out


def by_pair(records: Iterable[Judgment], models: list[str] | None = None,
            baseline: str | None = None) -> dict[tuple[str, str], PositionCounts]:
    return grouped(pairs_in_scope(records, models, baseline), lambda r: (r.model_1, r.model_2))


def by_judge(records: Iterable[Judgment]) -> dict[str, PositionCounts]:
    return grouped(pairs_in_scope(records), lambda r: r.judge_model)


def consistency_table(records: Iterable[Judgment], models: list[str] | None, baseline: str | None) -> Table:
    records = list(records)  # read twice: the counts and the note
    table = Table("pairwise: position consistency (%)",
                  ["model_1", "model_2", "n", "consistent", "first_wins_both", "second_wins_both", "one_order_tie"])
    per_pair = by_pair(records, models, baseline)
    rows = list(per_pair.items())
    if len(per_pair) > 1:
        rows.append((("all", ""), sum(per_pair.values(), PositionCounts())))
    for (m1, m2), c in rows:
        # 100 * fraction, as this table has always computed it (pct rounds differently in the last bit)
        table.rows.append([m1, m2, c.pairs] + [100.0 * c.rate(k) if c.pairs else None
                                               for k in ("agree", "first_both", "second_both", "one_tie")])
    table.note = ("both orders of each game: consistent = the same verdict; first/second_wins_both = the answer "
                  "shown first (second) won in both orders, i.e. the verdict followed the position"
                  + _error_note(error_games(records, models, baseline)))
    return table


def position_table(records: Iterable[Judgment]) -> Table:
    records = list(records)
    table = Table("pairwise: position bias per judge (%)",
                  ["judge", "pairs", "orders_agree", "first_wins", "second_wins", "tie", "p_first"])
    for judge, c in sorted(by_judge(records).items()):
        table.rows.append([judge, c.pairs, c.pct("agree"), c.pct("first"), c.pct("second"), c.pct("tie"),
                           c.pct("prob_first")])
    table.note = ("over both orders of every pair: orders_agree = both orders name the same winner; first_wins = "
                  "the answer shown first (as A) won that order; p_first = mean probability the judge gave the "
                  "first-shown answer (distribution judging only). No bias: first_wins = second_wins"
                  + _error_note(error_games(records)))
    return table


def _error_note(touched: int) -> str:
    return (f'; {touched} games with an "error" verdict are left out under either --failed-games rule'
            if touched else "")
