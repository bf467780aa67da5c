"""The shared dataset readers on the published files, and on the layouts it lacks; bad files."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from llm_judge.datasets import autoj, judgelm, llmbar, mtbench_human, ours, pandalm, prometheus
from llm_judge.datasets.rows import SCALAR_RESPONSE, read_rows
from llm_judge.errors import InputError


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


# -- real files ------------------------------------------------------------------------------------

def test_pandalm_test_set(published_data):
    path = published_data("pandalm", "testset-v1.json")
    samples = pandalm.read(path)
    assert len(samples) == 999
    assert Counter(s.label for s in samples) == {"2": 472, "1": 422, "tie": 105}  # PROVENANCE.md's majorities
    first = samples[0]
    assert (first.id, first.votes, first.models, first.category) == ("0", ("2", "2", "2"), ("bloom-7b", "llama-7b"),
                                                                      "Grammarly")
    assert first.instruction.startswith("The sentence you are given might be too wordy")
    assert first.input.startswith("If you have any questions about my rate")
    assert first.question == first.instruction + "\n\n" + first.input
    assert first.responses == ("If you have any questions about my rate, please let me know.",
                               "If you have any questions, please let me know.")
    assert (first.where.path, first.where.line, first.where.index) == (path, None, 0)
    assert first.extra == {"idx": 0, "cmp_key": "bloom-7b_llama-7b"}
    # the release's JSON true responses: six, on these rows, read as the text the model wrote
    repaired = {s.id: s.quirks for s in samples if s.quirks}
    assert repaired == {i: (SCALAR_RESPONSE,) for i in ("157", "158", "159", "161", "162", "164")}
    assert samples[157].responses[0] == "True" and samples[161].responses[1] == "True"
    blank = samples[466]  # the row whose task sits in ``input``
    assert not blank.instruction.strip() and blank.question == blank.input


def test_pandalm_released_outputs(published_data):
    outputs = pandalm.read_outputs(published_data("pandalm", "gpt-3.5-turbo-testset-v1.json"))
    assert len(outputs) == 999 and [o.idx for o in outputs[:3]] == [0, 1, 2]
    assert sum(o.verdict is None for o in outputs) == 25  # the "garbage" outputs PandaLM could not parse
    assert Counter(o.verdict for o in outputs if o.verdict) == {"2": 476, "1": 460, "tie": 38}  # "Tie" in the file
    assert all(o.reason for o in outputs[:10])


def test_llmbar_folder_and_file(published_data):
    samples = llmbar.read(published_data("llmbar"))
    assert len(samples) == 592
    assert Counter(s.subset for s in samples) == {"Natural": 100, "Adversarial/Neighbor": 134,
                                                  "Adversarial/GPTInst": 92, "Processed/FairEval": 66,
                                                  "Processed/LLMEval2": 200}
    natural = llmbar.read(published_data("llmbar", "Natural", "dataset.json"))
    assert Counter(s.label for s in natural) == {"1": 42, "2": 58}  # PROVENANCE: label 1:42 / 2:58
    raw = json.loads(published_data("llmbar", "Natural", "dataset.json").read_text(encoding="utf-8"))[5]
    five = natural[5]
    assert (five.id, five.subset, five.votes) == ("Natural/5", "Natural", ("1",))
    assert (five.instruction, five.responses) == (raw["input"], (raw["output_1"], raw["output_2"]))
    assert [s.id for s in samples if s.subset == "Natural"] == [s.id for s in natural]


def test_autoj_single_training_data(published_data):
    path = published_data("autoj", "training", "single_traindata.jsonl")
    samples = autoj.read_training(path)
    raw = [json.loads(line) for line in path.open(encoding="utf-8")]
    assert len(samples) == 960
    assert [s.score for s in samples] == [float(r["pred_score"]) for r in raw]
    first = samples[0]
    assert (first.scale, first.category, first.where.line, first.votes) == ((1.0, 10.0), "default", 1, ())
    assert first.instruction.startswith("Evaluate the efficiency of the popular p")
    assert first.rationale == raw[0]["target_output"]  # as published, verdict marker included
    assert autoj.RATING.search(first.rationale) and first.extra == {"source_dataset": "chatbot_arena"}
    assert all(len(s.responses) == 1 and s.responses[0] in r["usrmsg"] for s, r in zip(samples, raw))


def test_prometheus_eval_set(published_data):
    path = published_data("prometheus", "vicuna_eval.json")
    samples = prometheus.read(path)
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert len(samples) == 320 and len(prometheus.read(published_data("prometheus", "mt_bench_eval.json"))) == 320
    first = samples[0]
    assert (first.score, first.scale, first.category) == (5.0, (1.0, 5.0), "generic")
    assert first.instruction.startswith("How can I improve my time management ski")
    assert first.rationale == raw[0]["gpt4_feedback"][0] and first.reference and first.rubric.startswith("[")
    assert first.extra == {"idx": 1, "all_scores": [5.0, 5.0, 5.0], "response_source": "vicuna"}
    assert [s.score for s in samples] == [float(sorted(r["gpt4_score"])[1]) for r in raw]


# -- the layouts the published files lack ------------------------------------------------------------

def test_judgelm_votes_follow_the_text_and_scores_the_score_field(tmp_path):
    rows = [{"question_id": 7, "question_body": "Name a colour.", "answer1_body": "Red", "answer2_body": "Blue",
             "answer1_model_id": "m1", "text": "8 6\nAssistant 1 is brighter.", "score": [8, 6]},
            {"question_id": 8, "question_body": "Sum 2+2.", "answer1_body": "4", "answer2_body": "5",
             "text": "I cannot rate.", "reference": {"text": "4"},
             "text_w_reference": "9 1\nAssistant 1 matches the reference.", "score_w_reference": [9, 1]}]
    plain, ref = judgelm.read(write_jsonl(tmp_path / "judgelm_val.jsonl", rows))
    assert (plain.votes, plain.scores, plain.rationale) == (("1",), (8.0, 6.0), "Assistant 1 is brighter.")
    assert (plain.models, plain.question_id, plain.with_reference) == (("m1", "answer2"), 7, None)
    assert (ref.votes, ref.scores, ref.reference) == ((), None, "4")  # unparseable: no vote, as JudgeLM drops it
    assert ref.with_reference.votes == ("1",) and ref.with_reference.scores == (9.0, 1.0)


def test_mtbench_human_votes_become_one_sample_per_pair_and_turn(tmp_path):
    conv = [{"role": "user", "content": "q1"}, {"role": "assistant", "content": "a1"},
            {"role": "user", "content": "q2"}, {"role": "assistant", "content": "a2"}]
    other = [{**m, "content": m["content"].replace("a", "b")} for m in conv]
    votes = [{"question_id": 81, "model_a": "zeta", "model_b": "alpha", "winner": "model_a", "judge": "expert_1",
              "turn": 2, "conversation_a": conv, "conversation_b": other},
             {"question_id": 81, "model_a": "alpha", "model_b": "zeta", "winner": "tie", "judge": "expert_2",
              "turn": 2, "conversation_a": other, "conversation_b": conv}]
    path = tmp_path / "human.json"
    path.write_text(json.dumps(votes), encoding="utf-8")
    (sample,) = mtbench_human.read(path)
    # ordered (alpha, zeta): zeta's win is response 2's
    assert (sample.id, sample.votes, sample.models, sample.subset) == ("81/alpha/zeta/turn2", ("2", "tie"),
                                                                      ("alpha", "zeta"), "turn 2")
    assert sample.instruction == "q2" and sample.responses == ("b2", "a2")
    assert [(t.question, t.responses) for t in sample.history] == [("q1", ("b1", "a1"))]


def test_our_jsonl_multi_turn_with_references(tmp_path):
    path = write_jsonl(tmp_path / "mine.jsonl", [
        {"id": 3, "question": ["Add 2+2", "Double it"], "response_1": ["4", "8"], "response_2": ["5", "10"],
         "votes": [1, "tie", 1], "reference": ["4", "8"], "model_1": "a"}])
    (s,) = ours.read(path)
    assert (s.id, s.votes, s.label, s.models) == ("3", ("1", "tie", "1"), "1", ("a", "output_2"))
    assert (s.instruction, s.responses, s.reference) == ("Double it", ("8", "10"), "8")
    assert [(t.question, t.responses, t.reference) for t in s.history] == [("Add 2+2", ("4", "5"), "4")]


# -- malformed files: one line naming file, line or item, and field ---------------------------------

def _one_line_error(call, match: str) -> None:
    with pytest.raises(InputError, match=match) as info:
        call()
    assert "\n" not in str(info.value)


def test_bad_pandalm_vote_names_the_item_and_field(tmp_path, published_data):
    rows = json.loads(published_data("pandalm", "testset-v1.json").read_text(encoding="utf-8"))[:3]
    rows[2]["annotator2"] = 5
    path = tmp_path / "testset.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    _one_line_error(lambda: pandalm.read(path),
                    r"testset.json\[2\]: field 'annotator2': must be one of 0, 1, 2, got 5$")


def test_bad_jsonl_rows_name_the_line_and_field(tmp_path):
    good = {"scenario": "chitchat", "label": 0, "prompt": "Hi", "response 1": "Hello", "response 2": "Hey"}
    path = write_jsonl(tmp_path / "pairwise.jsonl", [good, {**good, "label": True}])
    _one_line_error(lambda: autoj.read_testset(path),
                    r"pairwise.jsonl:2: field 'label': must be one of 0, 1, 2, got true")
    path = write_jsonl(tmp_path / "pairwise.jsonl", [good, {**good, "prompt": " "}])
    _one_line_error(lambda: autoj.read_testset(path), r"pairwise.jsonl:2: field 'prompt': is empty")
    path.write_text(json.dumps(good) + "\n{not json\n", encoding="utf-8")
    _one_line_error(lambda: autoj.read_testset(path), r"pairwise.jsonl:2: invalid JSON")
    path = write_jsonl(tmp_path / "train.jsonl", [{"usrmsg": "no data block", "target_output": "x", "pred_score": 3}])
    _one_line_error(lambda: autoj.read_training(path), r"train.jsonl:1: field 'usrmsg': has no \[BEGIN DATA\]")


def test_files_that_hold_no_records(tmp_path):
    obj = tmp_path / "dataset.json"
    obj.write_text(json.dumps({"input": "q", "output_1": "a", "output_2": "b", "label": 1}, indent=1), encoding="utf-8")
    _one_line_error(lambda: llmbar.read(obj), r"dataset.json: expected a JSON list of objects, got dict")
    _one_line_error(lambda: prometheus.read(tmp_path / "absent.json"), r"absent.json: file not found")
    (tmp_path / "empty").mkdir()
    _one_line_error(lambda: llmbar.read(tmp_path / "empty"), r"empty: holds no LLMBar dataset.json files")
    arr = tmp_path / "prom.json"
    arr.write_text(json.dumps(["just text"]), encoding="utf-8")
    _one_line_error(lambda: prometheus.read(arr), r"prom.json\[0\]: expected a JSON object, got str")


def test_jsonl_named_json_is_read_by_line(tmp_path):
    path = tmp_path / "human_judgments.json"
    path.write_text('{"a": 1}\n{"a": 2}\n', encoding="utf-8")
    assert [(r.line, r.index, r.obj) for r in read_rows(path)] == [(1, 0, {"a": 1}), (2, 1, {"a": 2})]
