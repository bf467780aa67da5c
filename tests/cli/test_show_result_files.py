"""show_result finds the file gen_judgment wrote (same judge id and family), reads a folder of judgment
files, and path-like model or judge ids are refused before anything is written."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from fakeapi import FakeAPI
from llm_judge import cli as cli_run
from llm_judge.cli import gen_judgment, gen_model_answer, show_result
from llm_judge.errors import ConfigError, InputError
from llm_judge.jsonl import dumps

pytestmark = pytest.mark.api

KEY = "sk-test-judge-files"


def write_answers(bench: Path, model: str, first_n: int = 3) -> None:
    """A hand-written answer file for the first questions (what the judge reads; who wrote it does not matter)."""
    questions = [json.loads(line) for line in (bench / "question.jsonl").read_text(encoding="utf-8").splitlines()]
    rows = [{"question_id": q["question_id"], "model_id": model, "answer_id": f"{model}-{q['question_id']}",
             "choices": [{"index": 0, "turns": [f"{model} answers turn {i + 1}." for i in range(len(q["turns"]))]}],
             "tstamp": 0.0} for q in questions[:first_n]]
    (bench / "model_answer").mkdir(exist_ok=True)
    (bench / "model_answer" / f"{model}.jsonl").write_text("".join(dumps(r) + "\n" for r in rows), encoding="utf-8")


@pytest.fixture
def bench(data_dir: Path) -> Path:
    path = data_dir / "demo_bench"
    write_answers(path, "model-a")
    write_answers(path, "model-b")
    return path


@pytest.fixture
def api(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with FakeAPI(api_key=KEY) as server:
        yield server


def shown(capsys, *argv: str) -> list[dict]:
    assert show_result.main([*argv, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def models_in(tables: list[dict]) -> set[str]:
    return {row["model"] for row in tables[0]["rows"]}


def test_api_judge_found_by_the_same_flags(api, bench, capsys):
    data = ["--data-dir", str(bench.parent)]
    judge = ["--judge-model", "openai:judge-x"]
    assert gen_judgment.main(data + judge + ["--api-base", api.openai_base, "--first-n", "3"]) == 0
    assert (bench / "model_judgment" / "judge-x_single.jsonl").exists()
    capsys.readouterr()
    assert models_in(shown(capsys, *data, *judge)) == {"model-a", "model-b"}

    renamed = ["--judge-model", "openai:judge-x", "--judge-model-id", "judge-y"]
    assert gen_judgment.main(data + renamed + ["--api-base", api.openai_base, "--first-n", "3",
                                               "--mode", "pairwise-all"]) == 0
    assert (bench / "model_judgment" / "judge-y_pair.jsonl").exists()
    capsys.readouterr()
    tables = shown(capsys, *data, *renamed, "--mode", "pairwise-all")
    assert models_in(tables) == {"model-a", "model-b"}


def test_missing_judgment_file_names_the_files_there(api, bench, capsys):
    data = ["--data-dir", str(bench.parent)]
    assert gen_judgment.main(data + ["--judge-model", "openai:judge-x", "--api-base", api.openai_base,
                                     "--first-n", "1"]) == 0
    assert cli_run.run(show_result.main, data + ["--judge-model", "judge-z"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].endswith("judge-z_single.jsonl: no judgment file; run gen_judgment first (or pass --input-file); "
                            "judgment files there: judge-x_single.jsonl")


@pytest.mark.model
def test_local_judges_found_by_the_same_flags(bench, default_model_path, capsys):
    """--judge-model default and a model folder: the file is named by the model id, not the flag's text."""
    data = ["--data-dir", str(bench.parent)]
    for judge, judge_id in (("default", "smollm2-135m-instruct"), (default_model_path, Path(default_model_path).name)):
        flags = ["--judge-model", judge, "--judge-family", "prometheus"]
        assert gen_judgment.main(data + flags + ["--judge-method", "distribution", "--first-n", "1",
                                                 "--model-list", "model-a"]) == 0
        assert (bench / "model_judgment" / f"{judge_id}_prometheus_single.jsonl").exists()
        capsys.readouterr()
        assert models_in(shown(capsys, *data, *flags)) == {"model-a"}


