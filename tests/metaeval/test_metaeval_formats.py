"""Sets and prediction files in the published formats that the published data lacks (Auto-J pairwise test set,
MT-bench human judgments, JudgeLM val), our own JSONL, FastChat judgment files, and bad input.

The files are written here in each project's documented layout; the expected numbers are worked out by
hand in the comments, following each project's own scoring rules.
"""
import json

import pytest

from llm_judge import cli
from llm_judge.cli import eval_judge
from llm_judge.errors import ConfigError, InputError
from llm_judge.metaeval.loaders import detect_format, load_set
from llm_judge.metaeval.metrics import score, score_groups
from llm_judge.metaeval.predictions import PredSpec, load_predictions


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


# -- Auto-J ----------------------------------------------------------------------------------------

AUTOJ_ROWS = [  # label: 0 = response 1 better, 1 = response 2 better, 2 = tie
    {"scenario": "post_summarization", "label": 0, "prompt": "Summarise: a", "response 1": "A", "response 2": "B"},
    {"scenario": "code_generation", "label": 1, "prompt": "Write f", "response 1": "x", "response 2": "def f(): pass"},
    {"scenario": "code_generation", "label": 2, "prompt": "Write g", "response 1": "g1", "response 2": "g2"},
    {"scenario": "chitchat", "label": 0, "prompt": "Hi", "response 1": "Hello!", "response 2": "..."},
    {"scenario": "post_summarization", "label": 1, "prompt": "Summarise: b", "response 1": "C", "response 2": "D"},
]


@pytest.fixture
def autoj(tmp_path):
    test = write_jsonl(tmp_path / "testdata_pairwise.jsonl", AUTOJ_ROWS)
    pred = write_jsonl(tmp_path / "pred.jsonl", [{"output": o} for o in (0, 1, 2, 1, 0)])
    # the run on swapped pairs, in shown order: 0 = the first shown (response 2) is better
    exchange = write_jsonl(tmp_path / "pred_exchange.jsonl", [{"output": o} for o in (1, 0, 2, 1, 1)])
    return test, pred, exchange


def test_autoj_agreement_and_consistency(autoj):
    test, pred, exchange = autoj
    labelled = load_set(test)
    assert labelled.format == "autoj" and [p.label for p in labelled.items] == ["1", "2", "tie", "1", "2"]
    assert [p.subset for p in labelled.items][:2] == ["Summarization", "Code"]
    assert labelled.items[1].answers_2 == ("def f(): pass",) and labelled.items[0].category == "post_summarization"
    preds = load_predictions(PredSpec.parse(f"autoj={pred},{exchange}"), labelled)
    # set terms: order 1 = 1, 2, tie, 2, 1; order 2 (flipped back) = 1, 2, tie, 1, 1
    assert [preds.verdicts[str(i)] for i in range(5)] == [("1", "1"), ("2", "2"), ("tie", "tie"), ("2", "1"), ("1", "1")]
    groups = dict(score_groups(labelled.items, preds))
    overall = groups["overall"]
    assert overall.acc_both == 3 / 5  # Auto-J's pairwise agreement: right in both orders (rows 0, 1, 2)
    assert overall.consistency == 4 / 5  # Auto-J's consistency: same verdict in both orders (all but row 3)
    assert overall.acc_1 == 3 / 5  # Auto-J's "single" agreement
    assert (overall.prefer_first, overall.prefer_second) == (0, 1 / 5)  # row 3 chose the second shown both times
    assert overall.agreement == 3 / 5  # final verdicts 1, 2, tie, tie, 1
    assert (groups["Summarization"].acc_both, groups["Summarization"].consistency) == (1 / 2, 1.0)
    assert (groups["Code"].acc_both, groups["General Communication"].acc_both) == (1.0, 0.0)


def test_autoj_prediction_file_must_align_with_the_test_file(autoj, tmp_path):
    test, pred, _ = autoj
    short = write_jsonl(tmp_path / "short.jsonl", [{"output": 0}] * 4)
    with pytest.raises(InputError, match="has 4 predictions but the set has 5 pairs"):
        load_predictions(PredSpec.parse(str(short)), load_set(test))
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"output": o} for o in (0, 1, 3, 1, 0)])
    with pytest.raises(InputError, match=r"bad.jsonl:3: field 'output': must be one of 0, 1, 2, null, got 3"):
        load_predictions(PredSpec.parse(str(bad)), load_set(test))


