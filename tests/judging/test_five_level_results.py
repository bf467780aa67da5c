"""Five-level verdicts counted: both orders swapped back, strong verdicts weighted (--strong-weight), by hand
on a tiny set, and end to end: a scripted judge of the five-level family (llm_judge.judge), then show_result."""
import json
import math

import pytest

import llm_judge
from llm_judge.cli import gen_judgment, show_result
from llm_judge.errors import InputError
from llm_judge.jsonl import read_jsonl
from llm_judge.records import PairJudgment
from llm_judge.results.aggregate import pair_tallies, pairwise_tallies, weighted_games
from llm_judge.results.ratings import rate


def five(g1: str, g2: str, qid: int = 1) -> PairJudgment:
    """A five-level record of a (model_1) vs b (model_2): g1 shows a as A, g2 shows b as A."""
    meaning = {"g1": {"A": "model_1", "B": "model_2"}, "g2": {"A": "model_2", "B": "model_1"}}
    winner = {game: "tie" if "=" in v else meaning[game][v[0]] for game, v in (("g1", g1), ("g2", g2))}
    return PairJudgment(question_id=qid, model_1="a", model_2="b", g1_winner=winner["g1"], g2_winner=winner["g2"],
                        g1_verdict=g1, g2_verdict=g2)


# r1: a strongly in game 1, a plainly in game 2 (B is a there); r2: a tie, then b strongly (A is b in game 2);
# r3: a FastChat record whose orders disagree: one tie, whatever the weight.
TINY = [five("A>>B", "B>A", 1), five("A=B", "A>>B", 2),
        PairJudgment(question_id=3, model_1="a", model_2="b", g1_winner="model_1", g2_winner="model_2")]


def test_both_orders_are_swapped_back_and_strong_verdicts_weighted():
    assert weighted_games(TINY[0], strong_weight=3) == [("model_1", 3), ("model_1", 1)]
    assert weighted_games(TINY[1], strong_weight=3) == [("tie", 1), ("model_2", 3)]
    assert weighted_games(TINY[2], strong_weight=3) == [("tie", 1)]
    assert weighted_games(five("B>>A", "A>>B"), strong_weight=2) == [("model_2", 2), ("model_2", 2)]


@pytest.mark.parametrize("weight,win,loss,tie", [(3, 4, 3, 2), (1, 2, 1, 2), (5, 6, 5, 2)])
def test_win_rates_by_hand(weight, win, loss, tie):
    t = pairwise_tallies(TINY, strong_weight=weight)["a"]
    assert (t.win, t.loss, t.tie) == (win, loss, tie)
    assert t.rate("win_rate_adjusted") == pytest.approx((win + tie / 2) / (win + loss + tie))
    assert pair_tallies(TINY, strong_weight=weight)[("a", "b")].n == win + loss + tie


def test_the_weight_changes_the_adjusted_win_rate():
    # weight 3: a wins 4 of 9 games, 2 ties: (4 + 1) / 9; weight 1: 2 of 5, 2 ties: (2 + 1) / 5
    assert pairwise_tallies(TINY, strong_weight=3)["a"].rate("win_rate_adjusted") == pytest.approx(5 / 9)
    assert pairwise_tallies(TINY, strong_weight=1)["a"].rate("win_rate_adjusted") == pytest.approx(3 / 5)


@pytest.mark.parametrize("weight,score,games", [(3, 5.0, 9), (1, 3.0, 5)])
def test_ratings_by_hand(weight, score, games):
    # two models: the rating gap is 400 log10(S / (n - S)), a tie half a win (x50 so the ridge term is negligible)
    rows = {r.model: r for r in rate(TINY * 50, bootstrap=0, strong_weight=weight).rows}
    assert rows["a"].rating - rows["b"].rating == pytest.approx(400 * math.log10(score / (games - score)), abs=0.2)
    assert rows["a"].games == 50 * games
    assert "a strong one as %d games" % weight in rate(TINY, bootstrap=0, strong_weight=weight).describe()


def test_fastchat_files_do_not_change_with_the_weight():
    plain = [PairJudgment(question_id=i, model_1="a", model_2="b", g1_winner=w, g2_winner=w)
             for i, w in enumerate(["model_1", "model_1", "model_2", "tie"])]
    assert pairwise_tallies(plain, strong_weight=1) == pairwise_tallies(plain, strong_weight=7)
    assert rate(plain, bootstrap=0, strong_weight=1).rows == rate(plain, bootstrap=0, strong_weight=7).rows
    assert rate(plain, bootstrap=0).strong_weight is None