def judgments(folder: Path, name: str, records: list[dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("".join(dumps(r) + "\n" for r in records), encoding="utf-8")


def single(judge: str, model: str, score: float, qid: int = 1) -> dict:
    return {"question_id": qid, "model": model, "judge": [judge, "single-v1"], "score": score, "turn": 1}


def pair(judge: str, winner: str, qid: int = 1) -> dict:
    return {"question_id": qid, "model_1": "model-a", "model_2": "model-b", "judge": [judge, "pair-v2"],
            "g1_winner": winner, "g2_winner": winner, "turn": 1}


def test_input_folder_reads_every_file_of_the_mode(tmp_path, capsys):
    folder = tmp_path / "model_judgment"
    judgments(folder, "j_single.jsonl", [single("j", "model-a", 8.0), single("j", "model-b", 4.0)])
    judgments(folder, "j_part2_single.jsonl", [single("j", "model-a", 6.0, qid=2)])
    judgments(folder, "j_pair.jsonl", [pair("j", "model_1"), pair("j", "tie", qid=2)])
    judgments(folder / "old", "other_single.jsonl", [single("other", "model-c", 1.0)])  # subfolders are not read
    rows = {r["model"]: r for r in shown(capsys, "--input-file", str(folder))[0]["rows"]}
    assert set(rows) == {"model-a", "model-b"}
    assert rows["model-a"]["score"] == pytest.approx(7.0) and rows["model-b"]["score"] == pytest.approx(4.0)
    tables = shown(capsys, "--input-file", str(folder), "--mode", "pairwise-all")
    rows = {r["model"]: r for r in tables[0]["rows"]}
    assert (rows["model-a"]["win"], rows["model-a"]["tie"], rows["model-a"]["loss"]) == (1, 1, 0)


def test_input_folder_with_pairs_only_shows_them_pairwise(tmp_path, capsys):
    folder = tmp_path / "judged"
    judgments(folder, "j_pair.jsonl", [pair("j", "model_2")])
    rows = {r["model"]: r for r in shown(capsys, "--input-file", str(folder))[0]["rows"]}
    assert (rows["model-b"]["win"], rows["model-b"]["loss"]) == (1, 0)


def test_input_folder_refuses_several_judges_and_empty(tmp_path):
    folder = tmp_path / "judged"
    judgments(folder, "j_single.jsonl", [single("j", "model-a", 8.0)])
    judgments(folder, "k_single.jsonl", [single("k", "model-a", 2.0)])
    with pytest.raises(ConfigError, match=r"several judges \(j, k\)"):
        show_result.main(["--input-file", str(folder)])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"no judgment file \(\*_pair.jsonl\) in this folder"):
        show_result.main(["--input-file", str(tmp_path / "empty"), "--mode", "pairwise-all"])


@pytest.mark.parametrize("flag, value", [("--model-id", "../../escaped"), ("--model-id", "a/b"),
                                         ("--model-id", ".hidden")])
def test_path_like_model_id_refused(data_dir, tmp_path, capsys, flag, value):
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    argv = ["--data-dir", str(data_dir), "--model-path", "openai:gpt-4o", flag, value]
    assert cli_run.run(gen_model_answer.main, argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {flag} {value!r} is not a plain file name")
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_path_like_judge_id_refused(api, bench, tmp_path, capsys):
    argv = ["--data-dir", str(bench.parent), "--judge-model", "openai:j", "--api-base", api.openai_base,
            "--judge-model-id", "a/b"]
    assert cli_run.run(gen_judgment.main, argv) == 2
    assert capsys.readouterr().err.strip().startswith("error: --judge-model-id 'a/b' is not a plain file name")
    assert not (bench / "model_judgment").exists()
    assert api.stats.count(200) == 0


def test_eval_judge_refuses_path_like_judge_id(tmp_path, capsys):
    from llm_judge.cli import eval_judge

    labelled = tmp_path / "mine.jsonl"
    labelled.write_text(dumps({"id": "sum", "question": "What is 17 + 25?", "response_1": "42", "response_2": "43",
                               "label": "1"}) + "\n", encoding="utf-8")
    argv = ["run", str(labelled), "--judge-model", "gpt-4", "--judge-model-id", "../escaped", "--output-dir",
            str(tmp_path / "out")]
    assert cli_run.run(eval_judge.main, argv) == 2
    assert capsys.readouterr().err.startswith("error: --judge-model-id '../escaped' is not a plain file name")
    assert not (tmp_path / "out").exists() and not (tmp_path / "escaped_pair.jsonl").exists()
