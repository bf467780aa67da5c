"""Step 3's library: aggregate judgment records into scores and win rates (pure functions).

Definitions follow FastChat's show_result.py:
  single:   mean score per model, per turn and overall;
  pairwise: a game counts for a model only when both orders agree (g1_winner == g2_winner != tie),
            otherwise it is a tie; win_rate = win / n, loss_rate = loss / n,
            win_rate_adjusted = (win + tie / 2) / n.
Records that failed (an ``error`` field, or FastChat's legacy score -1 / winner "error") are counted
and reported, never averaged in.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable


def is_failed(record: dict[str, Any]) -> bool:
    if record.get("error"):
        return True
    if "score" in record or "model" in record:
        score = record.get("score")
        return score is None or score == -1
    return record.get("g1_winner") in (None, "error") or record.get("g2_winner") in (None, "error")


def combined_winner(record: dict[str, Any]) -> str:
    """'model_1', 'model_2' or 'tie' by FastChat's rule: a tie unless both orders name the same winner."""
    g1, g2 = record["g1_winner"], record["g2_winner"]
    if g1 == "tie" or g1 != g2:
        return "tie"
    return g1


@dataclass
class SingleRow:
    model: str
    scores: dict[int, list[float]] = field(default_factory=dict)  # turn -> scores
    failed: int = 0

    def mean(self, turn: int | None = None) -> float | None:
        values = self.scores.get(turn, []) if turn is not None else [s for v in self.scores.values() for s in v]
        return sum(values) / len(values) if values else None

    @property
    def n(self) -> int:
        return sum(len(v) for v in self.scores.values())


def single_scores(records: Iterable[dict[str, Any]], models: list[str] | None = None) -> list[SingleRow]:
    rows: dict[str, SingleRow] = {}
    for r in records:
        model = r.get("model")
        if model is None or (models and model not in models):
            continue
        row = rows.setdefault(model, SingleRow(model))
        if is_failed(r):
            row.failed += 1
            continue
        row.scores.setdefault(int(r.get("turn", 1)), []).append(float(r["score"]))
    return sorted(rows.values(), key=lambda row: -(row.mean() or 0.0))


@dataclass
class PairTally:
    win: int = 0
    loss: int = 0
    tie: int = 0
    failed: int = 0

    @property
    def n(self) -> int:
        return self.win + self.loss + self.tie

    def rate(self, what: str) -> float | None:
        if not self.n:
            return None
        if what == "win_rate_adjusted":
            return (self.win + 0.5 * self.tie) / self.n
        return getattr(self, what.removesuffix("_rate")) / self.n


def _keep(record: dict[str, Any], models: list[str] | None, baseline: str | None) -> bool:
    m1, m2 = record.get("model_1"), record.get("model_2")
    if baseline is not None and baseline not in (m1, m2):
        return False
    if models:
        others = [m for m in (m1, m2) if m != baseline]
        return all(m in models for m in others)
    return True


def pairwise_tallies(records: Iterable[dict[str, Any]], models: list[str] | None = None,
                     baseline: str | None = None) -> dict[str, PairTally]:
    """Per model win / loss / tie over every game it played (the baseline itself left out)."""
    tallies: dict[str, PairTally] = {}
    for r in records:
        if not _keep(r, models, baseline):
            continue
        m1, m2 = r["model_1"], r["model_2"]
        t1, t2 = tallies.setdefault(m1, PairTally()), tallies.setdefault(m2, PairTally())
        if is_failed(r):
            t1.failed += 1
            t2.failed += 1
            continue
        w = combined_winner(r)
        if w == "tie":
            t1.tie += 1
            t2.tie += 1
        elif w == "model_1":
            t1.win += 1
            t2.loss += 1
        else:
            t2.win += 1
            t1.loss += 1
    if baseline is not None:
        tallies.pop(baseline, None)
    return dict(sorted(tallies.items(), key=lambda kv: -(kv[1].rate("win_rate_adjusted") or 0.0)))


def pair_tallies(records: Iterable[dict[str, Any]], models: list[str] | None = None,
                 baseline: str | None = None) -> dict[tuple[str, str], PairTally]:
    """Per model pair (as model_1, model_2 in the file): model_1's win / loss / tie against model_2."""
    pairs: dict[tuple[str, str], PairTally] = {}
    for r in records:
        if not _keep(r, models, baseline):
            continue
        t = pairs.setdefault((r["model_1"], r["model_2"]), PairTally())
        if is_failed(r):
            t.failed += 1
            continue
        w = combined_winner(r)
        if w == "tie":
            t.tie += 1
        elif w == "model_1":
            t.win += 1
        else:
            t.loss += 1
    return pairs


def category_of(record: dict[str, Any], categories: dict[Any, str] | None = None) -> str:
    """A judgment's category: its own field (our records), else the bench's question (FastChat records)."""
    if record.get("category"):
        return str(record["category"])
    if categories and record.get("question_id") in categories:
        return categories[record["question_id"]]
    return "unknown"


def single_by_category(records: Iterable[dict[str, Any]], models: list[str] | None = None,
                       categories: dict[Any, str] | None = None) -> dict[str, dict[str, list[float]]]:
    """model -> category -> the scores of its judged turns (failed judgments left out)."""
    out: dict[str, dict[str, list[float]]] = {}
    for r in records:
        model = r.get("model")
        if model is None or (models and model not in models) or is_failed(r):
            continue
        out.setdefault(model, {}).setdefault(category_of(r, categories), []).append(float(r["score"]))
    return out


@dataclass
class Consistency:
    """How a judge's two orders of one pairwise game relate (FastChat shows the pair both ways)."""

    consistent: int = 0  # both orders gave the same verdict (a tie in both counts too)
    first: int = 0  # inconsistent: the answer shown first won in both orders
    second: int = 0  # inconsistent: the answer shown second won in both orders
    one_tie: int = 0  # inconsistent: a win in one order, a tie in the other

    @property
    def n(self) -> int:
        return self.consistent + self.first + self.second + self.one_tie

    def rate(self, what: str) -> float | None:
        return getattr(self, what) / self.n if self.n else None


def _position(winner: str, shown_first: str) -> str:
    if winner == "tie":
        return "tie"
    return "first" if winner == shown_first else "second"


def position_consistency(records: Iterable[dict[str, Any]], models: list[str] | None = None,
                         baseline: str | None = None) -> dict[tuple[str, str], Consistency]:
    """Per model pair: how often both orders agree, and which position wins when they do not.

    Game 1 shows model_1 as assistant A, game 2 shows model_2 as A; a judge with position bias names
    "A" in both, which in model terms is a disagreement.
    """
    out: dict[tuple[str, str], Consistency] = {}
    for r in records:
        if not _keep(r, models, baseline) or is_failed(r):
            continue
        c = out.setdefault((r["model_1"], r["model_2"]), Consistency())
        g1, g2 = r["g1_winner"], r["g2_winner"]
        if g1 == g2:
            c.consistent += 1
            continue
        p1, p2 = _position(g1, "model_1"), _position(g2, "model_2")
        if p1 == p2:
            setattr(c, p1, getattr(c, p1) + 1)
        else:
            c.one_tie += 1
    return out
