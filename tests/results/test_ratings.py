"""Bradley-Terry ratings: closed forms, recovery of known strengths, interval coverage, length control."""
import json
import math
import random
from dataclasses import replace

import pytest

from llm_judge.cli import show_result
from llm_judge.records import PairJudgment
from llm_judge.results.ratings import rate

JP = ("jp_bench", "model_judgment", "fastchat_era_2023-08", "gpt-4_pair.jsonl")


def game(m1: str, m2: str, result: str, qid: int = 1) -> PairJudgment:
    """A pair record whose two orders agree on ``result`` ('model_1', 'model_2' or 'tie')."""
    return PairJudgment(question_id=qid, model_1=m1, model_2=m2, g1_winner=result, g2_winner=result, turn=1)


def p_win(r1: float, r2: float) -> float:
    return 1.0 / (1.0 + 10 ** ((r2 - r1) / 400.0))


def simulate(truth: dict[str, float], per_pair: int, rng: random.Random, bias=None) -> list[PairJudgment]:
    models = list(truth)
    records, qid = [], 0
    for i, a in enumerate(models):
        for b in models[i + 1:]:
            for _ in range(per_pair):
                qid += 1
                shift = bias(a, b) if bias else 0.0
                result = "model_1" if rng.random() < p_win(truth[a] + shift, truth[b]) else "model_2"
                records.append(game(a, b, result, qid))
    return records


def test_two_models_match_the_closed_form():
    # With two models the maximum-likelihood rating gap is 400 log10(score / (games - score)).
    recs = [game("a", "b", "model_1")] * 30 + [game("a", "b", "model_2")] * 10 + [game("a", "b", "tie")] * 8
    r = {row.model: row for row in rate(recs, bootstrap=0).rows}
    assert r["a"].rating - r["b"].rating == pytest.approx(400 * math.log10(34 / 14), abs=0.5)
    assert (r["a"].rating + r["b"].rating) / 2 == pytest.approx(1000.0)
    assert r["a"].games == r["b"].games == 48
    assert r["a"].lower is None and "no intervals" in rate(recs, bootstrap=0).describe()


def test_ties_are_half_wins_and_failed_games_are_left_out():
    with_ties = [game("a", "b", "model_1")] * 3 + [game("a", "b", "model_2")] + [game("a", "b", "tie")] * 2
    without = [game("a", "b", "model_1")] * 4 + [game("a", "b", "model_2")] * 2
    failed = [replace(game("a", "b", "model_1"), g1_winner=None, g2_winner=None, error="timeout")]
    gap = lambda recs: rate(recs, bootstrap=0).rows[0].rating - rate(recs, bootstrap=0).rows[1].rating  # noqa: E731
    assert gap(with_ties) == pytest.approx(gap(without), abs=1e-6)
    assert gap(with_ties + failed) == pytest.approx(gap(with_ties), abs=1e-9)
    # disagreeing orders make a tie, as in the win-rate tables
    split = replace(game("a", "b", "model_1"), g2_winner="model_2")
    assert gap([split] * 5) == pytest.approx(0.0, abs=1e-6)


def test_known_strengths_order_and_coverage():
    truth = {"m800": 800.0, "m900": 900.0, "m1000": 1000.0, "m1100": 1100.0, "m1200": 1200.0}  # mean 1000
    rng = random.Random(7)
    covered = total = 0
    widths = []
    for rep in range(30):
        ratings = rate(simulate(truth, 40, rng), bootstrap=150, seed=rep)
        if rep == 0:
            assert [r.model for r in ratings.rows] == ["m1200", "m1100", "m1000", "m900", "m800"]
        for r in ratings.rows:
            total += 1
            covered += r.lower <= truth[r.model] <= r.upper
            widths.append(r.upper - r.lower)
    # Nominal 95%: 150 intervals; a percentile bootstrap covers a little less than nominal at this size.
    assert 0.85 <= covered / total <= 1.0
    # ...and the intervals are not trivially wide: 160 games per model give a standard error near 30 points.
    assert 60 < sum(widths) / len(widths) < 180