# -- MT-bench human judgments ----------------------------------------------------------------------

def conv(*turns):
    return [{"role": role, "content": text} for pair in turns for role, text in zip(("user", "assistant"), pair)]


def vote(qid, a, b, winner, judge, turn=1):
    replies = {"alpaca": ("a1", "a2"), "vicuna": ("v1", "v2")}
    questions = (f"q{qid}-1", f"q{qid}-2")
    return {"question_id": qid, "model_a": a, "model_b": b, "winner": winner, "judge": judge, "turn": turn,
            "conversation_a": conv(*list(zip(questions, replies[a]))[:turn]),
            "conversation_b": conv(*list(zip(questions, replies[b]))[:turn])}


MTBENCH_VOTES = [
    vote(81, "vicuna", "alpaca", "model_a", "expert_1"),  # vicuna better; the pair is (alpaca, vicuna): "2"
    vote(81, "alpaca", "vicuna", "tie", "expert_2"),
    vote(81, "alpaca", "vicuna", "model_b", "author_0"),  # not an expert: left out by default
    vote(81, "vicuna", "alpaca", "tie (bothbad)", "expert_1", turn=2),
    vote(82, "alpaca", "vicuna", "model_a", "expert_3"),
    vote(81, "vicuna", "alpaca", "model_a", ["gpt-4", "pair-v2"]),  # a model's vote: a prediction, not a label
]


@pytest.fixture
def mtbench(tmp_path):
    human = tmp_path / "human_judgments.json"
    human.write_text(json.dumps(MTBENCH_VOTES), encoding="utf-8")  # a JSON array, as compute_agreement reads
    judged = write_jsonl(tmp_path / "gpt-4_pair.jsonl", [
        # game 1 shows model_1 first; here the judge's model_1 is vicuna, the pair's response 2
        {"question_id": 81, "model_1": "vicuna", "model_2": "alpaca", "g1_winner": "model_1", "g2_winner": "model_1",
         "judge": ["gpt-4", "pair-v2"], "turn": 1},
        {"question_id": 81, "model_1": "alpaca", "model_2": "vicuna", "g1_winner": "model_1", "g2_winner": "model_2",
         "judge": ["gpt-4", "pair-v2-multi-turn"], "turn": 2},
        {"question_id": 82, "model_1": "alpaca", "model_2": "vicuna", "g1_winner": None, "g2_winner": None,
         "judge": ["gpt-4", "pair-v2"], "turn": 1, "error": "g1: timeout"},
        {"question_id": 83, "model_1": "alpaca", "model_2": "vicuna", "g1_winner": "tie", "g2_winner": "tie",
         "judge": ["gpt-4", "pair-v2"], "turn": 1},
    ])
    return human, judged


def test_mtbench_human_votes_grouped_like_compute_agreement(mtbench):
    human, _ = mtbench
    labelled = load_set(human)
    pairs = labelled.by_id()
    assert labelled.format == "mtbench-human" and sorted(pairs) == [
        "81/alpaca/vicuna/turn1", "81/alpaca/vicuna/turn2", "82/alpaca/vicuna/turn1"]
    t1, t2 = pairs["81/alpaca/vicuna/turn1"], pairs["81/alpaca/vicuna/turn2"]
    assert t1.votes == ("2", "tie") and t1.label is None  # two experts disagree: no majority
    assert t1.answers_1 == ("a1",) and t1.answers_2 == ("v1",)  # oriented as (alpaca, vicuna)
    assert t2.turns == ("q81-1", "q81-2") and t2.answers_2 == ("v1", "v2") and t2.label == "tie"
    with_authors = load_set(human, annotators=("expert", "author")).by_id()
    assert with_authors["81/alpaca/vicuna/turn1"].votes == ("2", "tie", "2")
    assert with_authors["81/alpaca/vicuna/turn1"].label == "2"


