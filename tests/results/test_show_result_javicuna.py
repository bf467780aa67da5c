"""show_result on ja-vicuna-qa-benchmark's per-pair judgment files gives the tables of the same judgments in
FastChat's single file; gen_judgment writes that layout on request, resumably, and show_result reads it back."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import mock_answers
from llm_judge import cli as cli_run
from llm_judge.bench import load_bench
from llm_judge.cli import gen_judgment, show_result
from llm_judge.jsonl import dumps, read_jsonl
from llm_judge.layouts import PAIR_FIELDS, SINGLE_FIELDS

PUBLISHED = ("jp_bench", "model_judgment", "fastchat_era_2023-08", "gpt-4_pair.jsonl")


def as_javicuna(record: dict, questions: dict) -> dict:
    """A FastChat pair record as ja-vicuna-qa-benchmark writes it: its fields in its order, no judge list, no turn
    (written here independently of llm_judge.layouts, which is under test)."""
    judge_model, judge_prompt = record["judge"]
    return {"model_1": record["model_1"], "model_2": record["model_2"], "question_id": record["question_id"],
            "question": questions[record["question_id"]], "answer_1": "(answer 1)", "answer_2": "(answer 2)",
            "g1_judgment": record["g1_judgment"], "g2_judgment": record["g2_judgment"],
            "g1_winner": record["g1_winner"], "g2_winner": record["g2_winner"], "judge_model": judge_model,
            "judge_prompt": judge_prompt, "tstamp": record["tstamp"]}


@pytest.fixture
def published(published_data, tmp_path) -> tuple[Path, Path]:
    """The published jp_bench GPT-4 pair file, and the same judgments converted into the per-pair layout."""
    fastchat = published_data(*PUBLISHED)
    questions = {q.question_id: q.turns[0] for q in load_bench("jp_bench", published_data("jp_bench").parent).questions}
    judgments = tmp_path / "jp_bench" / "model_judgment"
    for record in read_jsonl(fastchat):
        assert record.get("turn", 1) == 1  # jp_bench is single-turn, as the layout is
        path = judgments / "pairwise" / "gpt-4" / f"pairwise:{record['model_1']}_{record['model_2']}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(dumps(as_javicuna(record, questions)) + "\n")
    return fastchat, judgments


def tables(capsys, *argv: str) -> list[dict]:
    assert show_result.main([*argv, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("mode", ["pairwise-all", "pairwise-baseline"])
def test_per_pair_files_give_the_tables_of_fastchats_single_file(published, capsys, mode):
    fastchat, judgments = published
    flags = ["--mode", mode, "--baseline-model", "rinna-3.6b"]
    expected = tables(capsys, "--input-file", str(fastchat), *flags)
    games = sum(row["win"] + row["loss"] + row["tie"] for row in expected[0]["rows"])
    assert games == (2 * 240 if mode == "pairwise-all" else 2 * 80)  # every game counts for both its models
    assert len(list((judgments / "pairwise" / "gpt-4").iterdir())) == 3  # one file per pair
    for folder in (judgments / "pairwise" / "gpt-4", judgments / "pairwise", judgments):
        assert tables(capsys, "--input-file", str(folder), *flags) == expected
    one_pair = judgments / "pairwise" / "gpt-4" / "pairwise:rinna-3.6b_rinna-3.6b-ppo.jsonl"
    shown = tables(capsys, "--input-file", str(one_pair), "--mode", "pairwise-all")
    rows = {row["model_1"]: row for row in shown[1]["rows"]}
    assert rows["rinna-3.6b"]["n"] == 80 and rows["rinna-3.6b"]["model_2"] == "rinna-3.6b-ppo"


def test_a_malformed_per_pair_record_is_a_one_line_error(published, capsys):
    _, judgments = published
    path = judgments / "pairwise" / "gpt-4" / "pairwise:rinna-3.6b_rinna-3.6b-sft-v2.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    bad = json.loads(lines[4])
    del bad["judge_prompt"]
    lines[4] = dumps(bad)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert cli_run.run(show_result.main, ["--input-file", str(judgments / "pairwise"), "--mode", "pairwise-all"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {path}:5: field 'judge_prompt': must be a non-empty string")


def unordered(shown: list[dict]) -> list[dict]:
    """Tables with their rows sorted: rows that tie keep the order of the records, which differs by layout."""
    return [{**t, "rows": sorted(t["rows"], key=dumps)} for t in shown]


@pytest.fixture
def bench(data_dir: Path, tmp_path: Path) -> Path:
    """The demo bench with three mock models' answers (each its own), one of them in a per-model folder."""
    return mock_answers(data_dir, tmp_path, {"model-a": {"reply": "A short answer."},
                                             "model-b": {"reply": "B answers at length."},
                                             "model-c": {"echo": True}}, in_folder="model-c")


def judge(bench: Path, *flags: str) -> int:
    return gen_judgment.main(["--data-dir", str(bench.parent), "--judge-model", "mock:judge", *flags])


