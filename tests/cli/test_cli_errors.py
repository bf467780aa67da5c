"""Bad input: one clear line naming file, line and field, exit code 2, and nothing written."""
import json

import pytest

from llm_judge.cli import gen_judgment, gen_model_answer, show_result
from llm_judge.__main__ import main as dispatch


@pytest.mark.model
def test_malformed_question_file(data_dir, capsys):
    qfile = data_dir / "demo_bench" / "question.jsonl"
    lines = qfile.read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace('"turns"', '"turn"')
    qfile.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code = dispatch(["gen_model_answer", "--data-dir", str(data_dir), "--model-path", "default"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1] == f"error: {qfile}:4: field 'turns': is missing"
    assert not (data_dir / "demo_bench" / "model_answer").exists()


def _answer(qid, turns):
    return {"question_id": qid, "answer_id": "x", "model_id": "m", "choices": [{"index": 0, "turns": turns}], "tstamp": 0}


def test_malformed_answer_file(data_dir, capsys):
    adir = data_dir / "demo_bench" / "model_answer"
    adir.mkdir()
    (adir / "good.jsonl").write_text(json.dumps(_answer(1, ["hi"])) + "\n", encoding="utf-8")
    bad = [json.dumps(_answer(1, ["hi"])), json.dumps({"question_id": 2, "choices": [{"index": 0, "turns": "x"}]})]
    (adir / "bad.jsonl").write_text("\n".join(bad) + "\n", encoding="utf-8")
    code = dispatch(["gen_judgment", "--data-dir", str(data_dir), "--judge-model", "mock:judge", "--mode", "pairwise-all"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == f"error: {adir / 'bad.jsonl'}:2: field 'choices[0].turns': must be a non-empty list of strings"
    assert not (data_dir / "demo_bench" / "model_judgment").exists()


def test_unknown_model_in_model_list(data_dir, capsys):
    adir = data_dir / "demo_bench" / "model_answer"
    adir.mkdir()
    (adir / "good.jsonl").write_text(json.dumps(_answer(1, ["hi"])) + "\n", encoding="utf-8")
    code = gen_judgment.cli.run(gen_judgment.main, ["--data-dir", str(data_dir), "--judge-model", "mock:judge",
                                                    "--model-list", "good", "missing"])
    assert code == 2
    assert "no answer file for model(s): missing (have: good)" in capsys.readouterr().err


@pytest.mark.model
def test_question_range_selecting_nothing(data_dir, capsys):
    code = gen_model_answer.cli.run(gen_model_answer.main, ["--data-dir", str(data_dir), "--question-begin", "50"])
    assert code == 2 and "select no question" in capsys.readouterr().err


def test_show_result_without_file(data_dir, capsys):
    code = show_result.cli.run(show_result.main, ["--data-dir", str(data_dir), "--judge-model", "nobody"])
    assert code == 2 and "no judgment file" in capsys.readouterr().err


def test_a_closed_pipe_ends_quietly(published_data):
    """`show_result ... | head`: the reader is gone before we write; no traceback, status 141 like a Unix tool."""
    import subprocess
    import sys

    from conftest import REPO

    judgments = published_data("jp_bench", "model_judgment", "fastchat_era_2023-08", "gpt-4_pair.jsonl")
    proc = subprocess.Popen([sys.executable, "-m", "llm_judge.show_result", "--input-file", str(judgments),
                             "--mode", "pairwise-all"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
    proc.stdout.close()  # before the interpreter has even started: every write fails
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141 and err == ""