def test_fastchat_judgments_scored_against_mtbench_votes(mtbench):
    human, judged = mtbench
    labelled = load_set(human)
    preds = load_predictions(PredSpec.parse(str(judged)), labelled)
    assert preds.name == "gpt-4_pair" and preds.unmatched == 1  # question 83 has no human votes
    assert preds.verdicts["81/alpaca/vicuna/turn1"] == ("2", "2")
    assert preds.verdicts["81/alpaca/vicuna/turn2"] == ("1", "2")  # each order picked the response shown first
    assert preds.verdicts["82/alpaca/vicuna/turn1"] == (None, None)  # a failed judgment
    m = score(labelled.items, preds)
    # FastChat: the judge's final verdict (2, tie, none) against each expert vote (2 tie | tie | 1)
    assert (m.votes, m.vote_agreement) == (4, 2 / 4)
    assert (m.votes_no_tie, m.vote_agreement_no_tie) == (2, 1 / 2)  # without ties: "2" vs "2", none vs "1"
    # against the majority labels (two pairs have one): tie == tie, none != "1"
    assert (m.n, m.agreement, m.no_verdict) == (2, 1 / 2, 2)
    assert m.prefer_first == 1 / 2  # turn 2 favoured the response shown first in both orders
    votes = load_predictions(PredSpec.parse(str(human)), labelled, "mtbench-votes")
    assert votes.verdicts == {"81/alpaca/vicuna/turn1": ("2",)}
    assert score(labelled.items, votes).vote_agreement == 1 / 2


def test_mtbench_cli_per_turn_and_votes_table(mtbench, capsys):
    human, judged = mtbench
    assert eval_judge.main(["score", str(human), "--pred", f"gpt-4={judged}", "--format", "json",
                            "--interannotator"]) == 0
    tables = {t["title"]: t["rows"] for t in json.loads(capsys.readouterr().out)}
    votes = tables["mtbench-human vs human labels: every annotator vote (FastChat compute_agreement)"]
    assert {r["group"]: r["votes"] for r in votes} == {"turn 1": 3, "turn 2": 1, "overall": 4}
    humans = tables["mtbench-human: annotator vs annotator"]
    assert humans == [{"group": "turn 1", "pairs": 1, "vote pairs": 1, "agree %": 0.0, "vote pairs no-tie": 0,
                       "agree no-tie %": None},
                      {"group": "overall", "pairs": 1, "vote pairs": 1, "agree %": 0.0, "vote pairs no-tie": 0,
                       "agree no-tie %": None}]


# -- JudgeLM ---------------------------------------------------------------------------------------

def test_judgelm_val_labels_from_gpt4_scores(tmp_path):
    val = write_jsonl(tmp_path / "judgelm_val_5k_gpt4.jsonl", [
        {"question_id": i, "question_body": f"q{i}", "answer1_body": "x", "answer2_body": "y",
         "answer1_model_id": "alpaca", "answer2_model_id": "vicuna", "text": text}
        for i, text in enumerate(["8 6\nAssistant 1 is better.", "5, 9\nAssistant 2.", "7 7\nEqual.", "I cannot rate."])])
    seq = write_jsonl(tmp_path / "seq.jsonl", [{"question_id": i, "pred_text": t} for i, t in
                                               enumerate(["9 3\n", "4 8\n", "6 6\n", "1 2\n"])])
    rev = write_jsonl(tmp_path / "rev.jsonl", [{"question_id": i, "pred_text": t} for i, t in
                                               enumerate(["3 9\n", "8 4\n", "6 5\n", "x"])])
    labelled = load_set(val)
    assert [p.label for p in labelled.items] == ["1", "2", "tie", None]  # unparseable: unlabelled, as JudgeLM drops it
    assert labelled.items[0].model_2 == "vicuna"
    preds = load_predictions(PredSpec.parse(f"judgelm-7b={seq},{rev}"), labelled)
    # reversed run: "3 9" scores response 2 (shown first) 3 and response 1 nine: response 1 wins
    assert [preds.verdicts[str(i)] for i in range(4)] == [("1", "1"), ("2", "2"), ("tie", "2"), ("2", None)]
    m = score(labelled.items, preds)
    assert (m.n, m.acc_1, m.acc_2, m.consistency) == (3, 1.0, 2 / 3, 2 / 3)
    assert m.prefer_first == 1 / 3  # pair 2: a tie shown one way, the first shown the other way
    # final verdicts 1, 2 and tie (pair 2's orders differ) against labels 1, 2, tie: all right
    assert (m.agreement, m.precision, m.recall, m.f1, m.kappa) == (1.0, 1.0, 1.0, 1.0, 1.0)
    m_order1 = score(labelled.items, load_predictions(PredSpec.parse(str(seq)), labelled))
    assert (m_order1.orders, m_order1.agreement, m_order1.consistency) == (1, 1.0, None)


