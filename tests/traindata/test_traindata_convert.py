"""Converters on the published files and on small samples of the formats not shipped there."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from llm_judge.bench import load_answer_file
from llm_judge.errors import ConfigError, InputError
from llm_judge.traindata.convert import SourceSpec, read_source


def convert(spec: str):
    notes: Counter = Counter()
    return read_source(SourceSpec.parse(spec), notes), notes


def test_autoj_single_real(published_data):
    path = published_data("autoj", "training", "single_traindata.jsonl")
    recs, _ = convert(f"autoj={path}")
    assert len(recs) == 960
    assert all(not r.pairwise and r.scale == (1.0, 10.0) for r in recs)
    raw = [json.loads(line) for line in path.open(encoding="utf-8")]
    assert Counter(r.score for r in recs) == Counter(float(x["pred_score"]) for x in raw)
    assert Counter(r.scenario for r in recs) == Counter(x["scenario"] for x in raw)
    for rec, row in zip(recs, raw):
        assert rec.instruction in row["usrmsg"] and rec.responses[0] in row["usrmsg"]
        assert row["usrmsg"].index(rec.instruction) < row["usrmsg"].index("[Response]:")
        assert "[[" not in rec.rationale and row["target_output"].startswith(rec.rationale[:50])
        assert not rec.instruction.startswith("[") and "***" not in rec.responses[0][-5:]


def _autoj_pair_row(query: str, r1: str, r2: str, decision: str, gt: int, pred: int, key: str = "usrmsg") -> dict:
    # Auto-J's published pairwise layout (README "Format for pairwise training data").
    usrmsg = ("You are assessing two submitted responses on a given user's query and judging which response "
              "is better or they are tied. Here is the data:\n\n[BEGIN DATA]\n***\n"
              f"[Query]: {query}\n***\n[Response 1]: {r1}\n***\n[Response 2]: {r2}\n***\n[END DATA]\n\n"
              "Here are the instructions to assess and compare the two responses: ...")
    target = (f"1. The key factors to distinguish these two responses:\n- accuracy: Response 1 gives a date, "
              f"Response 2 does not.\n\n2. The final decision:\n\nSo, the final decision is {decision}.")
    return {key: usrmsg, "target_output": target, "gt_label": gt, "pred_label": pred, "scenario": "open_question",
            "source_dataset": "chatbot_arena"}


def test_autoj_pairwise_from_its_published_layout(tmp_path: Path):
    rows = [_autoj_pair_row("When did the Berlin Wall fall?", "In 1989.", "A long time ago.", "Response 1", 0, 0),
            _autoj_pair_row("Name a prime.", "9", "7\n***\nnot a separator for a new part", "Response 2", 2, 1,
                            key="usermsg"),
            _autoj_pair_row("Say hi.", "hi", "hello", "Tie", 2, 2)]
    path = tmp_path / "pairwise_traindata.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    recs, _ = convert(f"autoj={path}")
    assert [r.label for r in recs] == ["A", "B", "tie"]
    assert [r.meta["human_label"] for r in recs] == ["A", "tie", "tie"]
    assert recs[0].instruction == "When did the Berlin Wall fall?" and recs[0].responses == ["In 1989.", "A long time ago."]
    assert recs[1].responses[1] == "7\n***\nnot a separator for a new part"
    assert recs[0].names == ("Response 1", "Response 2")
    assert all("final decision is" not in r.rationale for r in recs)
    assert recs[0].rationale.endswith("2. The final decision:") is False and "Response 1 gives a date" in recs[0].rationale


def test_autoj_bad_row_names_file_line_and_field(tmp_path: Path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"usrmsg": "no data block", "target_output": "x", "pred_score": 3}) + "\n")
    with pytest.raises(InputError, match=r"bad.jsonl:1: field 'usrmsg'"):
        convert(f"autoj={path}")


def test_llmbar_real(published_data):
    recs, _ = convert(f"llmbar={published_data('llmbar')}")
    assert len(recs) == 592
    by_subset = Counter(r.scenario for r in recs)
    assert by_subset == {"Natural": 100, "Adversarial/Neighbor": 134, "Adversarial/GPTInst": 92,
                         "Processed/FairEval": 66, "Processed/LLMEval2": 200}
    natural = [r for r in recs if r.scenario == "Natural"]
    assert Counter(r.label for r in natural) == {"A": 42, "B": 58}  # PROVENANCE: label 1:42 / 2:58
    assert all(r.rationale is None and r.pairwise for r in recs)
    one, _ = convert(f"llmbar={published_data('llmbar', 'Natural', 'dataset.json')}")
    assert [(r.instruction, r.label) for r in one] == [(r.instruction, r.label) for r in natural]


def test_pandalm_real_majority_and_rationales(published_data):
    test_file = published_data("pandalm", "testset-v1.json")
    gpt = published_data("pandalm", "gpt-3.5-turbo-testset-v1.json")
    recs, notes = convert(f"pandalm={test_file}")
    assert len(recs) == 999
    assert Counter(r.label for r in recs) == {"B": 472, "A": 422, "tie": 105}  # PROVENANCE's majority vote
    assert notes['non-text response read as its text (JSON true -> "True")'] == 6
    assert recs[157].responses[0] == "True"
    with_reasons, notes = convert(f"pandalm={test_file},rationales={gpt}")
    predicted = {row["idx"]: row for row in json.loads(gpt.read_text(encoding="utf-8"))}
    verdict = {"1": "A", "2": "B", "tie": "tie"}
    kept = [r for r in with_reasons if r.rationale]
    assert kept and all(verdict.get(str(predicted[r.meta["idx"]]["gpt_result"]).lower()) == r.label for r in kept)
    assert len(kept) + notes["rationale dropped: its verdict differs from the human label"] == sum(
        1 for row in predicted.values() if str(row["gpt_result"]).lower() in verdict and row["gpt_reason"].strip())


def test_mt_bench_format_pair_judgments_joined_with_answers(published_data):
    path = published_data("jp_bench", "model_judgment", "fastchat_era_2023-08", "gpt-4_pair.jsonl")
    recs, _ = convert(f"judgments={path}")
    raw = [json.loads(line) for line in path.open(encoding="utf-8")]
    assert len(recs) == 2 * len(raw) == 480
    # g1 shows model_1 first, g2 model_2 first; the labels follow the winner in each order
    assert Counter(r.label for r in recs) == {"A": 41 + 144, "B": 148 + 48, "tie": 51 + 48}
    answers = {m: load_answer_file(published_data("jp_bench", "model_answer", f"{m}.jsonl"))
               for m in ("rinna-3.6b", "rinna-3.6b-sft-v2", "rinna-3.6b-ppo")}
    for rec, row in zip(recs[::2], raw):
        a1 = answers[row["model_1"]][row["question_id"]].turns[0]
        a2 = answers[row["model_2"]][row["question_id"]].turns[0]
        assert rec.responses == [a1, a2] and rec.meta["game"] == "g1"
        assert a1 in row["g1_user_prompt"] and a2 in row["g1_user_prompt"]
        assert rec.names == ("アシスタントA", "アシスタントB") and "[[" not in (rec.rationale or "")
    agreeing, notes = convert(f"judgments={path},agreeing_only=1")
    assert len(agreeing) == 2 * sum(1 for r in raw if r["g1_winner"] == r["g2_winner"])


def test_judgments_need_their_bench(tmp_path: Path, published_data):
    lone = tmp_path / "gpt-4_pair.jsonl"
    lone.write_text(published_data("jp_bench", "model_judgment", "fastchat_era_2023-08", "gpt-4_pair.jsonl")
                    .read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot tell which bench"):
        convert(f"judgments={lone}")
    recs, _ = convert(f"judgments={lone},bench={published_data('jp_bench')}")
    assert len(recs) == 480


def test_prometheus_eval_set_real(published_data):
    path = published_data("prometheus", "vicuna_eval.json")
    recs, _ = convert(f"prometheus={path}")
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert len(recs) == 320 and all(r.scale == (1.0, 5.0) and r.rubric and r.reference for r in recs)
    for rec, row in zip(recs, raw):
        assert rec.score == sorted(row["gpt4_score"])[1]  # median of three
        assert rec.rationale == row["gpt4_feedback"][row["gpt4_score"].index(int(rec.score))].strip()
        assert rec.instruction in row["instruction"] and not rec.instruction.startswith("###")
        assert rec.rubric.startswith("[") and "Score 5:" in rec.rubric


def test_prometheus_feedback_collection_layout(tmp_path: Path):
    row = {"orig_instruction": "Explain photosynthesis to a child.", "orig_response": "Plants eat sunlight.",
           "orig_reference_answer": "Plants use sunlight, water and air to make food.",
           "orig_criteria": "Is the explanation accurate and age-appropriate?",
           **{f"orig_score{i}_description": f"level {i}" for i in range(1, 6)},
           "orig_feedback": "Simple but imprecise.", "orig_score": "3",
           "instruction": "###Task Description: ...", "output": "Feedback: Simple but imprecise. [RESULT] 3"}
    path = tmp_path / "new_feedback_collection.json"
    path.write_text(json.dumps([row, {**row, "orig_score": 7}]), encoding="utf-8")
    with pytest.raises(InputError, match=r"new_feedback_collection.json\[1\]: field 'orig_score': must be from 1 to 5"):
        convert(f"prometheus={path}")
    path.write_text(json.dumps([row]), encoding="utf-8")
    (rec,), _ = convert(f"prometheus={path}")
    assert (rec.score, rec.scale, rec.rationale) == (3.0, (1.0, 5.0), "Simple but imprecise.")
    assert rec.rubric.splitlines() == ["[Is the explanation accurate and age-appropriate?]"] + [
        f"Score {i}: level {i}" for i in range(1, 6)]


def test_judgelm_layout_with_and_without_reference(tmp_path: Path):
    base = {"question_id": 0, "question_body": "\nName a primary colour.", "answer1_body": "Green",
            "answer2_body": "Red", "answer1_model_id": "m1", "answer2_model_id": "m2",
            "text": "6 8\nAssistant 1 names a secondary colour; Assistant 2 is right.", "score": [6.0, 8.0]}
    with_ref = {**base, "question_id": 1, "reference": {"text": "Red, yellow or blue."},
                "text_w_reference": "2 9\nAssistant 2 matches the reference.", "score_w_reference": [2.0, 9.0]}
    path = tmp_path / "judgelm_train_100k.jsonl"
    path.write_text(json.dumps(base) + "\n" + json.dumps(with_ref) + "\n", encoding="utf-8")
    (plain, ref), _ = convert(f"judgelm={path}")
    assert (plain.instruction, plain.label, plain.scores, plain.reference) == ("Name a primary colour.", "B", [6.0, 8.0], None)
    assert plain.rationale == "Assistant 1 names a secondary colour; Assistant 2 is right."
    assert (ref.reference, ref.scores, ref.rationale) == ("Red, yellow or blue.", [2.0, 9.0], "Assistant 2 matches the reference.")
    dropped = ref.drop_reference()
    assert (dropped.scores, dropped.rationale) == ([6.0, 8.0], plain.rationale)
    swapped = plain.swapped()
    assert swapped.label == "A" and swapped.rationale.startswith("Assistant 2 names a secondary colour; Assistant 1")


def test_source_spec_errors():
    with pytest.raises(ConfigError, match="unknown kind"):
        SourceSpec.parse("nosuch=x")
    with pytest.raises(ConfigError, match="unknown option 'bench=x' for llmbar"):
        SourceSpec.parse("llmbar=path,bench=x")
    assert SourceSpec.parse("mt_bench=a.jsonl,agreeing_only=1").kind == "judgments"
