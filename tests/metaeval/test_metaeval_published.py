"""Scoring the judges' released predictions reproduces the numbers published with them."""
import json

import pytest

from llm_judge.cli import eval_judge
from llm_judge.metaeval.loaders import load_set
from llm_judge.metaeval.metrics import interannotator, llmbar_statistics, relabel, score, score_groups
from llm_judge.metaeval.predictions import PredSpec, load_predictions

LLMBAR_SUBSETS = ["Natural", "Adversarial/Neighbor", "Adversarial/GPTInst"]


def _pandalm(published_data, judge_file):
    labelled = load_set(published_data("pandalm", "testset-v1.json"))
    return labelled, load_predictions(PredSpec.parse(str(published_data("pandalm", judge_file))), labelled)


def test_pandalm_test_set_loads_with_majority_labels(published_data):
    labelled = load_set(published_data("pandalm", "testset-v1.json"))
    assert labelled.format == "pandalm" and len(labelled.items) == 999
    labels = [p.label for p in labelled.items]
    assert (labels.count("2"), labels.count("1"), labels.count("tie")) == (472, 422, 105)  # PROVENANCE.md
    first = labelled.items[0]
    assert first.id == "0" and first.votes == ("2", "2", "2") and (first.model_1, first.model_2) == ("bloom-7b", "llama-7b")
    assert first.turns[0].startswith("The sentence you are given might be too wordy") and "\n\nIf you have any" in first.turns[0]
    assert labelled.by_id()["157"].answers_1 == ("True",)  # stored as a JSON boolean in the release


@pytest.mark.parametrize("judge_file, published", [
    # PandaLM's data/compute_metrics.py states these for the two released prediction files
    ("gpt-3.5-turbo-testset-v1.json", (0.7107, 0.5879, 0.5736, 0.5755)),
    ("pandalm-7b-testset-v1.json", (0.6677, 0.5738, 0.5750, 0.5743)),
])
def test_pandalm_released_predictions_reproduce_published_metrics(published_data, judge_file, published):
    labelled, preds = _pandalm(published_data, judge_file)
    assert preds.orders == 1 and len(preds.verdicts) == 999
    m = score(labelled.items, preds, invalid_as_tie=True)  # PandaLM's scorer counts "garbage" as a tie
    assert (round(m.agreement, 4), round(m.precision, 4), round(m.recall, 4), round(m.f1, 4)) == published


def test_pandalm_gpt35_counts_by_hand(published_data):
    labelled, preds = _pandalm(published_data, "gpt-3.5-turbo-testset-v1.json")
    strict = score(labelled.items, preds)
    assert strict.no_verdict == 25  # the 25 "garbage" outputs
    assert strict.agreement == 697 / 999  # 332 + 360 + 5 on the diagonal
    tie = score(labelled.items, preds, invalid_as_tie=True)
    assert tie.agreement == 710 / 999 and tie.no_verdict == 25  # + 13 garbage outputs on tie-labelled pairs
    # without ties (FastChat): drop pairs labelled tie or judged tie; 332 + 360 right of 332+71+6+86+360+6
    assert (strict.n_no_tie, strict.agreement_no_tie) == (861, 692 / 861)


def test_pandalm_7b_precision_recall_by_hand(published_data):
    labelled, preds = _pandalm(published_data, "pandalm-7b-testset-v1.json")
    m = score(labelled.items, preds)
    # confusion (label -> verdict): 1: 298/84/40, 2: 100/337/35, tie: 35/38/32
    p = [298 / 433, 337 / 459, 32 / 107]
    r = [298 / 422, 337 / 472, 32 / 105]
    assert m.precision == pytest.approx(sum(p) / 3, abs=1e-15)
    assert m.recall == pytest.approx(sum(r) / 3, abs=1e-15)
    assert m.f1 == pytest.approx(sum(2 * a * b / (a + b) for a, b in zip(p, r)) / 3, abs=1e-15)
    assert m.acc_2 is None and m.consistency is None  # one order only


def test_pandalm_judge_vs_judge_and_annotators(published_data):
    labelled, gpt = _pandalm(published_data, "gpt-3.5-turbo-testset-v1.json")
    _, panda = _pandalm(published_data, "pandalm-7b-testset-v1.json")
    against_gpt = relabel(labelled.items, gpt)
    assert len(against_gpt) == 974  # the 25 garbage outputs give no reference verdict
    m = score(against_gpt, panda)
    same = sum(panda.verdicts[p.id][0] == gpt.verdicts[p.id][0] for p in labelled.items if gpt.verdicts[p.id][0])
    assert m.agreement == same / 974
    humans = interannotator(labelled.items)
    assert (humans.pairs, humans.vote_pairs) == (999, 2997)
    # each annotator vote separately (FastChat's way) vs the majority label
    votes = score(labelled.items, panda)
    hits = sum(v == panda.verdicts[p.id][0] for p in labelled.items for v in p.votes)
    assert (votes.votes, votes.vote_agreement) == (2997, hits / 2997)


