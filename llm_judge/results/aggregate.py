"""Step 3's library: aggregate judgment records into scores and win rates (pure functions).

Definitions follow FastChat's show_result.py:
  single:   mean score per model, per turn and overall;
  pairwise: a game counts for a model only when both orders agree (g1_winner == g2_winner != tie),
            otherwise it is a tie; win_rate = win / n, loss_rate = loss / n,
            win_rate_adjusted = (win + tie / 2) / n. Five-level records are counted per order, strong
            verdicts weighted (:func:`weighted_games`).
A record may stand for several identical games (:class:`CountedPair`, what show_result's streaming reader
keeps): every count here adds its ``count``. Records that failed (``record.failed``: an ``error`` field, or FastChat's legacy score -1 / winner "error")
are counted and reported, never averaged in. Position bias is counted in :mod:`.position`.

One rule differs between the lineages and changes published tables: a FastChat-era pairwise game whose
verdict in one order (or both) is the string "error". FastChat's show_result drops it (``failed_games="drop"``,
our default); the Japanese forks' show_result (LLM_Judge_ku, ja-vicuna-qa-benchmark) keeps it, and since
its two orders differ it is a tie (``failed_games="tie"``). Their code, by accident, scores a game with "error"
in *both* orders as a model_2 win; the tie rule here calls it a tie, as the rule they describe says. Our own
failed records (an ``error`` field, null winners) are never counted, under either rule.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from ..errors import ConfigError
from ..five_level import STRONG_WEIGHT, is_strong
from ..records import WINNERS, Judgment, PairJudgment, SingleJudgment

FAILED_GAMES = ("drop", "tie")  # --failed-games; the first is FastChat's and the default
ERROR_VERDICT = "error"  # FastChat's winner when the judge's verdict could not be parsed
_RULES = {"drop": "drop (FastChat's rule)", "tie": "tie (the Japanese forks' rule)"}


@dataclass(kw_only=True, eq=False)
class CountedPair(PairJudgment):
    """``count`` pairwise judgments that agree in everything the tables count: models, winners, judge and
    whether they failed. Its other fields (question, turn, error text) are those of the first of them."""

    count: int = 1


def multiplicity(record: Judgment) -> int:
    """How many judgments ``record`` stands for."""
    return record.count if isinstance(record, CountedPair) else 1


def singles(records: Iterable[Judgment], models: list[str] | None = None) -> list[SingleJudgment]:
    """The single-answer judgments of ``models`` (all models when None)."""
    return [r for r in records if isinstance(r, SingleJudgment) and (not models or r.model in models)]


def pairs_in_scope(records: Iterable[Judgment], models: list[str] | None = None,
                   baseline: str | None = None) -> list[PairJudgment]:
    """The pairwise judgments a table counts: with a baseline only its games, with ``models`` only games whose
    other model(s) are listed."""
    out = []
    for r in records:
        if not isinstance(r, PairJudgment):
            continue
        if baseline is not None and baseline not in (r.model_1, r.model_2):
            continue
        if models and not all(m in models for m in (r.model_1, r.model_2) if m != baseline):
            continue
        out.append(r)
    return out


def error_verdict(record: PairJudgment) -> bool:
    """A FastChat-era failed game: "error" as the winner of one order or both, the other a verdict, and no
    ``error`` field (our failed records carry one and leave the winners null)."""
    winners = (record.g1_winner, record.g2_winner)
    return (not record.error and ERROR_VERDICT in winners
            and all(w in WINNERS or w == ERROR_VERDICT for w in winners))


def check_rule(failed_games: str) -> str:
    if failed_games not in FAILED_GAMES:
        raise ConfigError(f"failed_games must be one of {', '.join(FAILED_GAMES)}, got {failed_games!r}")
    return failed_games


def game_winner(record: PairJudgment, failed_games: str = "drop") -> str | None:
    """'model_1', 'model_2' or 'tie' for a game that counts, None for one left out: FastChat's combined winner,
    except that under the tie rule a game with an "error" verdict is a tie."""
    if check_rule(failed_games) == "tie" and error_verdict(record):
        return "tie"
    return record.combined_winner


def weighted_games(record: PairJudgment, failed_games: str = "drop",
                   strong_weight: int = STRONG_WEIGHT) -> list[tuple[str, int]]:
    """The games a record counts as, each (winner, how many); none for a record left out.

    A FastChat record is one game, its combined winner. A five-level record (both orders' verdicts kept) is
    counted as Arena-Hard counts it: each order is a game of its own, and a strong verdict (``A>>B``) counts
    as ``strong_weight`` games.
    """
    n = multiplicity(record)
    if record.g1_verdict and record.g2_verdict and not record.failed:
        return [(w, n * (strong_weight if is_strong(v) else 1))
                for w, v in ((record.g1_winner, record.g1_verdict), (record.g2_winner, record.g2_verdict))]
    w = game_winner(record, failed_games)
    return [(w, n)] if w else []


def five_level_note(records: Iterable[Judgment], strong_weight: int) -> str:
    """The note saying how five-level verdicts were counted ("" when no record has them)."""
    if not any(isinstance(r, PairJudgment) and r.g1_verdict for r in records):
        return ""
    return (f"five-level verdicts: each order counts as a game, a strong one (A>>B) as {strong_weight} games "
            "(--strong-weight)")


def error_games(records: Iterable[Judgment], models: list[str] | None = None, baseline: str | None = None) -> int:
    """How many games in a table's scope have an "error" verdict: the games the failed-games rule touches."""
    return sum(multiplicity(r) for r in pairs_in_scope(records, models, baseline) if error_verdict(r))


def rule_note(touched: int, failed_games: str) -> str:
    """The note naming the failed-games rule in force and the games it touched ("" when it touched none)."""
    if not touched:
        return ""
    what = "left out" if failed_games == "drop" else "counted as ties"
    other = "tie" if failed_games == "drop" else "drop"
    return (f'failed games: {_RULES[failed_games]}: {touched} games with an "error" verdict {what} '
            f"(--failed-games {other} to change)")


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


def single_scores(records: Iterable[Judgment], models: list[str] | None = None) -> list[SingleRow]:
    rows: dict[str, SingleRow] = {}
    for r in singles(records, models):
        row = rows.setdefault(r.model, SingleRow(r.model))
        if r.failed:
            row.failed += 1
            continue
        row.scores.setdefault(r.turn, []).append(float(r.score))
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


def pairwise_tallies(records: Iterable[Judgment], models: list[str] | None = None, baseline: str | None = None,
                     failed_games: str = "drop", strong_weight: int = STRONG_WEIGHT) -> dict[str, PairTally]:
    """Per model win / loss / tie over every game it played (the baseline itself left out)."""
    tallies: dict[str, PairTally] = {}
    for r in pairs_in_scope(records, models, baseline):
        t1, t2 = tallies.setdefault(r.model_1, PairTally()), tallies.setdefault(r.model_2, PairTally())
        games = weighted_games(r, failed_games, strong_weight)
        if not games:
            t1.failed += multiplicity(r)
            t2.failed += multiplicity(r)
        for w, n in games:
            if w == "tie":
                t1.tie += n
                t2.tie += n
            elif w == "model_1":
                t1.win += n
                t2.loss += n
            else:
                t2.win += n
                t1.loss += n
    if baseline is not None:
        tallies.pop(baseline, None)
    return dict(sorted(tallies.items(), key=lambda kv: -(kv[1].rate("win_rate_adjusted") or 0.0)))


def pair_tallies(records: Iterable[Judgment], models: list[str] | None = None, baseline: str | None = None,
                 failed_games: str = "drop", strong_weight: int = STRONG_WEIGHT) -> dict[tuple[str, str], PairTally]:
    """Per model pair (as model_1, model_2 in the file): model_1's win / loss / tie against model_2."""
    pairs: dict[tuple[str, str], PairTally] = {}
    for r in pairs_in_scope(records, models, baseline):
        t = pairs.setdefault((r.model_1, r.model_2), PairTally())
        games = weighted_games(r, failed_games, strong_weight)
        t.failed += 0 if games else multiplicity(r)
        for w, n in games:
            if w == "tie":
                t.tie += n
            elif w == "model_1":
                t.win += n
            else:
                t.loss += n
    return pairs


def category_of(record: Judgment, categories: dict[Any, str] | None = None) -> str:
    """A judgment's category: its own field (our records), else the bench's question (FastChat records)."""
    if record.category:
        return record.category
    if categories and record.question_id in categories:
        return categories[record.question_id]
    return "unknown"


def single_by_category(records: Iterable[Judgment], models: list[str] | None = None,
                       categories: dict[Any, str] | None = None) -> dict[str, dict[str, list[float]]]:
    """model -> category -> the scores of its judged turns (failed judgments left out)."""
    out: dict[str, dict[str, list[float]]] = {}
    for r in singles(records, models):
        if not r.failed:
            out.setdefault(r.model, {}).setdefault(category_of(r, categories), []).append(float(r.score))
    return out


# -- scales and criteria ---------------------------------------------------------------------------------
# Scores on different scales (a question's own 1-5 criteria, Prometheus' 1-5, FastChat's 1-10) are never
# averaged together: each scale gets its own tables. A record without a ``scale`` is on FastChat's 1-10.

Scale = tuple[float, float]
FASTCHAT_SCALE: Scale = (1.0, 10.0)


def scale_of(record: SingleJudgment) -> Scale:
    return (float(record.scale[0]), float(record.scale[1])) if record.scale else FASTCHAT_SCALE


def scale_text(scale: Scale) -> str:
    return f"{scale[0]:g}-{scale[1]:g}"


def by_scale(records: Iterable[Judgment], models: list[str] | None = None) -> dict[Scale, list[SingleJudgment]]:
    """The single judgments of ``models`` grouped by the scale of their scores, the largest group first."""
    groups: dict[Scale, list[SingleJudgment]] = {}
    for r in singles(records, models):
        groups.setdefault(scale_of(r), []).append(r)
    return dict(sorted(groups.items(), key=lambda kv: -len(kv[1])))


def criterion_means(records: Iterable[Judgment], models: list[str] | None = None,
                    categories: dict[Any, str] | None = None,
                    per_category: bool = False) -> tuple[list[str], dict[tuple[str, ...], dict[str, float]]]:
    """The criteria scored (in first-seen order) and the mean of each per model, or per (model, category).

    Only judgments that kept several criteria (``scores``) count; failed ones never do.
    """
    sums: dict[tuple[str, ...], dict[str, list[float]]] = {}
    criteria: dict[str, None] = {}
    for r in singles(records, models):
        if r.failed or not r.scores:
            continue
        key = (r.model, category_of(r, categories)) if per_category else (r.model,)
        for name, value in r.scores.items():
            criteria[name] = None
            sums.setdefault(key, {}).setdefault(name, []).append(float(value))
    means = {key: {name: sum(v) / len(v) for name, v in by_name.items()} for key, by_name in sums.items()}
    return list(criteria), means
