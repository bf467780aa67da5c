"""Judge panels: several judges' judgments of the same answers combined into one verdict each (show_result --panel).

    rule      mode      the panel's verdict on one answer (single) or one game (pairwise)
    mean      single    the mean of the scores of the judges that scored the answer (the default)
    median    single    the median of those scores (of two: their mean)
    majority  pairwise  the verdict (model_1, model_2 or tie) that more than half of the judges with a verdict
                        gave, each judge's verdict decided by the verdict rule (--verdict-rule); no strict
                        majority: a tie (the default)

A judge's failed judgment is left out, so an answer (a game) scored by fewer judges is combined from those
that scored it, and the note under the table counts such answers; one that no judge scored is a failed
panel judgment, never a guessed one. Judges are matched on (question, turn, model) in single mode and on
(question, turn, the two models in either order) in pairwise mode.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, Iterable, Mapping

from ..errors import ConfigError
from ..records import JudgeName, Judgment, PairJudgment, SingleJudgment
from ..stats import strict_majority
from .aggregate import game_winner, scale_of
from .verdict_rules import DecidedPair

PANEL_RULES = {
    "mean": "the mean of the judges' scores",
    "median": "the median of the judges' scores",
    "majority": "the verdict more than half of the judges gave, else a tie",
}
SINGLE_PANEL = ("mean", "median")
PAIRWISE_PANEL = ("majority",)
FLIP = {"model_1": "model_2", "model_2": "model_1", "tie": "tie"}


@dataclass
class Panel:
    """The panel's records and what the notes say about them."""

    rule: str
    judges: list[str]
    records: list[Judgment] = field(default_factory=list)
    partial: int = 0  # answers (games) that some judge of the panel has no verdict on
    unjudged: int = 0  # answers (games) that no judge has a verdict on: failed panel judgments

    @property
    def name(self) -> str:
        """The panel's name as the judge of its records."""
        return "+".join(self.judges)

    def note(self) -> str:
        text = f"panel: {self.rule} of {len(self.judges)} judges ({', '.join(self.judges)}): {PANEL_RULES[self.rule]}"
        if self.partial:
            text += (f"; {self.partial} {'answers' if self.rule != 'majority' else 'games'} had a verdict from "
                     "fewer judges (failed or missing judgments left out)")
        if self.unjudged:
            text += f", {self.unjudged} from none (counted as failed)"
        return text


def default_rule(pairwise: bool) -> str:
    return PAIRWISE_PANEL[0] if pairwise else SINGLE_PANEL[0]


def check(rule: str, pairwise: bool) -> None:
    allowed = PAIRWISE_PANEL if pairwise else SINGLE_PANEL
    if rule not in allowed:
        raise ConfigError(f"--panel {rule} does not apply to {'pairwise' if pairwise else 'single'} judgments "
                          f"(rules for them: {', '.join(allowed)})")


def combine(judges: Mapping[str, list[Judgment]], rule: str, failed_games: str = "drop") -> Panel:
    """The panel of ``judges`` (judge id -> its records, each decided by the verdict rule already)."""
    if rule in PAIRWISE_PANEL:
        return _combine_pairs(judges, rule, failed_games)
    return _combine_singles(judges, rule)


def single_key(r: SingleJudgment) -> tuple[Any, ...]:
    return (r.question_id, r.turn, r.model)


def pair_key(r: PairJudgment) -> tuple[Any, ...]:
    """The game whatever the order of its models (a judge may have written model_2 first)."""
    return (r.question_id, r.turn) + tuple(sorted((r.model_1, r.model_2)))


def latest(records: Iterable[Judgment], key: Callable[[Any], Hashable]) -> dict[Hashable, Judgment]:
    """One record per key: the last good one, else the last (a rerun appends a good record after a failed one)."""
    out: dict[Hashable, Judgment] = {}
    for r in records:
        k = key(r)
        if k not in out or not r.failed or out[k].failed:
            out[k] = r
    return out


def _combine_singles(judges: Mapping[str, list[Judgment]], rule: str) -> Panel:
    panel = Panel(rule, list(judges))
    per_judge = {j: latest((r for r in recs if isinstance(r, SingleJudgment)), single_key) for j, recs in judges.items()}
    keys = list(dict.fromkeys(k for recs in per_judge.values() for k in recs))
    average = statistics.mean if rule == "mean" else statistics.median
    for k in keys:
        found = [(j, recs[k]) for j, recs in per_judge.items() if k in recs]
        scales = {scale_of(r) for _, r in found}
        if len(scales) > 1:
            raise ConfigError(f"question {k[0]!r} turn {k[1]} of {k[2]}: the judges score it on different scales "
                              f"({', '.join(f'{j}: {scale_of(r)[0]:g}-{scale_of(r)[1]:g}' for j, r in found)}); "
                              "a panel averages one scale")
        scores = [float(r.score) for _, r in found if not r.failed]
        first = found[0][1]
        rec = SingleJudgment(question_id=k[0], model=k[2], turn=k[1], judge=JudgeName(panel.name, rule),
                             category=first.category, scale=first.scale, bench=first.bench,
                             score=average(scores) if scores else None,
                             error=None if scores else "no judge of the panel scored this answer")
        panel.partial += 0 < len(scores) < len(judges)
        panel.unjudged += not scores
        panel.records.append(rec)
    return panel


def _combine_pairs(judges: Mapping[str, list[Judgment]], rule: str, failed_games: str) -> Panel:
    panel = Panel(rule, list(judges))
    per_judge = {j: latest((r for r in recs if isinstance(r, PairJudgment)), pair_key) for j, recs in judges.items()}
    keys = list(dict.fromkeys(k for recs in per_judge.values() for k in recs))
    for k in keys:
        found = [recs[k] for recs in per_judge.values() if k in recs]
        first = found[0]  # its order of the two models is the panel's
        votes = []
        for r in found:
            w = game_winner(r, failed_games)
            if w is not None:
                votes.append(w if r.model_1 == first.model_1 else FLIP[w])
        winner = strict_majority(votes)
        rec = DecidedPair(question_id=first.question_id, model_1=first.model_1, model_2=first.model_2,
                          turn=first.turn, judge=JudgeName(panel.name, rule), category=first.category,
                          bench=first.bench, winner=winner,
                          error=None if votes else "no judge of the panel gave a verdict on this game")
        panel.partial += 0 < len(votes) < len(judges)
        panel.unjudged += not votes
        panel.records.append(rec)
    return panel
