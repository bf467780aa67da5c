"""show_result against real published judgments."""
import json

import pytest

from llm_judge.cli import show_result
from llm_judge.results.aggregate import pair_tallies, pairwise_tallies, single_scores
from llm_judge.records import judgment_from_json, read_judgments

SEED_FIGURE = {  # comparison.png of the seed project: win / tie / lose (%) of model_1 against model_2
    ("rinna-3.6b-sft-v2", "rinna-3.6b-ppo"): (23.75, 40.0, 36.25),
    ("rinna-3.6b", "rinna-3.6b-ppo"): (6.25, 28.75, 65.0),
    ("rinna-3.6b", "rinna-3.6b-sft-v2"): (10.0, 30.0, 60.0),
}


def jp_pairs(published_data):
    return published_data("jp_bench", "model_judgment", "fastchat_era_2023-08", "gpt-4_pair.jsonl")


def test_seed_figure_reproduced(published_data, capsys):
    assert show_result.main(["--input-file", str(jp_pairs(published_data)), "--mode", "pairwise-all",
                             "--format", "json"]) == 0
    tables = json.loads(capsys.readouterr().out)
    pairs = {(r["model_1"], r["model_2"]): (r["win"], r["tie"], r["loss"]) for r in tables[1]["rows"]}
    assert set(pairs) == set(SEED_FIGURE)
    for pair, expected in SEED_FIGURE.items():
        assert pairs[pair] == pytest.approx(expected)


def test_fastchat_win_rates_by_hand(published_data):
    rows = read_judgments(jp_pairs(published_data))
    t = pairwise_tallies(rows)["rinna-3.6b-ppo"]
    # ppo: vs sft-v2 29 wins 19 losses 32 ties; vs rinna-3.6b 52 wins 5 losses 23 ties (from the seed figure)
    assert (t.win, t.loss, t.tie) == (29 + 52, 19 + 5, 32 + 23)
    assert t.rate("win_rate_adjusted") == pytest.approx((81 + 55 / 2) / 160)
    only = pair_tallies(rows, models=["rinna-3.6b", "rinna-3.6b-ppo"])
    assert list(only) == [("rinna-3.6b", "rinna-3.6b-ppo")]


def test_baseline_mode_drops_other_pairs_and_baseline(published_data, capsys):
    path = jp_pairs(published_data)
    assert show_result.main(["--input-file", str(path), "--mode", "pairwise-baseline",
                             "--baseline-model", "rinna-3.6b-ppo", "--format", "json"]) == 0
    rows = {r["model"]: r for r in json.loads(capsys.readouterr().out)[0]["rows"]}
    assert set(rows) == {"rinna-3.6b", "rinna-3.6b-sft-v2"}
    assert (rows["rinna-3.6b"]["win"], rows["rinna-3.6b"]["tie"], rows["rinna-3.6b"]["loss"]) == (5, 23, 52)


def test_single_failed_not_averaged():
    recs = [{"question_id": 1, "model": "a", "score": 8, "turn": 1}, {"question_id": 2, "model": "a", "score": 4, "turn": 2},
            {"question_id": 3, "model": "a", "score": None, "turn": 1, "error": "timeout"},
            {"question_id": 4, "model": "a", "score": -1, "turn": 1}]  # FastChat's legacy failure marker
    row = single_scores([judgment_from_json(r, "test.jsonl", i) for i, r in enumerate(recs, 1)])[0]
    assert (row.mean(1), row.mean(2), row.mean(), row.failed) == (8, 4, 6, 2)
