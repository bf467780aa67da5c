"""show_result --human-labels: judge-only, human-only and prediction-powered win rates, scores and ratings."""
import json
import random

import pytest

from llm_judge.cli import show_result
from llm_judge.datasets import pandalm
from llm_judge.ppi import ppi_mean


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _pair(qid, w1, w2, m1="a", m2="b", **extra):
    return {"question_id": qid, "model_1": m1, "model_2": m2, "g1_winner": w1, "g2_winner": w2, "turn": 1,
            "judge": ["j", "pair-v2"], **extra}


def _tables(capsys):
    return {t["title"]: t for t in json.loads(capsys.readouterr().out)}


GAMES = ([_pair(q, "model_1", "model_1") for q in range(6)] + [_pair(q, "model_2", "model_2") for q in range(6, 9)]
         + [_pair(9, "model_1", "model_2"), _pair(10, None, None, error="timeout")])


def test_pairwise_corrected_win_rate(tmp_path, capsys):
    judged = _write(tmp_path / "j_pair.jsonl", GAMES)
    # Humans on five games: a wins 0 and 1, b wins 6 and 2 (the judge said a), a tie on 9 (labelled b-first).
    labels = _write(tmp_path / "human.jsonl", [
        {"question_id": 0, "model_1": "a", "model_2": "b", "winner": "model_1"},
        {"question_id": 1, "model_1": "a", "model_2": "b", "winner": "model_1"},
        {"question_id": 2, "model_1": "b", "model_2": "a", "winner": "model_1"},
        {"question_id": 6, "model_a": "a", "model_b": "b", "winner": "model_b"},
        {"question_id": 9, "model_1": "b", "model_2": "a", "winner": "tie"}])
    assert show_result.main(["--input-file", str(judged), "--mode", "pairwise-all", "--human-labels", str(labels),
                             "--format", "json"]) == 0
    rows = {r["model"]: r for r in _tables(capsys)["pairwise: win rate (ties half) corrected by human labels"]["rows"]}
    a = rows["a"]
    # Games in file order: a's outcome as the judge saw it (the failed game predicts a tie) and as humans did.
    judge = [1, 1, 1, 1, 1, 1, 0, 0, 0, 0.5, 0.5]
    human = {0: 1.0, 1: 1.0, 2: 0.0, 6: 0.0, 9: 0.5}
    est, lam = ppi_mean([human[q] for q in sorted(human)], [judge[q] for q in sorted(human)],
                        [judge[q] for q in range(11) if q not in human])
    assert a["judge"] == pytest.approx(6.5 / 10)  # the failed game is left out, as in the win-rate table
    assert a["human"] == pytest.approx(0.5) and a["labelled"] == 5 and a["games"] == 11
    assert (a["ppi"], a["ppi_lower"], a["ppi_upper"], a["lambda"]) == pytest.approx(
        (est.value, est.lower, est.upper, lam))
    assert rows["b"]["ppi"] == pytest.approx(1 - est.value)


def test_single_corrected_mean_score(tmp_path, capsys):
    scores = [8, 7, 9, 3, 8, 6]
    judged = _write(tmp_path / "j_single.jsonl", [{"question_id": q, "model": "m", "score": s, "turn": 1,
                                                   "judge": ["j", "single-v1"]} for q, s in enumerate(scores)])
    labels = _write(tmp_path / "human.jsonl", [{"question_id": 0, "model": "m", "score": 6},
                                               {"question_id": 2, "model": "m", "score": 8},
                                               {"question_id": 3, "model": "m", "score": 1}])
    assert show_result.main(["--input-file", str(judged), "--human-labels", str(labels), "--format", "json"]) == 0
    row = _tables(capsys)["single: mean score (1-10) corrected by human labels"]["rows"][0]
    est, lam = ppi_mean([6, 8, 1], [8, 9, 3], [7, 8, 6])
    assert row["judge"] == pytest.approx(41 / 6) and row["human"] == pytest.approx(5.0)
    assert (row["ppi"], row["ppi_upper"], row["lambda"]) == pytest.approx((est.value, est.upper, lam))


