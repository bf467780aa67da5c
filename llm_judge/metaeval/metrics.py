"""Agreement of a judge's verdicts with labels, as pure functions over pairs and predictions.

Every metric is defined in the README ("Judge meta-evaluation"). In short, for a pair with label L and
the judge's verdicts v1 (order 1, response 1 shown first) and v2 (order 2, swapped), all in the set's terms:
the *final verdict* is v1 with one order, and with two orders v1 when v1 == v2, else a tie (FastChat's
rule). A missing or unparseable verdict never matches anything, unless ``invalid_as_tie`` turns it into a
tie (what PandaLM's and JudgeLM's own scorers do).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from itertools import combinations
from typing import Callable, Sequence

from ..stats import cohen_kappa
from .pairs import ONE, TIE, TWO, VERDICTS, LabelledPair, Verdict
from .predictions import Predictions


def _same(a: Verdict, b: Verdict) -> bool:
    return a is not None and a == b


def final_verdict(verdicts: Sequence[Verdict]) -> Verdict:
    """One order: its verdict. Two: the verdict both orders give, a tie when they differ, None if one is missing."""
    if len(verdicts) == 1:
        return verdicts[0]
    v1, v2 = verdicts[0], verdicts[1]
    if v1 is None or v2 is None:
        return None
    return v1 if v1 == v2 else TIE


def position_score(verdict: Verdict, order: int) -> int | None:
    """+1 if the response shown first won, -1 if the one shown second won, 0 for a tie, None for no verdict."""
    if verdict is None:
        return None
    if verdict == TIE:
        return 0
    first_won = verdict == (ONE if order == 1 else TWO)
    return 1 if first_won else -1


def macro_prf(gold: Sequence[Verdict], pred: Sequence[Verdict]) -> tuple[float, float, float]:
    """Macro precision, recall and F1 over the classes that occur in gold or pred (no verdict is no class).

    F1 per class is 2PR/(P+R) from that class's precision and recall (0 when both are 0), as PandaLM's
    scorer computes it; a class never predicted has precision 0.
    """
    classes = [c for c in VERDICTS if c in gold or c in pred]
    ps, rs, fs = [], [], []
    for c in classes:
        tp = sum(1 for g, p in zip(gold, pred) if g == c and p == c)
        predicted = sum(1 for p in pred if p == c)
        actual = sum(1 for g in gold if g == c)
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        ps.append(precision)
        rs.append(recall)
        fs.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    k = len(classes)
    return sum(ps) / k, sum(rs) / k, sum(fs) / k


@dataclass
class Metrics:
    pairs: int = 0  # labelled pairs in the group
    n: int = 0  # of those, pairs the judge gave verdicts for: the denominator of the rates
    orders: int = 1
    no_verdict: int = 0  # verdicts (counted per order) that are missing or unparseable
    agreement: float | None = None  # final verdict == label
    agreement_no_tie: float | None = None  # the same, over pairs where neither is a tie
    n_no_tie: int = 0
    precision: float | None = None  # macro over the verdict classes (final verdict vs label)
    recall: float | None = None
    f1: float | None = None
    kappa: float | None = None  # Cohen's kappa, final verdict vs label
    acc_1: float | None = None  # order-1 verdict == label
    acc_2: float | None = None  # order-2 verdict == label
    acc_avg: float | None = None  # (acc_1 + acc_2) / 2
    acc_both: float | None = None  # both orders == label (Auto-J's agreement)
    consistency: float | None = None  # v1 == v2 (LLMBar's positional agreement, Auto-J's / JudgeLM's consistency)
    prefer_first: float | None = None  # the orders differ towards the response shown first
    prefer_second: float | None = None
    votes: int = 0  # individual annotator votes on the judged pairs (FastChat counts each)
    vote_agreement: float | None = None
    votes_no_tie: int = 0
    vote_agreement_no_tie: float | None = None


def _rate(hits: int, total: int) -> float | None:
    return hits / total if total else None


def resolved(verdicts: tuple[Verdict, ...], invalid_as_tie: bool) -> tuple[Verdict, ...]:
    return tuple(TIE if v is None and invalid_as_tie else v for v in verdicts)


def score(items: Sequence[LabelledPair], preds: Predictions, invalid_as_tie: bool = False) -> Metrics:
    """All metrics of one judge over ``items`` (pairs without a label count only towards vote agreement)."""
    m = Metrics(orders=preds.orders)
    judged = [(p, resolved(preds.verdicts[p.id], invalid_as_tie)) for p in items if p.id in preds.verdicts]
    labelled = [(p, v) for p, v in judged if p.label is not None]
    m.pairs = sum(1 for p in items if p.label is not None)
    m.n = len(labelled)
    m.no_verdict = sum(preds.verdicts[p.id].count(None) for p, _ in labelled)  # before invalid_as_tie
    if labelled:
        gold = [p.label for p, _ in labelled]
        final = [final_verdict(v) for _, v in labelled]
        m.agreement = _rate(sum(map(_same, final, gold)), m.n)
        no_tie = [(f, g) for f, g in zip(final, gold) if g != TIE and f != TIE]
        m.n_no_tie = len(no_tie)
        m.agreement_no_tie = _rate(sum(_same(f, g) for f, g in no_tie), len(no_tie))
        m.precision, m.recall, m.f1 = macro_prf(gold, final)
        m.kappa = cohen_kappa(final, gold)
        m.acc_1 = _rate(sum(_same(v[0], g) for (_, v), g in zip(labelled, gold)), m.n)
        if preds.orders == 2:
            _position_metrics(m, labelled, gold)
    _vote_metrics(m, judged)
    return m


def _position_metrics(m: Metrics, labelled: list[tuple[LabelledPair, tuple[Verdict, ...]]], gold: list[str]) -> None:
    m.acc_2 = _rate(sum(_same(v[1], g) for (_, v), g in zip(labelled, gold)), m.n)
    m.acc_avg = (m.acc_1 + m.acc_2) / 2
    m.acc_both = _rate(sum(_same(v[0], g) and _same(v[1], g) for (_, v), g in zip(labelled, gold)), m.n)
    m.consistency = _rate(sum(_same(v[0], v[1]) for _, v in labelled), m.n)
    lean = Counter()
    for _, v in labelled:
        s1, s2 = position_score(v[0], 1), position_score(v[1], 2)
        if s1 is not None and s2 is not None and s1 + s2:
            lean["first" if s1 + s2 > 0 else "second"] += 1
    m.prefer_first, m.prefer_second = _rate(lean["first"], m.n), _rate(lean["second"], m.n)


def _vote_metrics(m: Metrics, judged: list[tuple[LabelledPair, tuple[Verdict, ...]]]) -> None:
    """FastChat compute_agreement: the judge's final verdict against every annotator vote separately."""
    pairs = [(final_verdict(v), vote) for p, v in judged for vote in p.votes]
    no_tie = [(f, vote) for f, vote in pairs if f != TIE and vote != TIE]
    m.votes, m.votes_no_tie = len(pairs), len(no_tie)
    m.vote_agreement = _rate(sum(_same(f, vote) for f, vote in pairs), len(pairs))
    m.vote_agreement_no_tie = _rate(sum(_same(f, vote) for f, vote in no_tie), len(no_tie))