def test_gen_judgment_writes_the_layout_and_show_result_reads_it_back(bench, capsys):
    assert judge(bench, "--mode", "pairwise-all", "--judgment-layout", "ja-vicuna") == 0
    folder = bench / "model_judgment" / "pairwise" / "judge"
    names = ["pairwise:model-a_model-b.jsonl", "pairwise:model-a_model-c.jsonl", "pairwise:model-b_model-c.jsonl"]
    # each file beside its lock (llm_judge/locks.py), empty once the run has ended
    assert sorted(p.name for p in folder.iterdir()) == sorted(names + [f"{n}.lock" for n in names])
    assert all((folder / f"{n}.lock").read_text() == "" for n in names)
    records = read_jsonl(folder / "pairwise:model-a_model-c.jsonl")
    questions = {q.question_id: q for q in load_bench(str(bench)).questions}
    assert len(records) == sum(len(q.turns) for q in questions.values())  # each key once, turn 2 included
    first = next(r for r in records if "turn" not in r)
    assert list(first) == list(PAIR_FIELDS) and first["judge_model"] == "judge"
    assert first["question"] == questions[first["question_id"]].turns[0] == first["answer_2"]  # model-c echoes
    assert first["answer_1"] == "A short answer."
    assert {r["turn"] for r in records if "turn" in r} == {2}
    assert judge(bench, "--mode", "pairwise-all") == 0  # the same judgments in FastChat's file
    capsys.readouterr()
    fastchat = bench / "model_judgment" / "judge_pair.jsonl"
    expected = tables(capsys, "--input-file", str(fastchat), "--mode", "pairwise-all")
    assert len({row["win"] for row in expected[0]["rows"]}) > 1  # the judge told the models apart
    assert unordered(tables(capsys, "--input-file", str(folder), "--mode", "pairwise-all")) == unordered(expected)
    assert judge(bench, "--mode", "pairwise-all", "--judgment-layout", "ja-vicuna") == 0
    assert "81 already in" in capsys.readouterr().err  # a rerun judges nothing


def test_failed_records_are_retried_and_each_key_is_written_once(bench, tmp_path, capsys):
    rules = tmp_path / "judge.jsonl"
    rules.write_text(dumps({"match": "reverse_string", "error": "scripted failure"}) + "\n"
                     + dumps({"judge": True}) + "\n", encoding="utf-8")
    single = ["--mode", "single", "--judgment-layout", "ja-vicuna"]
    assert gen_judgment.main(["--data-dir", str(bench.parent), "--judge-model", f"mock:{rules}", *single]) == 1
    path = bench / "model_judgment" / "single" / "judge" / "single:model-a.jsonl"
    failed = [r for r in read_jsonl(path) if r.get("error")]
    assert failed and all(r["score"] is None for r in failed)
    assert list(failed[0])[:len(SINGLE_FIELDS)] == list(SINGLE_FIELDS)
    capsys.readouterr()
    assert judge(bench, *single) == 0
    assert f"{len(failed) * 3} to do" in capsys.readouterr().err  # only the failed ones, for each of the 3 models
    again = read_jsonl(path)
    keys = [(r["question_id"], r.get("turn", 1)) for r in again]
    assert len(keys) == len(set(keys)) and not any(r.get("error") for r in again)
    shown = tables(capsys, "--input-file", str(bench / "model_judgment"))
    assert {row["model"] for row in shown[0]["rows"]} == {"model-a", "model-b", "model-c"}


def test_bench_json_chooses_the_layout_and_the_flag_wins(bench, capsys):
    config = json.loads((bench / "bench.json").read_text(encoding="utf-8"))
    (bench / "bench.json").write_text(json.dumps({**config, "judgment_layout": "ja-vicuna"}), encoding="utf-8")
    assert judge(bench, "--mode", "single") == 0
    assert (bench / "model_judgment" / "single" / "judge" / "single:model-b.jsonl").exists()
    capsys.readouterr()
    data = ["--data-dir", str(bench.parent), "--judge-model", "mock:judge"]
    by_layout = tables(capsys, *data)  # show_result finds the judge folder by the same setting
    assert judge(bench, "--mode", "single", "--judgment-layout", "fastchat") == 0
    assert (bench / "model_judgment" / "judge_single.jsonl").exists()
    capsys.readouterr()
    fastchat = tables(capsys, "--input-file", str(bench / "model_judgment" / "judge_single.jsonl"))
    assert unordered(fastchat) == unordered(by_layout)
    assert cli_run.run(gen_judgment.main, ["--data-dir", str(bench.parent), "--judge-model", "mock:judge",
                                           "--output-file", str(bench / "x.jsonl")]) == 2
    assert "with the ja-vicuna layout" in capsys.readouterr().err


def test_pairs_are_named_in_sorted_order_as_ja_vicuna_does_against_a_baseline_too(bench, capsys):
    baseline = ["--mode", "pairwise-baseline", "--baseline-model", "model-a"]
    assert judge(bench, *baseline, "--judgment-layout", "ja-vicuna") == 0
    folder = bench / "model_judgment" / "pairwise" / "judge"
    files = ["pairwise:model-a_model-b.jsonl", "pairwise:model-a_model-c.jsonl"]
    assert sorted(p.name for p in folder.iterdir() if p.suffix != ".lock") == files
    assert {r["model_1"] for r in read_jsonl(folder / "pairwise:model-a_model-c.jsonl")} == {"model-a"}
    assert judge(bench, *baseline) == 0  # FastChat's layout puts the baseline second
    capsys.readouterr()
    fastchat = tables(capsys, "--input-file", str(bench / "model_judgment" / "judge_pair.jsonl"), *baseline)
    assert {r["model_2"] for r in read_jsonl(bench / "model_judgment" / "judge_pair.jsonl")} == {"model-a"}
    assert unordered(tables(capsys, "--input-file", str(folder), *baseline))[0] == unordered(fastchat)[0]
    assert judge(bench, "--mode", "pairwise-all", "--judgment-layout", "ja-vicuna") == 0
    assert "54 already in" in capsys.readouterr().err  # all-pairs finds the baseline run's pairs: the same keys
