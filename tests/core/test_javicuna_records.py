"""ja-vicuna-qa-benchmark's records and answer folders read as ours: judge_model/judge_prompt are the judge,
turn 1 when absent, the texts kept; answers in model_answer/<model>/results.jsonl load beside <model>.jsonl."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from llm_judge.bench import load_bench
from llm_judge.errors import InputError
from llm_judge.jsonl import dumps
from llm_judge.layouts import PAIR_FIELDS, judgment_files, read_judgments
from llm_judge.records import JudgeName, PairJudgment, SingleJudgment, pair_key

# a record as ja-vicuna-qa-benchmark's gen_judgment writes it (its field order; texts shortened)
PAIR = {"model_1": "calm2", "model_2": "davinci", "question_id": 1, "question": "時間管理能力を向上させるには？",
        "answer_1": "タイムトラッキング。", "answer_2": "目標を明確にする。", "g1_judgment": "... [[A]]",
        "g2_judgment": "... [[B]]", "g1_winner": "model_1", "g2_winner": "model_1", "judge_model": "gpt-4",
        "judge_prompt": "pair", "tstamp": 1703844878.710304}
SINGLE = {"model": "calm2", "question_id": 1, "question": "時間管理能力を向上させるには？",
          "answer": "タイムトラッキング。", "judgment": "評価: [[7]]", "score": 7, "judge_model": "gpt-4",
          "judge_prompt": "single", "tstamp": 1.0}


def test_pair_record_reads_its_judge_fields_as_the_judge_and_keeps_the_texts():
    rec = PairJudgment.from_json(PAIR, "f.jsonl", 1)
    assert rec.judge == JudgeName("gpt-4", "pair") and rec.turn == 1
    assert rec.key == pair_key(JudgeName("gpt-4", "pair"), 1, "calm2", "davinci", 1)
    assert rec.combined_winner == "model_1" and not rec.failed
    assert rec.extra == {k: PAIR[k] for k in ("question", "answer_1", "answer_2")}
    # written in FastChat's form: the judge as its list, the texts kept, nothing lost
    out = rec.to_json()
    assert out["judge"] == ["gpt-4", "pair"] and "judge_model" not in out and "judge_prompt" not in out
    assert {k: out[k] for k in ("question", "answer_1", "answer_2")} == rec.extra
    assert PairJudgment.from_json(out, "g.jsonl", 1).key == rec.key


def test_single_record_and_its_failure_marker():
    rec = SingleJudgment.from_json(SINGLE, "f.jsonl", 1)
    assert (rec.judge, rec.score, rec.turn, rec.failed) == (JudgeName("gpt-4", "single"), 7, 1, False)
    assert SingleJudgment.from_json({**SINGLE, "score": -1}, "f.jsonl", 1).failed  # their unparsed judgment


def test_fastchat_records_are_untouched_by_the_second_form():
    fastchat = {"question_id": 1, "model_1": "a", "model_2": "b", "g1_winner": "tie", "g2_winner": "tie",
                "judge": ["gpt-4", "pair-v2"], "turn": 1, "judge_model": "kept as it was"}
    rec = PairJudgment.from_json(fastchat, "f.jsonl", 1)
    assert rec.judge == JudgeName("gpt-4", "pair-v2") and rec.extra == {"judge_model": "kept as it was"}
    assert dumps(rec.to_json()) == dumps(fastchat)


@pytest.mark.parametrize("change,field", [({"judge_prompt": None}, "judge_prompt"), ({"judge_model": 4}, "judge_model"),
                                          ({"judge_model": ""}, "judge_model"),
                                          ({"g2_winner": "B"}, "g2_winner")])
def test_a_malformed_per_pair_record_is_one_error_naming_file_line_and_field(tmp_path, change, field):
    folder = tmp_path / "model_judgment" / "pairwise" / "gpt-4"
    folder.mkdir(parents=True)
    path = folder / "pairwise:calm2_davinci.jsonl"
    path.write_text(dumps(PAIR) + "\n" + dumps({**PAIR, "question_id": 2, **change}) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_judgments(tmp_path / "model_judgment" / "pairwise")
    assert str(err.value).startswith(f"{path}:2: field '{field}': ")
    assert "\n" not in str(err.value)


def test_judgment_files_are_found_from_each_folder_level(tmp_path):
    judgments = tmp_path / "model_judgment"
    files = []
    for name in ("pairwise:a_b.jsonl", "pairwise:a_c.jsonl"):
        path = judgments / "pairwise" / "gpt-4" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dumps({**PAIR, "model_1": "a", "model_2": name[11]}) + "\n", encoding="utf-8")
        files.append(path)
    single = judgments / "single" / "gpt-4" / "single:a.jsonl"
    single.parent.mkdir(parents=True)
    single.write_text(dumps({**SINGLE, "model": "a"}) + "\n", encoding="utf-8")
    for folder in (judgments / "pairwise" / "gpt-4", judgments / "pairwise", judgments):
        assert judgment_files(folder, pairwise=True) == files
    assert judgment_files(judgments, pairwise=False) == [single]
    kinds = [type(r).__name__ for r in read_judgments(judgments)]
    assert kinds == ["PairJudgment", "PairJudgment", "SingleJudgment"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="empty: holds no judgment files"):
        read_judgments(tmp_path / "empty")


def _answers(path: Path, model: str, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [{"question_id": qid, "answer_id": f"{model}-{qid}", "model_id": model,
             "choices": [{"index": 0, "turns": [f"{text} {qid}"]}], "tstamp": 0.0} for qid in (1, 2)]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


@pytest.fixture
def bench(tmp_path: Path) -> Path:
    path = tmp_path / "jp"
    path.mkdir()
    questions = [{"question_id": q, "category": "math", "turns": [f"q{q}"]} for q in (1, 2)]
    (path / "question.jsonl").write_text("".join(dumps(q) + "\n" for q in questions), encoding="utf-8")
    _answers(path / "model_answer" / "calm2" / "results.jsonl", "calm2", "calm2 says")
    _answers(path / "model_answer" / "davinci.jsonl", "davinci", "davinci says")
    _answers(path / "reference_answer" / "gpt-4" / "results.jsonl", "gpt-4", "reference")
    return path


def test_per_model_answer_folders_load_beside_answer_files(bench):
    b = load_bench(str(bench))
    assert b.answer_files() == {"calm2": bench / "model_answer" / "calm2" / "results.jsonl",
                                "davinci": bench / "model_answer" / "davinci.jsonl"}
    answers = b.load_answers()
    assert answers["calm2"][2].turns == ["calm2 says 2"] and answers["davinci"][1].turns == ["davinci says 1"]
    assert b.reference_answers() == {1: ["reference 1"], 2: ["reference 2"]}  # reference_answer/gpt-4/results.jsonl


def test_a_model_with_both_answer_forms_is_refused(bench):
    _answers(bench / "model_answer" / "calm2.jsonl", "calm2", "other")
    with pytest.raises(InputError, match="'calm2' also has the answer file .*calm2.jsonl; keep one of the two"):
        load_bench(str(bench)).answer_files()


def test_bench_json_judgment_layout_is_checked(bench):
    (bench / "bench.json").write_text('{"judgment_layout": "ja-vicuna"}', encoding="utf-8")
    assert load_bench(str(bench)).config.judgment_layout == "ja-vicuna"
    (bench / "bench.json").write_text('{"judgment_layout": "per-pair"}', encoding="utf-8")
    with pytest.raises(InputError, match="field 'judgment_layout': must be one of fastchat, ja-vicuna"):
        load_bench(str(bench))


def test_pair_fields_are_ja_vicunas_in_its_order():
    assert list(PAIR) == list(PAIR_FIELDS)
