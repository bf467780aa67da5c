"""What show_result shows for one bench: the tables of scores, win rates, position bias and ratings.

:class:`BenchResult` carries the tables and what the plots and the cross-bench table need.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..five_level import STRONG_WEIGHT
from ..records import Judgment, SingleJudgment
from .aggregate import (FASTCHAT_SCALE, PairTally, Scale, by_scale, criterion_means, error_games, error_verdict,
                        five_level_note, multiplicity, pair_tallies, pairwise_tallies, rule_note, scale_text,
                        single_by_category, single_scores)
from .position import consistency_table, position_table
from .ratings import Ratings
from .tables import Table


def single_tables(records: list[Judgment], models: list[str] | None,
                  categories: dict[Any, str] | None = None) -> list[Table]:
    """The score tables of each scale the judgments use (most judgments first), never averaged across scales."""
    groups = by_scale(records, models) or {FASTCHAT_SCALE: []}
    tables = [t for scale, group in groups.items()
              for t in _scale_tables(group, models, categories, scale, len(groups) > 1)]
    if len(groups) > 1:
        scales = ", ".join(scale_text(s) for s in groups)
        tables[0].note = "; ".join(filter(None, [tables[0].note, f"scores are on {len(groups)} scales ({scales}): "
                                                 "each has its own tables and is never averaged with another"]))
    return tables


def single_headline(records: list[Judgment], models: list[str] | None) -> tuple[dict[str, float | None], Scale]:
    """model -> mean score on the scale most judgments use (the across-bench table), and that scale."""
    groups = by_scale(records, models) or {FASTCHAT_SCALE: []}
    scale, group = next(iter(groups.items()))
    return {row.model: row.mean() for row in single_scores(group, models)}, scale


def _scale_tables(records: list[SingleJudgment], models: list[str] | None, categories: dict[Any, str] | None,
                  scale: Scale, several: bool) -> list[Table]:
    rows = single_scores(records, models)
    turns = sorted({t for row in rows for t in row.scores})
    columns = ["model"] + [f"turn {t}" for t in turns] + ["score", "n", "failed"]
    on = f" ({scale_text(scale)})"
    table = Table(f"single: mean score{on}", columns)
    for row in rows:
        table.rows.append([row.model] + [row.mean(t) for t in turns] + [row.mean(), row.n, row.failed])
    failed = sum(r.failed for r in rows)
    if failed:
        table.note = f"{failed} judgments failed (no score) and are not averaged in; rerun gen_judgment to retry them"
    tables = [table]
    by_cat = single_by_category(records, models, categories)
    found = {c for cats in by_cat.values() for c in cats}
    if found - {"unknown"}:
        order = list(dict.fromkeys(categories.values())) if categories else []
        cats = [c for c in order if c in found] + sorted(found - set(order))
        per_cat = Table("single: mean score per category" + (on if several else ""), ["model"] + cats)
        for row in rows:
            got = by_cat.get(row.model, {})
            per_cat.rows.append([row.model] + [sum(got[c]) / len(got[c]) if got.get(c) else None for c in cats])
        tables.append(per_cat)
    return tables + criteria_tables(records, models, categories, scale)


def criteria_tables(records: list[SingleJudgment], models: list[str] | None, categories: dict[Any, str] | None,
                    scale: Scale) -> list[Table]:
    """Judgments that scored several criteria: the mean of each per model, then per model and category."""
    criteria, means = criterion_means(records, models)
    if not criteria:
        return []
    per_model = Table(f"single: mean score per criterion ({scale_text(scale)})", ["model"] + criteria)
    for (model,), got in means.items():
        per_model.rows.append([model] + [got.get(c) for c in criteria])
    per_model.rows.sort(key=lambda row: [str(row[0])])
    _, by_cat = criterion_means(records, models, categories, per_category=True)
    per_cat = Table(f"single: mean score per criterion and category ({scale_text(scale)})",
                    ["model", "category"] + criteria)
    for (model, category), got in sorted(by_cat.items()):
        per_cat.rows.append([model, category] + [got.get(c) for c in criteria])
    return [per_model, per_cat]


def _pct(t: PairTally, what: str) -> float | None:
    rate = t.rate(what)
    return None if rate is None else 100.0 * rate


def pairwise_tables(records: list[Judgment], models: list[str] | None, baseline: str | None,
                    mode: str, failed_games: str = "drop", strong_weight: int = STRONG_WEIGHT,
                    position_records: list[Judgment] | None = None) -> list[Table]:
    """The win-rate tables (per model, per pair) and the position tables; ``failed_games`` is the rule for
    games with an "error" verdict (see :mod:`.aggregate`), named in the notes when it touched any;
    ``strong_weight``: how many games a strong five-level verdict counts as.
    ``position_records``: the judges' own records, when ``records`` are verdicts a rule or a panel decided
    (the position tables count what each judge said in each order)."""
    tallies = pairwise_tallies(records, models, baseline, failed_games, strong_weight)
    per_model = Table("pairwise: per model" + (f" vs {baseline}" if baseline else ""),
                      ["model", "win", "loss", "tie", "win_rate", "loss_rate", "win_rate_adjusted", "failed"])
    for model, t in tallies.items():
        per_model.rows.append([model, t.win, t.loss, t.tie, t.rate("win_rate"), t.rate("loss_rate"),
                               t.rate("win_rate_adjusted"), t.failed])
    counted = failed_games == "tie"  # games with an "error" verdict count as ties: not failed here
    failed = sum(multiplicity(r) for r in records if r.failed and not (counted and error_verdict(r)))
    rule = rule_note(error_games(records, models, baseline), failed_games)
    failed_note = f"{failed} judgments failed and are not counted; rerun gen_judgment to retry them" if failed else ""
    levels = five_level_note(records, strong_weight)
    per_model.note = "; ".join(n for n in (failed_note, rule, levels) if n)
    tables = [per_model]
    if mode == "pairwise-all" or baseline is None:
        pairs = Table("pairwise: per pair (model_1 vs model_2, %)",
                      ["model_1", "model_2", "win", "tie", "loss", "n", "failed"])
        for (m1, m2), t in pair_tallies(records, models, baseline, failed_games, strong_weight).items():
            pairs.rows.append([m1, m2, _pct(t, "win"), _pct(t, "tie"), _pct(t, "loss"), t.n, t.failed])
        pairs.note = "; ".join(n for n in (rule, levels) if n)
        tables.append(pairs)
    own = records if position_records is None else position_records
    tables.append(consistency_table(own, models, baseline))
    tables.append(position_table(own))
    return tables


def ratings_table(ratings: Ratings, rule: str = "") -> Table:
    """The ratings; ``rule`` is the failed-games note of the games they were fitted on ("" for none).
    Controlled ratings sit beside the raw ones: ``lc_`` columns hold length alone, ``sc_`` columns style."""
    columns = ["model", "rating", "lower_95", "upper_95", "games"]
    prefix = ("lc" if ratings.control_name == "length" else "sc") if ratings.controls else ""
    if prefix:
        columns += [f"{prefix}_rating", f"{prefix}_lower_95", f"{prefix}_upper_95"]
    table = Table("pairwise: Bradley-Terry ratings (Elo scale)", columns,
                  note=ratings.describe() + (f"; {rule}" if rule else ""))
    for r in ratings.rows:
        row = [r.model, r.rating, r.lower, r.upper, r.games]
        if prefix:
            row += [r.lc_rating, r.lc_lower, r.lc_upper]
        table.rows.append(row)
    return table


def style_table(ratings: Ratings) -> Table:
    """Each style feature's coefficient with its 95% interval (style control with several features)."""
    table = Table("pairwise: style coefficients (Elo per s.d. of the normalised difference)",
                  ["feature", "coef", "lower_95", "upper_95"],
                  note="a positive coefficient: the judge favours the answer with more of it, other things equal")
    for feature in ratings.controls:
        lo, hi = ratings.coef_intervals.get(feature, (None, None))
        table.rows.append([feature, ratings.coefs[feature], lo, hi])
    return table