@pytest.mark.parametrize("subset", LLMBAR_SUBSETS)
def test_llmbar_statistics_json_reproduced_exactly(published_data, subset):
    folder = published_data("llmbar", *subset.split("/"))
    result = folder / "evaluators" / "GPT-4" / "CoT" / "result.json"
    labelled = load_set(folder / "dataset.json")
    preds = load_predictions(PredSpec.parse(str(result)), labelled)
    assert preds.name == "GPT-4/CoT" and preds.orders == 2 and len(preds.verdicts) == len(labelled.items)
    published = json.loads((result.parent / "statistics.json").read_text())
    assert llmbar_statistics(labelled.items, preds) == published  # every string and every float, bit for bit
    m = score(labelled.items, preds)
    n = len(labelled.items)
    c1, c2 = (int(published[k].split(" / ")[0]) for k in ("correct_False", "correct_True"))
    assert (m.acc_1, m.acc_2) == (c1 / n, c2 / n)
    assert m.acc_both == int(published["correct_both"].split(" / ")[0]) / n
    assert m.consistency == int(published["equal"].split(" / ")[0]) / n
    # where the orders disagree, the judge leaned to one position: the three shares add up
    assert m.consistency + m.prefer_first + m.prefer_second == pytest.approx(1.0)


def test_llmbar_stats_command_prints_statistics_json(published_data, capsys):
    result = published_data("llmbar", "Adversarial", "Neighbor", "evaluators", "GPT-4", "CoT", "result.json")
    assert eval_judge.main(["llmbar-stats", str(result)]) == 0
    printed = capsys.readouterr().out
    assert printed.rstrip("\n") == (result.parent / "statistics.json").read_text().rstrip("\n")


def test_llmbar_folder_scores_per_subset(published_data, capsys):
    root = published_data("llmbar")
    labelled = load_set(root)
    assert labelled.subsets() == ["Adversarial/GPTInst", "Adversarial/Neighbor", "Natural", "Processed/FairEval",
                                  "Processed/LLMEval2"]
    assert [p.label for p in labelled.items if p.subset == "Natural"].count("1") == 42  # PROVENANCE: 1:42 / 2:58
    pattern = f"gpt-4-cot={root}/**/evaluators/GPT-4/CoT/result.json"
    assert eval_judge.main(["score", str(root), "--pred", pattern, "--format", "json"]) == 0
    tables = json.loads(capsys.readouterr().out)
    rows = {r["group"]: r for r in tables[1]["rows"]}  # the both-orders table
    assert set(rows) == {"Adversarial/GPTInst", "Adversarial/Neighbor", "Natural", "overall"}  # unjudged subsets left out
    assert rows["Natural"]["average %"] == pytest.approx(94.5)
    assert rows["Adversarial/Neighbor"]["average %"] == pytest.approx(75.0)
    assert rows["overall"]["n"] == 326
    assert rows["overall"]["order 1 %"] == pytest.approx((94 + 101 + 75) / 326 * 100)
    groups = score_groups(labelled.items, load_predictions(PredSpec.parse(pattern), labelled))
    assert [g for g, _ in groups][-1] == "overall" and groups[-1][1].pairs == 592


def test_score_command_pandalm_table_and_csv(published_data, capsys):
    test = str(published_data("pandalm", "testset-v1.json"))
    gpt = f"gpt-3.5={published_data('pandalm', 'gpt-3.5-turbo-testset-v1.json')}"
    panda = f"pandalm-7b={published_data('pandalm', 'pandalm-7b-testset-v1.json')}"
    assert eval_judge.main(["score", test, "--pred", gpt, "--pred", panda, "--invalid-as", "tie"]) == 0
    out = capsys.readouterr().out
    assert "71.07" in out and "57.55" in out and "66.77" in out and "57.43" in out
    assert eval_judge.main(["score", test, "--pred", gpt, "--pred", panda, "--against", "gpt-3.5", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("table,judge,group,n,agree %")
    assert lines[1].split(",")[1:4] == ["pandalm-7b", "overall", "974"]