# -- our JSONL and FastChat files ------------------------------------------------------------------

def test_our_jsonl_set_and_predictions(tmp_path):
    rows = [
        {"id": "a", "question": "Say hi", "response_1": "hi", "response_2": "bye", "label": "1", "subset": "greet"},
        {"id": "b", "question": ["Add 2+2", "Now double it"], "response_1": ["4", "8"], "response_2": ["5", "10"],
         "votes": [1, 1, "tie"], "reference": ["4", "8"], "category": "math"},
        {"id": 3, "question": "?", "response_1": "", "response_2": "x"},
    ]
    labelled = load_set(write_jsonl(tmp_path / "mine.jsonl", rows))
    a, b, c = labelled.items
    assert labelled.format == "jsonl" and labelled.name == "mine"
    assert (a.label, b.label, b.votes, b.turn, b.reference) == ("1", "1", ("1", "1", "tie"), 2, ("4", "8"))
    assert (c.id, c.label, c.answers_1) == ("3", None, ("",))
    preds_file = write_jsonl(tmp_path / "p.jsonl", [{"id": "a", "verdicts": ["1", "2"]},
                                                    {"id": "b", "verdicts": ["1", "1"]}])
    m = score(labelled.items, load_predictions(PredSpec.parse(str(preds_file)), labelled))
    assert (m.pairs, m.n, m.acc_1, m.acc_2, m.consistency, m.agreement) == (2, 2, 1.0, 1 / 2, 1 / 2, 1 / 2)


@pytest.mark.parametrize("row, message", [
    ({"id": "a", "question": "q", "response_1": "x", "response_2": "y", "label": 0},
     r"mine.jsonl:1: field 'label': must be one of \"1\", \"2\", \"tie\", 1, 2, got 0"),
    ({"id": "a", "question": "q", "response_1": ["x", "y"], "response_2": "y", "label": "1"},
     r"mine.jsonl:1: field 'response_1': question, response_1 and response_2 must have the same number of turns"),
    ({"question": "q", "response_1": "x", "response_2": "y"}, r"mine.jsonl:1: field 'id': is missing"),
])
def test_bad_rows_name_file_line_and_field(tmp_path, row, message):
    with pytest.raises(InputError, match=message):
        load_set(write_jsonl(tmp_path / "mine.jsonl", [row]), "jsonl")


def test_bad_llmbar_label_in_json_array_names_the_item(tmp_path):
    rows = [{"input": "q", "output_1": "a", "output_2": "b", "label": 1},
            {"input": "q2", "output_1": "a", "output_2": "b", "label": 3}]
    path = tmp_path / "dataset.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    with pytest.raises(InputError, match=r"dataset.json\[1\]: field 'label': must be one of 1, 2, got 3"):
        load_set(path)


def test_cli_errors_are_one_line_and_exit_2(tmp_path, capsys):
    unknown = write_jsonl(tmp_path / "what.jsonl", [{"foo": 1}])
    assert cli.run(eval_judge.main, ["score", str(unknown), "--pred", str(unknown)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "cannot tell which labelled-set format" in err and len(err.splitlines()) == 1
    sset = write_jsonl(tmp_path / "s.jsonl", [{"id": "a", "question": "q", "response_1": "x", "response_2": "y",
                                                "label": "1", "subset": "s1"}])
    assert cli.run(eval_judge.main, ["score", str(sset)]) == 2
    assert "nothing to score" in capsys.readouterr().err
    assert cli.run(eval_judge.main, ["score", str(sset), "--subset", "nope", "--interannotator"]) == 2
    assert "no subset nope" in capsys.readouterr().err
    assert cli.run(eval_judge.main, ["score", str(sset), "--pred", str(tmp_path / "missing*.jsonl")]) == 2
    assert "matches no files" in capsys.readouterr().err
    with pytest.raises(ConfigError):
        detect_format(unknown)