def test_seed_makes_intervals_reproducible():
    recs = simulate({"a": 1000.0, "b": 1100.0, "c": 1050.0}, 30, random.Random(1))
    one, two, other = rate(recs, bootstrap=100, seed=3), rate(recs, bootstrap=100, seed=3), rate(recs, bootstrap=100, seed=4)
    assert [(r.lower, r.upper) for r in one.rows] == [(r.lower, r.upper) for r in two.rows]
    assert [(r.lower, r.upper) for r in one.rows] != [(r.lower, r.upper) for r in other.rows]
    assert [r.rating for r in one.rows] == [r.rating for r in other.rows]  # the point estimate needs no seed
    assert "100 bootstrap resamples of games, seed 3" in one.describe()


def test_baseline_is_the_anchor():
    recs = simulate({"base": 1000.0, "a": 1150.0, "b": 900.0, "c": 1000.0}, 40, random.Random(2))
    vs_base = [r for r in recs if "base" in (r.model_1, r.model_2)]
    ratings = rate(recs, baseline="base", bootstrap=50)
    assert {r.model for r in ratings.rows} == {"base", "a", "b", "c"}
    assert next(r for r in ratings.rows if r.model == "base").rating == pytest.approx(1000.0)
    assert rate(vs_base, baseline="base", bootstrap=0).anchor == "base"


def test_length_control_removes_a_length_preference():
    # Equal true strengths, but "long" tends to write more and the judge favours the longer answer of each
    # game by 600 Elo points per unit of relative length difference. Raw ratings put "long" ahead; the
    # length term absorbs the preference and the length-controlled ratings come back together.
    rng = random.Random(5)
    spans = {"long": (300, 1100), "short": (200, 700), "mid": (200, 700)}
    recs, lengths, qid = [], {}, 0
    for a, b in (("long", "short"), ("long", "mid"), ("short", "mid")):
        for _ in range(150):
            qid += 1
            la, lb = rng.randint(*spans[a]), rng.randint(*spans[b])
            lengths[(a, qid, 1)], lengths[(b, qid, 1)] = la, lb
            result = "model_1" if rng.random() < p_win(600.0 * (la - lb) / (la + lb), 0.0) else "model_2"
            recs.append(game(a, b, result, qid))
    ratings = rate(recs, bootstrap=200, seed=0, lengths=lengths)
    by = {r.model: r for r in ratings.rows}
    raw_gap = by["long"].rating - by["short"].rating
    assert raw_gap > 60
    assert abs(by["long"].lc_rating - by["short"].lc_rating) < raw_gap / 3
    assert all(r.lc_lower <= 1000.0 <= r.lc_upper for r in ratings.rows)
    lo, hi = ratings.length_coef_interval
    assert ratings.length_coef > 0 and lo > 0
    assert "length term" in ratings.describe()
    # without a length preference the term is near zero and changes little
    flat = [game(r.model_1, r.model_2, "model_1" if rng.random() < 0.5 else "model_2", r.question_id)
            for r in recs]
    plain = rate(flat, bootstrap=100, seed=0, lengths=lengths)
    lo, hi = plain.length_coef_interval
    assert lo < 0 < hi


def test_real_judgments_show_result_ratings(published_data, capsys):
    path = str(published_data(*JP))
    assert show_result.main(["--input-file", path, "--ratings", "--bootstrap", "200", "--seed", "1",
                             "--length-control", "--format", "json"]) == 0
    table = next(t for t in json.loads(capsys.readouterr().out) if t["title"].startswith("pairwise: Bradley-Terry"))
    rows = {r["model"]: r for r in table["rows"]}
    assert list(rows) == ["rinna-3.6b-ppo", "rinna-3.6b-sft-v2", "rinna-3.6b"]
    # rinna-3.6b lost 100 of its 160 games: its whole interval lies below the other two.
    assert rows["rinna-3.6b"]["upper_95"] < rows["rinna-3.6b-sft-v2"]["lower_95"]
    assert all(r["lower_95"] < r["rating"] < r["upper_95"] and r["games"] == 160 for r in rows.values())
    assert all(r["lc_lower_95"] < r["lc_rating"] < r["lc_upper_95"] for r in rows.values())
    assert "200 bootstrap resamples of games, seed 1" in table["note"]