@pytest.mark.parametrize("label, message", [
    ({"question_id": 42, "model_1": "a", "model_2": "b", "winner": "model_1"},
     "line 2: labels a game the judgment file does not hold (question 42, a vs b, turn 1)"),
    ({"question_id": 1, "model_1": "a", "model_2": "b", "winner": "A"},
     "line 2: field 'winner': must be one of model_1, tie, model_2, got \"A\""),
])
def test_bad_label_is_one_line(tmp_path, capsys, label, message):
    judged = _write(tmp_path / "j_pair.jsonl", GAMES)
    labels = _write(tmp_path / "human.jsonl", [{"question_id": 0, "model_1": "a", "model_2": "b", "winner": "tie"},
                                               label])
    code = show_result.cli.run(show_result.main, ["--input-file", str(judged), "--mode", "pairwise-all",
                                                  "--human-labels", str(labels)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert err[0].startswith(f"error: {labels}") and message.split(": ", 1)[1] in err[0]


def pandalm_files(published_data, folder, labelled, seed=0):
    """PandaLM's 999 pairs as a judgment file of the released GPT-3.5 verdicts (one order, written to both;
    "garbage" a failed record) and the majority of the three annotators as human labels: all, and a sample."""
    samples = pandalm.read(published_data("pandalm", "testset-v1.json"))
    outputs = pandalm.read_outputs(published_data("pandalm", "gpt-3.5-turbo-testset-v1.json"))
    verdicts = {o.idx: o.verdict for o in outputs}
    winner = {"1": "model_1", "2": "model_2", "tie": "tie", None: None}
    judged, labels = [], []
    for s in samples:
        w = winner[verdicts[s.extra["idx"]]]
        judged.append(_pair(s.extra["idx"], w, w, "response1", "response2", **({} if w else {"error": "garbage"})))
        labels.append({"question_id": s.extra["idx"], "model_1": "response1", "model_2": "response2",
                       "winner": winner[s.label]})
    return (_write(folder / "gpt-3.5_pair.jsonl", judged), _write(folder / "human_all.jsonl", labels),
            _write(folder / "human_sample.jsonl", random.Random(seed).sample(labels, labelled)))


def test_pandalm_gpt35_corrected_by_100_labels(published_data, tmp_path, capsys):
    judged, every, sample = pandalm_files(published_data, tmp_path, 100)
    title = "pairwise: win rate (ties half) corrected by human labels"
    for labels in (every, sample):
        assert show_result.main(["--input-file", str(judged), "--mode", "pairwise-all", "--human-labels",
                                 str(labels), "--ratings", "--bootstrap", "0", "--format", "json"]) == 0
        tables = _tables(capsys)
        one = {r["model"]: r for r in tables[title]["rows"]}["response1"]
        ratings = {r["model"]: r for r in tables["pairwise: Bradley-Terry ratings (Elo scale) corrected by human "
                                                 "labels"]["rows"]}
        if labels == every:  # majority votes 422 response 1, 105 ties, 472 response 2: (422 + 52.5) / 999
            assert one["human"] == pytest.approx(474.5 / 999) and one["ppi"] == pytest.approx(474.5 / 999)
            assert one["lambda"] == 0.0 and one["labelled"] == 999
            assert ratings["response1"]["ppi"] == pytest.approx(ratings["response1"]["human"])
            continue
        assert one["judge"] == pytest.approx((460 + 19) / 974)  # GPT-3.5: 460 wins, 38 ties, 25 garbage left out
        assert (one["human"], one["ppi"]) == pytest.approx((0.47, 0.4494), abs=5e-4)
        assert one["ppi_lower"] <= 474.5 / 999 <= one["ppi_upper"]
        assert one["ppi_upper"] - one["ppi_lower"] < one["human_upper"] - one["human_lower"]
        assert one["effective_labels"] == pytest.approx(136.5, abs=0.1)
        assert ratings["response1"]["ppi"] + ratings["response2"]["ppi"] == pytest.approx(2000)
        assert ratings["response1"]["ppi"] < ratings["response1"]["judge"]
