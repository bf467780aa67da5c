"""Judge panels on hand-made records: mean and median of scores, majority of verdicts (models in either
order, failed judgments left out), and the inter-judge agreement table against hand-computed statistics."""
from __future__ import annotations

import pytest

from llm_judge.errors import ConfigError
from llm_judge.records import JudgeName, PairJudgment, SingleJudgment
from llm_judge.results.agreement import agreement_table
from llm_judge.results.aggregate import pairwise_tallies, single_scores
from llm_judge.results.panel import combine
from llm_judge.stats import pearson, ranks, spearman, strict_majority


def single(judge: str, qid: int, model: str, score: float | None, error: str | None = None,
           scale: list[float] | None = None) -> SingleJudgment:
    return SingleJudgment(question_id=qid, model=model, judge=JudgeName(judge, "single-v1"), score=score,
                          error=error, scale=scale)


def pair(judge: str, qid: int, winners: tuple[str | None, str | None], models=("a", "b"),
         error: str | None = None) -> PairJudgment:
    return PairJudgment(question_id=qid, model_1=models[0], model_2=models[1], g1_winner=winners[0],
                        g2_winner=winners[1], judge=JudgeName(judge, "pair-v2"), error=error)


def test_strict_majority():
    assert strict_majority(["model_1", "model_1", "model_2"]) == "model_1"
    assert strict_majority(["model_1", "model_2", "tie"]) == "tie"  # no strict majority
    assert strict_majority(["model_1", "model_2"]) == "tie"
    assert strict_majority(["tie", "tie", "model_1"]) == "tie"
    assert strict_majority(["model_2"]) == "model_2"
    assert strict_majority([]) is None


JUDGES = {
    "x": [single("x", 1, "a", 8), single("x", 2, "a", 6), single("x", 1, "b", 3)],
    "y": [single("y", 1, "a", 5), single("y", 2, "a", None, error="unparseable judgment"),
          single("y", 1, "b", 4)],
    "z": [single("z", 1, "a", 9), single("z", 2, "a", 7), single("z", 1, "b", 2)],
}


def test_mean_and_median_leave_failed_judgments_out():
    mean = combine(JUDGES, "mean")
    scores = {(r.question_id, r.model): r.score for r in mean.records}
    assert scores == {(1, "a"): pytest.approx(22 / 3), (2, "a"): 6.5, (1, "b"): 3.0}
    assert mean.partial == 1 and mean.unjudged == 0  # y failed on (2, a): two judges scored it
    assert "1 answers had a verdict from fewer judges" in mean.note()
    median = combine(JUDGES, "median")
    assert {(r.question_id, r.model): r.score for r in median.records} == {(1, "a"): 8, (2, "a"): 6.5, (1, "b"): 3}
    rows = {row.model: row for row in single_scores(median.records)}
    assert rows["a"].mean() == pytest.approx((8 + 6.5) / 2) and rows["a"].failed == 0
    assert {r.judge for r in mean.records} == {JudgeName("x+y+z", "mean")}


def test_an_answer_no_judge_scored_is_a_failed_panel_judgment():
    judges = {"x": [single("x", 1, "a", None, error="timeout")], "y": [single("y", 1, "a", None, error="x")]}
    panel = combine(judges, "mean")
    assert panel.records[0].failed and panel.records[0].error and panel.unjudged == 1
    assert single_scores(panel.records)[0].failed == 1


def test_a_rerun_replaces_a_failed_record():
    judges = {"x": [single("x", 1, "a", None, error="timeout"), single("x", 1, "a", 4)], "y": [single("y", 1, "a", 6)]}
    panel = combine(judges, "mean")
    assert [r.score for r in panel.records] == [5.0] and panel.partial == 0


def test_judges_on_different_scales_are_refused():
    judges = {"x": [single("x", 1, "a", 4, scale=[1, 5])], "y": [single("y", 1, "a", 8)]}
    with pytest.raises(ConfigError, match="different scales .*x: 1-5, y: 1-10"):
        combine(judges, "mean")