def group_key(group_by: str) -> Callable[[LabelledPair], str]:
    if group_by == "none":
        return lambda p: "all"
    return lambda p: getattr(p, group_by) or "all"


def score_groups(items: Sequence[LabelledPair], preds: Predictions, group_by: str = "subset",
                 invalid_as_tie: bool = False) -> list[tuple[str, Metrics]]:
    """Metrics per group (in order of first appearance), then "overall"; just "overall" for a single group."""
    key = group_key(group_by)
    groups: dict[str, list[LabelledPair]] = {}
    for p in items:
        groups.setdefault(key(p), []).append(p)
    rows = [(name, score(members, preds, invalid_as_tie)) for name, members in groups.items()] if len(groups) > 1 else []
    return rows + [("overall", score(items, preds, invalid_as_tie))]


def relabel(items: Sequence[LabelledPair], reference: Predictions, invalid_as_tie: bool = False) -> list[LabelledPair]:
    """The pairs labelled with a reference judge's final verdicts instead of the humans' (judge vs judge).

    Pairs the reference judge gave no final verdict on are left out.
    """
    out = []
    for p in items:
        if p.id in reference.verdicts:
            verdict = final_verdict(resolved(reference.verdicts[p.id], invalid_as_tie))
            if verdict is not None:
                out.append(replace(p, votes=(verdict,)))
    return out


@dataclass
class Interannotator:
    pairs: int  # pairs with at least two votes
    vote_pairs: int
    agreement: float | None
    vote_pairs_no_tie: int
    agreement_no_tie: float | None


def interannotator(items: Sequence[LabelledPair]) -> Interannotator:
    """Human vs human: every two votes on the same pair, as FastChat's compute_agreement counts them."""
    multi = [p for p in items if len(p.votes) > 1]
    couples = [(a, b) for p in multi for a, b in combinations(p.votes, 2)]
    no_tie = [(a, b) for a, b in couples if TIE not in (a, b)]
    return Interannotator(len(multi), len(couples), _rate(sum(a == b for a, b in couples), len(couples)),
                          len(no_tie), _rate(sum(a == b for a, b in no_tie), len(no_tie)))


def llmbar_statistics(items: Sequence[LabelledPair], preds: Predictions) -> dict[str, str | float | None]:
    """The ``statistics.json`` LLMBar writes beside an evaluator's result.json, from the same verdicts.

    The kappas are LLMBar's as published: its script codes a verdict of "2" as 0 (and so does a missing
    one) but keeps the labels as 1/2, so they are not the kappa of the verdicts against the labels; our
    ``kappa`` metric is. Percentages are formatted as LLMBar's script formats them.
    """
    rows = [(p, preds.verdicts[p.id]) for p in items if p.id in preds.verdicts]
    n = len(rows)
    label = [p.label for p, _ in rows]
    v1 = [v[0] for _, v in rows]
    v2 = [v[1] for _, v in rows]
    c1 = sum(map(_same, v1, label))
    c2 = sum(map(_same, v2, label))
    both = sum(_same(a, g) and _same(b, g) for a, b, g in zip(v1, v2, label))
    equal = sum(a == b for a, b in zip(v1, v2))  # LLMBar compares the raw winners: two missing ones are "equal"

    def coded(verdicts: list[Verdict]) -> list[int]:
        return [int(v) if v == ONE else 0 for v in verdicts]

    gold = [int(g) for g in label]
    k1, k2 = cohen_kappa(coded(v1), gold), cohen_kappa(coded(v2), gold)
    return {
        "correct_False": f"{c1} / {n} = {c1 / n * 100}%",
        "correct_True": f"{c2} / {n} = {c2 / n * 100}%",
        "correct_average": f"{(c1 + c2) / 2 / n * 100}%",
        "correct_both": f"{both} / {n} = {both / n * 100}%",
        "equal": f"{equal} / {n} = {equal / n * 100}%",
        "kappa_False": k1,
        "kappa_True": k2,
        "kappa_average": (k1 + k2) / 2 if k1 is not None and k2 is not None else None,
        "kappa_agreement": cohen_kappa(coded(v1), coded(v2)),
    }