@dataclass
class BenchResult:
    """What show_result computed for one bench: the tables and what the plots and the cross table need."""

    name: str
    mode: str
    tables: list[Table]
    headline: dict[str, float | None]  # model -> mean score (single) or adjusted win rate (pairwise)
    records: list[Judgment] = field(default_factory=list)
    models: list[str] | None = None
    baseline: str | None = None
    categories: dict[Any, str] | None = None
    ratings: Ratings | None = None
    failed_games: str = "drop"  # the rule the pairwise tables were counted by (the plots count by it too)
    strong_weight: int = STRONG_WEIGHT  # games a strong five-level verdict counts as (tables and plots)
    scale: Scale | None = None  # single: the scale of the headline scores
    # A leaderboard bench's own headline (AlpacaEval's LC win rate, Arena-Hard's score) and its interval as
    # that bench writes it (llm_judge/leaderboards/); None for ours.
    headline_name: str | None = None
    intervals: dict[str, str] | None = None


def across_benches(results: list[BenchResult]) -> Table:
    """One row per model, one column per bench: mean score (single) or adjusted win rate (pairwise)."""
    columns = ["model"]
    for r in results:
        columns += [f"{r.name} {r.headline_name or _headline_name(r)}"] + ([f"{r.name} interval"] if r.intervals else [])
    models = list(dict.fromkeys(m for r in results for m in r.headline))
    table = Table("across benches", columns)
    for m in models:
        row: list[Any] = [m]
        for r in results:
            row += [r.headline.get(m)] + ([r.intervals.get(m)] if r.intervals else [])
        table.rows.append(row)
    return table


def _headline_name(result: BenchResult) -> str:
    if result.mode != "single":
        return "win_rate_adjusted"
    return "score" if result.scale in (None, FASTCHAT_SCALE) else f"score ({scale_text(result.scale)})"
