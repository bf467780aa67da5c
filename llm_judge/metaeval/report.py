"""Metrics of one or more judges on a labelled set, as tables (rates in percent, kappa as a ratio)."""
from __future__ import annotations

from typing import Sequence

from ..results.tables import Table
from .metrics import Interannotator, Metrics


def _pct(value: float | None) -> float | None:
    return None if value is None else value * 100


def metric_tables(title: str, results: Sequence[tuple[str, str, Metrics]]) -> list[Table]:
    """``results``: (judge, group, metrics) rows. Groups nothing was judged on are left out."""
    rows = [(j, g, m) for j, g, m in results if m.n or m.votes]
    tables = [Table(
        f"{title}: agreement",
        ["judge", "group", "n", "agree %", "agree no-tie %", "n no-tie", "precision %", "recall %", "F1 %", "kappa",
         "no verdict"],
        [[j, g, m.n, _pct(m.agreement), _pct(m.agreement_no_tie), m.n_no_tie, _pct(m.precision), _pct(m.recall),
          _pct(m.f1), m.kappa, m.no_verdict] for j, g, m in rows],
        note="final verdict: the one both orders agree on, else a tie; precision/recall/F1 are macro averages")]
    both = [(j, g, m) for j, g, m in rows if m.orders == 2]
    if both:
        tables.append(Table(
            f"{title}: both orders",
            ["judge", "group", "n", "order 1 %", "order 2 %", "average %", "both right %", "consistency %",
             "prefer 1st %", "prefer 2nd %"],
            [[j, g, m.n, _pct(m.acc_1), _pct(m.acc_2), _pct(m.acc_avg), _pct(m.acc_both), _pct(m.consistency),
              _pct(m.prefer_first), _pct(m.prefer_second)] for j, g, m in both],
            note="both right = Auto-J's agreement; consistency = LLMBar's positional agreement, Auto-J's and "
                 "JudgeLM's consistency"))
    if any(m.votes > m.n for _, _, m in rows):
        tables.append(Table(
            f"{title}: every annotator vote (FastChat compute_agreement)",
            ["judge", "group", "votes", "agree %", "votes no-tie", "agree no-tie %"],
            [[j, g, m.votes, _pct(m.vote_agreement), m.votes_no_tie, _pct(m.vote_agreement_no_tie)]
             for j, g, m in rows]))
    return tables


def interannotator_table(title: str, results: Sequence[tuple[str, Interannotator]]) -> Table:
    return Table(f"{title}: annotator vs annotator",
                 ["group", "pairs", "vote pairs", "agree %", "vote pairs no-tie", "agree no-tie %"],
                 [[g, r.pairs, r.vote_pairs, _pct(r.agreement), r.vote_pairs_no_tie, _pct(r.agreement_no_tie)]
                  for g, r in results if r.vote_pairs])
