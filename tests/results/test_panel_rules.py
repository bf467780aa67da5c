"""Named verdict rules on hand-made distribution records: pooled (both orders' probabilities averaged, a tie
within the margin) and expected (the expected score), through the library and show_result (tables, notes,
ratings), and their one-line errors on records without probabilities."""
from __future__ import annotations

import json

import pytest

from llm_judge import cli as cli_run
from llm_judge.cli import show_result
from llm_judge.errors import ConfigError
from llm_judge.records import JudgeName, PairJudgment, SingleJudgment
from llm_judge.results import verdict_rules
from llm_judge.results.aggregate import pairwise_tallies

PROBS = [
    # g1 shows model_1 as A, g2 shows model_2 as A
    # 1: both orders for model_1: pooled 0.65 vs 0.25 -> model_1; FastChat model_1
    ({"A": 0.7, "B": 0.2, "tie": 0.1}, {"A": 0.3, "B": 0.6, "tie": 0.1}, "model_1", "model_1"),
    # 2: each order for the answer shown first (position bias): FastChat tie; pooled 0.575 vs 0.375 -> model_1
    ({"A": 0.8, "B": 0.15, "tie": 0.05}, {"A": 0.6, "B": 0.35, "tie": 0.05}, "model_1", "model_2"),
    # 4: even: pooled 0.425 vs 0.425 -> tie
    ({"A": 0.45, "B": 0.4, "tie": 0.15}, {"A": 0.45, "B": 0.4, "tie": 0.15}, "model_1", "model_2"),
]


def records() -> list[PairJudgment]:
    out = [PairJudgment(question_id=q, model_1="a", model_2="b", g1_winner=w1, g2_winner=w2,
                        judge=JudgeName("j", "pair-v2"), g1_verdict_probs=g1, g2_verdict_probs=g2)
           for q, (g1, g2, w1, w2) in zip((1, 2, 4), PROBS)]
    # 3: win_probs alone (already in model terms) -> model_2
    out.insert(2, PairJudgment(question_id=3, model_1="a", model_2="b", g1_winner="model_2", g2_winner="model_2",
                               judge=JudgeName("j", "pair-v2"), win_probs={"model_1": 0.2, "model_2": 0.7, "tie": 0.1}))
    # 5: failed: stays failed under every rule, whatever probabilities it has
    out.append(PairJudgment(question_id=5, model_1="a", model_2="b", judge=JudgeName("j", "pair-v2"),
                            error="g1: timeout", g2_verdict_probs={"A": 1.0, "B": 0.0, "tie": 0.0}))
    return out


def test_pooled_decides_from_both_orders():
    decided = verdict_rules.apply(records(), "pooled", "f.jsonl")
    assert [r.combined_winner for r in decided] == ["model_1", "model_1", "model_2", "tie", None]
    assert [r.combined_winner for r in records()] == ["model_1", "tie", "model_2", "tie", None]  # FastChat's
    assert [(r.g1_winner, r.g2_winner) for r in decided][1] == ("model_1", "model_2")  # the judge's own verdicts
    t = pairwise_tallies(decided)["a"]
    assert (t.win, t.loss, t.tie, t.failed) == (2, 1, 1, 1)


def test_pooled_tie_margin():
    wide = verdict_rules.apply(records(), "pooled", "f.jsonl", tie_margin=0.25)
    assert [r.combined_winner for r in wide] == ["model_1", "tie", "model_2", "tie", None]  # 0.2 lead is within 0.25
    assert verdict_rules.pooled_winner({"model_1": 0.5, "model_2": 0.3, "tie": 0.2}, 0.0) == "model_1"


def test_pooled_needs_probabilities():
    plain = [PairJudgment(question_id=1, model_1="a", model_2="b", g1_winner="tie", g2_winner="tie")]
    with pytest.raises(ConfigError, match=r"^f\.jsonl: --verdict-rule pooled needs verdict probabilities .* 1 of 5 judgments"):
        verdict_rules.apply(records() + plain, "pooled", "f.jsonl")