def test_majority_of_combined_verdicts():
    judges = {
        # game 1: x model_1, y model_1 (written with the models the other way round), z tie -> model_1
        # game 2: x model_1, y model_2, z tie -> no strict majority: tie
        # game 3: x model_2, y failed, z model_2 -> model_2 (of the two with a verdict)
        # game 4: every judge failed -> a failed panel judgment
        "x": [pair("x", 1, ("model_1", "model_1")), pair("x", 2, ("model_1", "model_1")),
              pair("x", 3, ("model_2", "model_2")), pair("x", 4, (None, None), error="timeout")],
        "y": [pair("y", 1, ("model_2", "model_2"), models=("b", "a")), pair("y", 2, ("model_2", "model_2")),
              pair("y", 3, (None, None), error="unparseable"), pair("y", 4, (None, None), error="timeout")],
        "z": [pair("z", 1, ("model_1", "model_2")), pair("z", 2, ("tie", "tie")), pair("z", 3, ("model_2", "model_2"))],
    }
    panel = combine(judges, "majority")
    winners = {r.question_id: r.combined_winner for r in panel.records}
    assert winners == {1: "model_1", 2: "tie", 3: "model_2", 4: None}
    assert panel.partial == 1 and panel.unjudged == 1
    tally = pairwise_tallies(panel.records)["a"]
    assert (tally.win, tally.loss, tally.tie, tally.failed) == (1, 1, 1, 1)


def test_agreement_on_verdicts_hand_computed_kappa():
    # x: model_1 model_1 model_2 tie; y: model_1 model_2 model_2 tie; game 5 only x judged it
    x = [pair("x", q, (w, w)) for q, w in enumerate(["model_1", "model_1", "model_2", "tie", "model_1"], 1)]
    y = [pair("y", q, (w, w)) for q, w in enumerate(["model_1", "model_2", "model_2", "tie"], 1)]
    table = agreement_table({"x": x, "y": y}, pairwise=True)
    (row,) = table.records()
    # po = 3/4; pe = P(m1) 2/4*1/4 + P(m2) 1/4*2/4 + P(tie) 1/4*1/4 = 5/16; kappa = (12/16-5/16)/(11/16) = 7/11
    assert row == {"judge_1": "x", "judge_2": "y", "n": 4, "agreement": 75.0, "kappa": pytest.approx(7 / 11)}


def test_agreement_on_scores_hand_computed():
    x = [single("x", q, "a", s) for q, s in enumerate([1, 2, 3, 4, 5], 1)]
    y = [single("y", q, "a", s) for q, s in enumerate([2, 2, 3, 5, 9], 1)]
    (row,) = agreement_table({"x": x, "y": y}, pairwise=False).records()
    # same score on items 2 and 3; labels 1..5 vs 2,2,3,5,9: po = 2/5, pe = (1*2 [2] + 1*1 [3] + 1*1 [5]) / 25 = 4/25
    assert row["n"] == 5 and row["agreement"] == 40.0
    assert row["kappa"] == pytest.approx((2 / 5 - 4 / 25) / (1 - 4 / 25))
    # Pearson by hand: x mean 3, y mean 4.2; sxy = 4.4+2.2+0+0.8+9.6 = 17, sxx = 10, syy = 4.84*2+1.44+0.64+23.04 = 34.8
    assert row["pearson"] == pytest.approx(17 / (10 * 34.8) ** 0.5)
    # y's ranks with the tie shared: 1.5 1.5 3 4 5
    assert ranks([2, 2, 3, 5, 9]) == [1.5, 1.5, 3, 4, 5]
    assert row["spearman"] == pytest.approx(pearson([1, 2, 3, 4, 5], [1.5, 1.5, 3, 4, 5]))


def test_undefined_statistics_are_none():
    assert pearson([1.0], [2.0]) is None and pearson([3, 3, 3], [1, 2, 3]) is None
    assert spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    x = [single("x", 1, "a", 5)]
    (row,) = agreement_table({"x": x, "y": [single("y", 2, "a", 5)]}, pairwise=False).records()
    assert row["n"] == 0 and row["agreement"] is None and row["kappa"] is None and row["pearson"] is None
