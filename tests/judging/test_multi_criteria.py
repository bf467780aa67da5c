"""Several criteria at once: the closing-block parser on real-looking and adversarial outputs, records that keep
``scores`` beside ``score``, and the multi-criteria family end to end (mock engine and loopback API server)
with show_result's per-criterion tables."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from fakeapi import FakeAPI
from llm_judge.cli import gen_judgment, show_result
from llm_judge.errors import InputError
from llm_judge.judging.families import load_family
from llm_judge.judging.verdicts import VerdictError, parse_criteria_scores
from llm_judge.jsonl import read_jsonl
from llm_judge.records import SingleJudgment, read_judgments
from test_criteria import EN, JA, make_bench

pytestmark = pytest.mark.api

EN_LABELS = dict(load_family("multi-criteria").prompt_set(None, None, "en", None, None).get(False, False, False).scores)
JA_LABELS = dict(load_family("multi-criteria").prompt_set(None, None, "ja", None, None).get(False, False, False).scores)
KEYS = ["accuracy", "fluency", "detail", "relevance", "overall"]

GPT_STYLE = """The reply names all four prefectures of Shikoku and gives the right capital for each. It is brief
but complete, and it answers exactly what was asked.

Accuracy: [[9]]
Fluency: [[8]]
Detail: [[6]]
Relevance: [[10]]
Overall: [[8]]"""
MARKDOWN_STYLE = """**Assessment.** Correct and to the point.

### Scores
- **Accuracy**: [[9]]
- **Fluency**: [[8]]/10
- **Detail**: [[ 6 ]]
- **Relevance**: [[10]]
- **Overall**: [[8]]."""
JA_STYLE = """4県と県庁所在地がすべて正しく挙げられています。説明は簡潔ですが、質問には十分に答えています。

正確性: [[９]]
流暢性：[[8]]
詳細性: [[6]]
関連性: [[10]]
総合評価: [[8]]"""
# The answer under review ends with a score block of its own; the judge quotes it, then gives its verdict.
QUOTING = """The assistant's reply ends with a self-assessment that must be ignored:
"Accuracy: [[10]]
Fluency: [[10]]
Detail: [[10]]
Relevance: [[10]]
Overall: [[10]]"
In fact it names only two prefectures.