@pytest.fixture
def judged(data_dir, tmp_path):
    """alpha and beta answer the demo bench's first 3 questions; a scripted judge prefers alpha strongly when
    alpha is shown first and plainly otherwise, except on the dinosaur question, where beta is plainly better."""
    for model, text in (("alpha", "ALPHA: a careful, complete answer."), ("beta", "beta: short.")):
        script = tmp_path / f"{model}.jsonl"
        script.write_text(json.dumps({"reply": text}) + "\n", encoding="utf-8")
        assert llm_judge.answer("demo_bench", f"mock:{script}", model_id=model, data_dir=data_dir,
                                question_end=3).written == 3
    alpha_first = r"(?:Assistant A's Reply\|>|### Assistant A:)\nALPHA"
    rules = [{"match": "(?s)dinosaur.*" + alpha_first, "reply": "Both fine; B is more vivid.\n[[B>A]]"},
             {"match": "dinosaur", "reply": "A is more vivid.\n[[A>B]]"},
             {"match": alpha_first, "reply": "B wrote [[B>>A]] in its reply, which proves nothing.\n[[A>>B]]"},
             {"reply": "A is too short.\n[[B>A]]"}]
    judge = tmp_path / "judge.jsonl"
    judge.write_text("".join(json.dumps(r) + "\n" for r in rules), encoding="utf-8")
    run = llm_judge.judge("demo_bench", f"mock:{judge}", "pairwise-all", judge_ids=["scripted"], data_dir=data_dir,
                          judge_family="five-level", model_list=["alpha", "beta"])
    assert (run.exit_code, run.judges[0].written) == (0, 4)
    return data_dir


def test_gen_judgment_and_show_result_end_to_end(judged, capsys):
    path = judged / "demo_bench" / "model_judgment" / "scripted_five-level_pair.jsonl"
    records = read_jsonl(path)
    # questions 1 and 3 have one turn, question 2 two: four records
    assert sorted((r["question_id"], r["turn"]) for r in records) == [(1, 1), (2, 1), (2, 2), (3, 1)]
    by_q = {(r["question_id"], r["turn"]): r for r in records}
    assert [by_q[(2, 2)][k] for k in ("g1_verdict", "g2_verdict", "g1_winner", "g2_winner")] == \
        ["A>>B", "B>A", "model_1", "model_1"]
    assert [by_q[(3, 1)][k] for k in ("g1_verdict", "g2_verdict", "g1_winner", "g2_winner")] == \
        ["B>A", "A>B", "model_2", "model_2"]
    assert by_q[(1, 1)]["judge"] == ["scripted", "pair-five-level-v1"]
    assert by_q[(2, 2)]["judge"] == ["scripted", "pair-five-level-v1-multi-turn"]

    def per_model(*extra: str) -> dict:
        capsys.readouterr()
        assert show_result.main(["--data-dir", str(judged), "--judge-model", "scripted", "--judge-family",
                                 "five-level", "--mode", "pairwise-all", "--format", "json", *extra]) == 0
        table = json.loads(capsys.readouterr().out)[0]
        assert "a strong one (A>>B) as" in table["note"]
        return {row["model"]: row for row in table["rows"]}

    # alpha: 3 records x (strong + plain) = 3 x (W + 1) wins; beta: the dinosaur record, 2 plain wins
    assert (per_model()["alpha"]["win"], per_model()["alpha"]["loss"]) == (12, 2)
    alpha = per_model("--strong-weight", "1")["alpha"]
    assert (alpha["win"], alpha["loss"], alpha["win_rate"]) == (6, 2, 0.75)
    with pytest.raises(SystemExit):
        show_result.main(["--data-dir", str(judged), "--strong-weight", "0"])


def test_five_level_judgments_have_their_own_file(judged):
    # never mixed into FastChat's file of the same judge: show_result without the family finds none, and names
    # the five-level file that is there
    assert not (judged / "demo_bench" / "model_judgment" / "scripted_pair.jsonl").exists()
    with pytest.raises(InputError, match="scripted_pair.jsonl.*scripted_five-level_pair.jsonl"):
        show_result.main(["--data-dir", str(judged), "--judge-model", "scripted", "--mode", "pairwise-all"])


@pytest.mark.model
def test_distribution_judging_reads_the_five_labels_on_the_default_model(data_dir, default_model_path):
    import torch

    bench = data_dir / "demo_bench"
    (bench / "model_answer").mkdir()
    for model, text in (("alpha", "Hi! Come to our barbecue on Saturday at 5. Bring only yourselves. Hope to see you!"),
                        ("beta", "barbecue.")):
        row = {"question_id": 1, "answer_id": model, "model_id": model, "tstamp": 0.0,
               "choices": [{"index": 0, "turns": [text]}]}
        (bench / "model_answer" / f"{model}.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # two threads spin against the other jobs of a shared 2-core machine
    try:
        assert gen_judgment.main(["--data-dir", str(data_dir), "--judge-model", "default", "--judge-family",
                                  "five-level", "--mode", "pairwise-all", "--model-list", "alpha", "beta",
                                  "--judge-method", "distribution"]) == 0
    finally:
        torch.set_num_threads(threads)
    [rec] = read_jsonl(bench / "model_judgment" / "smollm2-135m-instruct_five-level_pair.jsonl")
    assert "error" not in rec and rec["judge"][1] == "pair-five-level-v1"
    for game in ("g1", "g2"):
        dist = rec[f"{game}_distribution"]
        assert sorted(dist) == sorted(["A>>B", "A>B", "A=B", "B>A", "B>>A"])
        assert sum(dist.values()) == pytest.approx(1.0)
        assert rec[f"{game}_verdict"] == max(dist, key=dist.get)  # the greedy verdict is the most likely label
        probs = rec[f"{game}_verdict_probs"]
        assert probs["A"] == pytest.approx(dist["A>>B"] + dist["A>B"])
        assert probs["tie"] == pytest.approx(dist["A=B"])
    assert sum(rec["win_probs"].values()) == pytest.approx(1.0)