def test_expected_uses_the_expected_score():
    recs = [SingleJudgment(question_id=1, model="a", score=7, expected_score=6.25),
            SingleJudgment(question_id=2, model="a", score=3, expected_score=3.5),
            SingleJudgment(question_id=3, model="a", error="timeout")]
    assert [r.score for r in verdict_rules.apply(recs, "expected", "s.jsonl")] == [6.25, 3.5, None]
    with pytest.raises(ConfigError, match="s.jsonl: --verdict-rule expected needs expected_score .* 1 of 3"):
        verdict_rules.apply(recs + [SingleJudgment(question_id=4, model="a", score=5)], "expected", "s.jsonl")


def test_rules_that_do_not_fit_the_mode_are_refused():
    with pytest.raises(ConfigError, match="expected applies to single"):
        verdict_rules.check("expected", pairwise=True)
    with pytest.raises(ConfigError, match="pooled applies to pairwise"):
        verdict_rules.check("pooled", pairwise=False)
    with pytest.raises(ConfigError, match="tie-margin"):
        verdict_rules.check("pooled", pairwise=True, tie_margin=1.5)


def write(path, recs) -> str:
    path.write_text("".join(json.dumps(r.to_json()) + "\n" for r in recs), encoding="utf-8")
    return str(path)


def test_show_result_pooled_with_ratings(tmp_path, capsys):
    path = write(tmp_path / "j_pair.jsonl", records())
    argv = ["--input-file", path, "--mode", "pairwise-all", "--format", "json", "--ratings", "--bootstrap", "0"]
    assert show_result.main(argv + ["--verdict-rule", "pooled"]) == 0
    tables = {t["title"]: t for t in json.loads(capsys.readouterr().out)}
    per_model = tables["pairwise: per model"]
    assert per_model["rows"][0] | {"model": "a"} == per_model["rows"][0]
    assert (per_model["rows"][0]["win"], per_model["rows"][0]["loss"], per_model["rows"][0]["tie"]) == (2, 1, 1)
    rule = "verdict rule: pooled (both orders' verdict probabilities averaged; a tie within 0.1)"
    assert rule in per_model["note"] and rule in tables["pairwise: Bradley-Terry ratings (Elo scale)"]["note"]
    ratings = tables["pairwise: Bradley-Terry ratings (Elo scale)"]["rows"]
    assert ratings[0]["model"] == "a" and ratings[0]["rating"] > 1000  # 2 wins, 1 loss, 1 tie
    # the position tables count the judge's own verdicts in each order: 2 of 4 pairs agree
    position = tables["pairwise: position bias per judge (%)"]
    assert position["rows"][0]["orders_agree"] == 50.0 and "before the verdict rule" in position["note"]
    # FastChat's rule (the default) prints no rule note: today's output
    assert show_result.main(argv) == 0
    tables = {t["title"]: t for t in json.loads(capsys.readouterr().out)}
    assert (tables["pairwise: per model"]["rows"][0]["win"], tables["pairwise: per model"]["rows"][0]["tie"]) == (1, 2)
    assert "verdict rule" not in tables["pairwise: per model"]["note"]


def test_show_result_expected_and_its_errors(tmp_path, capsys):
    recs = [SingleJudgment(question_id=q, model="a", score=s, expected_score=e, judge=JudgeName("j", "single-v1"))
            for q, s, e in ((1, 7, 6.5), (2, 3, 3.5))]
    path = write(tmp_path / "j_single.jsonl", recs)
    assert show_result.main(["--input-file", path, "--format", "json", "--verdict-rule", "expected"]) == 0
    (table,) = json.loads(capsys.readouterr().out)[:1]
    assert table["rows"][0]["score"] == 5.0 and "verdict rule: expected" in table["note"]
    plain = write(tmp_path / "p_single.jsonl", [SingleJudgment(question_id=1, model="a", score=4)])
    assert cli_run.run(show_result.main, ["--input-file", plain, "--verdict-rule", "expected"]) == 2
    err = capsys.readouterr().err
    assert "p_single.jsonl: --verdict-rule expected needs expected_score" in err and len(err.strip().splitlines()) == 1
    assert cli_run.run(show_result.main, ["--input-file", plain, "--verdict-rule", "pooled"]) == 2
    assert "pooled applies to pairwise" in capsys.readouterr().err