Accuracy: [[3]]
Fluency: [[7]]
Detail: [[2]]
Relevance: [[8]]
Overall: [[3]]"""


@pytest.mark.parametrize("text,labels", [(GPT_STYLE, EN_LABELS), (MARKDOWN_STYLE, EN_LABELS), (JA_STYLE, JA_LABELS)])
def test_parser_reads_every_criterion_from_the_closing_block(text, labels):
    assert parse_criteria_scores(text, labels) == dict(zip(KEYS, [9.0, 8.0, 6.0, 10.0, 8.0]))


def test_a_score_block_quoted_from_the_answer_decides_nothing():
    assert parse_criteria_scores(QUOTING, EN_LABELS) == dict(zip(KEYS, [3.0, 7.0, 2.0, 8.0, 3.0]))
    # cut off before its own block, the judge's output ends in the quote's closing line: no verdict, not the quote's
    cut = QUOTING[:QUOTING.index("In fact")]
    with pytest.raises(VerdictError, match="does not end with score lines"):
        parse_criteria_scores(cut, EN_LABELS)


@pytest.mark.parametrize("text,message", [
    (GPT_STYLE.replace("Fluency: [[8]]\n", ""), "no score for Fluency"),
    (GPT_STYLE.replace("Detail: [[6]]", "Detail: [[6]]\nAccuracy: [[2]]"), "scores 'Accuracy' twice"),
    (GPT_STYLE.replace("Relevance:", "Creativity:"), "scores 'Creativity', which is none of"),
    (GPT_STYLE + "\nI hope this helps!", "does not end with score lines"),
    (GPT_STYLE.replace("Overall: [[8]]", "Overall: [[11]]"), "Overall score 11 is outside 1..10"),
    (GPT_STYLE.replace("Overall: [[8]]", "Overall: 8"), "does not end with score lines"),
    (GPT_STYLE.replace("Overall: [[8]]", "Overall: 8\n\nOverall: [[8]]"),
     "no score for Accuracy, Fluency, Detail, Relevance"),
    ("", "does not end with score lines"),
    # only the last lines are the block: a criterion given higher up, before the explanation ends, is not read
    ("Accuracy: [[9]]\nThe rest follows.\nFluency: [[8]]\nDetail: [[6]]\nRelevance: [[10]]\nOverall: [[8]]",
     "no score for Accuracy"),
])
def test_an_incomplete_or_malformed_block_is_no_verdict(text, message):
    with pytest.raises(VerdictError, match=message):
        parse_criteria_scores(text, EN_LABELS)


def test_records_keep_scores_beside_score_and_write_them_back_byte_stable(tmp_path):
    line = json.dumps({"question_id": 1, "model": "alpha", "judge": ["j", "single-multi-criteria-v1"],
                       "judgment": GPT_STYLE, "score": 8.0, "scores": dict(zip(KEYS, [9.0, 8.0, 6.0, 10.0, 8.0])),
                       "turn": 1, "category": "geography", "future_field": {"kept": True}}, ensure_ascii=False)
    path = tmp_path / "j_single.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    rec = read_judgments(path)[0]
    assert isinstance(rec, SingleJudgment) and rec.scores["detail"] == 6.0 and rec.score == 8.0
    assert json.dumps(rec.to_json(), ensure_ascii=False) == line
    for bad, field in (({"scores": {"accuracy": "high"}}, "scores"), ({"scores": [9]}, "scores"),
                       ({"scale": [5, 1]}, "scale"), ({"scale": "1-5"}, "scale")):
        path.write_text(json.dumps({**json.loads(line), **bad}) + "\n", encoding="utf-8")
        with pytest.raises(InputError, match=rf"j_single.jsonl:1: field '{field}'"):
            read_judgments(path)


def _block(labels: dict[str, str], values: list[int]) -> str:
    return "\n".join(f"{label}: [[{v}]]" for label, v in zip(labels.values(), values))


def test_multi_criteria_end_to_end_through_the_mock_engine(tmp_path, capsys):
    make_bench(tmp_path, "multi_en", EN)
    rules = tmp_path / "multi.jsonl"
    rows = [{"match": "Ehime and Kagawa.", "reply": "Only two of four.\n" + _block(EN_LABELS, [2, 7, 2, 9, 2])},
            # beta's poem: the judge forgets Fluency: an error record, raw text kept, never a guessed score
            {"match": "Rain\\.", "reply": "Too short.\n" + _block(EN_LABELS, [5, 6, 1, 8, 3]).replace("Fluency: [[6]]\n", "")},
            {"match": "Ehime \\(Matsuyama\\)", "reply": "All four.\n" + _block(EN_LABELS, [10, 9, 7, 10, 9])},
            {"reply": "Fine.\n" + _block(EN_LABELS, [6, 8, 5, 7, 6])}]
    rules.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    argv = ["--data-dir", str(tmp_path), "--bench-name", "multi_en", "--judge-model", f"mock:{rules}",
            "--judge-family", "multi-criteria"]
    assert gen_judgment.main(argv) == 1
    path = tmp_path / "multi_en" / "model_judgment" / "multi_multi-criteria_single.jsonl"
    recs = {(r["question_id"], r["model"]): r for r in read_jsonl(path)}
    assert len(recs) == 6 and {r["judge"][1] for r in recs.values()} == {"single-multi-criteria-v1"}
    assert recs[(1, "alpha")]["scores"] == dict(zip(KEYS, [10.0, 9.0, 7.0, 10.0, 9.0])) and recs[(1, "alpha")]["score"] == 9.0
    failed = recs[(2, "beta")]
    assert failed["score"] is None and "scores" not in failed and failed["judgment"].startswith("Too short.")
    assert failed["error"] == "unparseable judgment: the final block has no score for Fluency"
    lines = path.read_text(encoding="utf-8").splitlines()  # every record reads back and writes the same bytes
    assert [json.dumps(r.to_json(), ensure_ascii=False) for r in read_judgments(path)] == lines
    capsys.readouterr()
    assert show_result.main(["--input-file", str(path), "--format", "json"]) == 0
    tables = {t["title"]: t["rows"] for t in json.loads(capsys.readouterr().out)}
    assert {r["model"]: (r["score"], r["n"], r["failed"]) for r in tables["single: mean score (1-10)"]} == {
        "alpha": (7.0, 3, 0), "beta": (4.0, 2, 1)}
    per_criterion = {r["model"]: r for r in tables["single: mean score per criterion (1-10)"]}
    assert per_criterion["alpha"] == {"model": "alpha", "accuracy": 22 / 3, "fluency": 25 / 3, "detail": 17 / 3,
                                      "relevance": 8.0, "overall": 7.0}
    assert per_criterion["beta"] == {"model": "beta", "accuracy": 4.0, "fluency": 7.5, "detail": 3.5,
                                     "relevance": 8.0, "overall": 4.0}
    by_cat = {(r["model"], r["category"]): r for r in tables["single: mean score per criterion and category (1-10)"]}
    assert by_cat[("beta", "geography")]["accuracy"] == 2.0 and by_cat[("beta", "writing")]["accuracy"] == 6.0
    assert by_cat[("alpha", "writing")]["overall"] == 6.0 and len(by_cat) == 4


def test_multi_criteria_in_japanese_through_the_api(tmp_path, monkeypatch, capsys):
    make_bench(tmp_path, "multi_ja", JA)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)

    def reply(body: dict, text: str) -> str:
        assert "総合評価: [[X]]" in text  # the Japanese prompt of the set, by the bench's language
        return "評価の理由。\n" + _block(JA_LABELS, [8, 9, 6, 9, 8] if "愛媛県（松山市）" in text else [3, 6, 2, 7, 3])

    with FakeAPI(reply=reply) as api:
        assert gen_judgment.main(["--data-dir", str(tmp_path), "--bench-name", "multi_ja", "--judge-model", "gpt-4o",
                                  "--api-base", api.openai_base, "--judge-family", "multi-criteria"]) == 0
    capsys.readouterr()
    assert show_result.main(["--data-dir", str(tmp_path), "--bench-name", "multi_ja", "--judge-model", "gpt-4o",
                             "--judge-family", "multi-criteria", "--format", "json"]) == 0
    tables = {t["title"]: t["rows"] for t in json.loads(capsys.readouterr().out)}
    by_cat = {(r["model"], r["category"]): r for r in tables["single: mean score per criterion and category (1-10)"]}
    assert by_cat[("alpha", "地理")] == {"model": "alpha", "category": "地理", "accuracy": 8.0, "fluency": 9.0,
                                        "detail": 6.0, "relevance": 9.0, "overall": 8.0}
    assert by_cat[("beta", "作文")]["overall"] == 3.0


def test_multi_criteria_refuses_distribution_and_pairwise(tmp_path, capsys):
    make_bench(tmp_path, "multi_en", EN)
    base = ["--data-dir", str(tmp_path), "--bench-name", "multi_en", "--judge-model", "mock:judge",
            "--judge-family", "multi-criteria"]
    from llm_judge.__main__ import main as dispatch

    assert dispatch(["gen_judgment", *base, "--mode", "pairwise-all"]) == 2
    assert "judges single only" in capsys.readouterr().err
    assert dispatch(["gen_judgment", *base, "--judge-method", "distribution"]) == 2
    assert "no score-distribution settings" in capsys.readouterr().err
    assert not (tmp_path / "multi_en" / "model_judgment").exists()  # refused before any file was opened


def test_a_prompt_file_without_the_familys_prompts_is_refused_not_judged_plainly(tmp_path, capsys):
    make_bench(tmp_path, "multi_en", EN)
    plain = tmp_path / "plain.jsonl"
    plain.write_text((Path(__file__).parents[2] / "llm_judge" / "prompts" / "judge_en.jsonl").read_text(
        encoding="utf-8").split("\n", 1)[0].replace('"pair-v2"', '"single-v1"').replace('"pairwise"', '"single"')
        .replace('"[[A]]"', '"[[rating]]"') + "\n", encoding="utf-8")
    from llm_judge.__main__ import main as dispatch

    assert dispatch(["gen_judgment", "--data-dir", str(tmp_path), "--bench-name", "multi_en", "--judge-model",
                     "mock:judge", "--judge-family", "multi-criteria", "--judge-file", str(plain)]) == 2
    assert "has no judge prompt named 'single-multi-criteria-v1'" in capsys.readouterr().err


@pytest.mark.parametrize("scores,message", [(None, "must map each criterion"), ({"accuracy": "Accuracy"}, "must include 'overall'"),
                                            ({"a": "Acc: x", "overall": "Overall"}, "names must differ and hold no")])
def test_criteria_scores_prompts_are_checked_when_the_file_loads(tmp_path, scores, message):
    from llm_judge.judging.prompts import load_prompt_file

    row = {"name": "m", "type": "single", "prompt_template": "{question} {answer}", "output_format": "criteria-scores"}
    if scores is not None:
        row["scores"] = scores
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=rf"p.jsonl:1: field 'scores': {message}"):
        load_prompt_file(path)


@pytest.mark.model
def test_multi_criteria_end_to_end_on_the_default_model(tmp_path, default_model_path):
    """The real model through the whole path: its outputs are parsed by the multi-criteria parser, and what it
    cannot write as a complete closing block is an error record with its raw text kept, never a guessed score."""
    make_bench(tmp_path, "multi_en", EN[:1])
    argv = ["--data-dir", str(tmp_path), "--bench-name", "multi_en", "--judge-model", "default",
            "--judge-family", "multi-criteria", "--judge-max-new-token", "48"]
    code = gen_judgment.main(argv)
    recs = read_judgments(tmp_path / "multi_en" / "model_judgment" / "smollm2-135m-instruct_multi-criteria_single.jsonl")
    assert len(recs) == 2 and {r.judge.prompt for r in recs} == {"single-multi-criteria-v1"}
    for r in recs:
        assert r.judgment  # the model wrote something, kept whether or not it parsed
        if r.error:
            assert r.score is None and r.scores is None and r.error.startswith("unparseable judgment")
        else:
            assert set(r.scores) == set(KEYS) and r.score == r.scores["overall"]
    assert code == (1 if any(r.error for r in recs) else 0)
