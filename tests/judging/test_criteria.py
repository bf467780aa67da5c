"""Per-question criteria: a question's own rubric and scale reach the judge prompt, the parser and the record.

A small bench of ours (English and Japanese), written here: some questions carry criteria on 1-5 (or their own
scale), others none. Judged through the loopback API server, the mock engine and, with --judge-method
distribution, the default model; show_result keeps each scale in its own tables.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fakeapi import FakeAPI
from llm_judge.__main__ import main as dispatch
from llm_judge.bench import Criteria, load_bench
import llm_judge
from llm_judge.cli import gen_judgment, show_result
from llm_judge.errors import InputError
from llm_judge.judging.families import load_family
from llm_judge.judging.matches import plan_matches
from llm_judge.jsonl import read_jsonl

pytestmark = pytest.mark.api

EN = [
    {"question_id": 1, "category": "geography", "turns": ["Name the four prefectures of Shikoku and their capitals."],
     "criteria": "All four prefectures (Ehime, Kagawa, Kochi, Tokushima) and their capitals must be named correctly; "
                 "each wrong or missing pair costs one point."},
    {"question_id": 2, "category": "writing", "turns": ["Write a two-line poem about autumn rain."],
     "criteria": "Exactly two lines; autumn rain is the subject; vivid images.", "scale": [1, 10]},
    {"question_id": 3, "category": "writing", "turns": ["Give me three tips for writing clear emails."]},
]
JA = [
    {"question_id": "ja-1", "category": "地理", "turns": ["四国地方の4つの県名と、それぞれの県庁所在地を挙げてください。"],
     "eval_aspect": "4県（愛媛・香川・高知・徳島）とその県庁所在地をすべて正しく挙げていること。誤りや漏れが1組あるごとに1点減点。"},
    {"question_id": "ja-2", "category": "作文", "turns": ["秋の雨をテーマに二行の詩を書いてください。"]},
]
ANSWERS = {
    "alpha": {1: "Ehime (Matsuyama), Kagawa (Takamatsu), Kochi (Kochi), Tokushima (Tokushima).",
              2: "Cold threads of rain unstitch the maple's red;\nthe gutters hum the songs the summer said.",
              3: "Put the request first, keep it short, and use a clear subject line.",
              "ja-1": "愛媛県（松山市）、香川県（高松市）、高知県（高知市）、徳島県（徳島市）です。",
              "ja-2": "紅葉を濡らす細い雨\n静かに秋が深まっていく"},
    "beta": {1: "Ehime and Kagawa.", 2: "Rain.", 3: "Be nice.", "ja-1": "愛媛と香川です。", "ja-2": "雨がふる"},
}


def _write(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def make_bench(root: Path, name: str, questions: list[dict], config: dict | None = None) -> Path:
    bench = root / name
    _write(bench / "question.jsonl", questions)
    if config is not None:
        (bench / "bench.json").write_text(json.dumps(config), encoding="utf-8")
    ids = {q["question_id"] for q in questions}
    for model, by_q in ANSWERS.items():
        _write(bench / "model_answer" / f"{model}.jsonl",
               [{"question_id": q, "answer_id": f"{model}-{q}", "model_id": model,
                 "choices": [{"index": 0, "turns": [text]}], "tstamp": 0.0} for q, text in by_q.items() if q in ids])
    return bench


@pytest.fixture
def benches(tmp_path: Path) -> Path:
    make_bench(tmp_path, "crit_en", EN)
    make_bench(tmp_path, "crit_ja", JA, {"criteria": {"field": "eval_aspect"}})
    return tmp_path


def _plan(root: Path, name: str, family: str = "fastchat", mode: str = "single"):
    bench = load_bench(name, root)
    fam = load_family(family)
    prompts = fam.prompt_set(None, bench.config.judge_prompts, bench.language, bench.path, bench.config.prompt_names)
    answers = bench.load_answers(["alpha", "beta"])
    return plan_matches(bench, mode, ["alpha", "beta"], answers, prompts, baseline="beta")


def test_bench_reads_each_questions_criteria_and_scale(benches):
    en = load_bench("crit_en", benches)
    assert en.criteria == {1: Criteria(EN[0]["criteria"], (1, 5)), 2: Criteria(EN[1]["criteria"], (1, 10))}
    ja = load_bench("crit_ja", benches)  # bench.json names the field, as ELYZA-tasks-100's eval_aspect
    assert ja.language == "ja" and ja.criteria == {"ja-1": Criteria(JA[0]["eval_aspect"], (1, 5))}
    (benches / "crit_ja" / "bench.json").write_text(json.dumps({"criteria": {"field": "eval_aspect", "scale": [0, 3]}}))
    assert load_bench("crit_ja", benches).criteria["ja-1"].scale == (0, 3)


@pytest.mark.parametrize("change,line,field,message", [
    ({"criteria": ""}, 1, "criteria", "must be a non-empty string"),
    ({"scale": [5, 1]}, 1, "scale", "must be [lowest, highest]"),
    ({"scale": [1, 5.5]}, 1, "scale", "must be [lowest, highest]"),
    ({"criteria": None, "scale": [1, 5]}, 1, "scale", "a scale needs criteria"),
])
def test_malformed_criteria_stop_the_run_naming_file_line_and_field(benches, capsys, change, line, field, message):
    rows = [dict(EN[0], **change)] + EN[1:]
    rows[0] = {k: v for k, v in rows[0].items() if v is not None}
    qfile = benches / "crit_en" / "question.jsonl"
    _write(qfile, rows)
    code = dispatch(["gen_judgment", "--data-dir", str(benches), "--bench-name", "crit_en", "--judge-model", "mock:judge"])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 2 and err.startswith(f"error: {qfile}:{line}: field '{field}': {message}")
    assert not (benches / "crit_en" / "model_judgment").exists()


def test_unknown_criteria_setting_in_bench_json(benches):
    (benches / "crit_ja" / "bench.json").write_text(json.dumps({"criteria": {"feild": "eval_aspect"}}))
    with pytest.raises(InputError, match=r"bench.json: field 'criteria.feild': unknown setting"):
        load_bench("crit_ja", benches)


def test_matches_pick_the_criteria_prompt_for_questions_with_criteria(benches):
    plan = _plan(benches, "crit_en")
    names = {(m.question.question_id, m.models[0]): m.prompt.name for m in plan.matches}
    assert names[(1, "alpha")] == names[(2, "beta")] == "single-criteria-v1" and names[(3, "alpha")] == "single-v1"
    by_q = {m.question.question_id: m for m in plan.matches}
    user = by_q[1].games()[0][-1]["content"]
    assert EN[0]["criteria"] in user and 'a whole number from 1 to 5' in user and "Rating: [[X]]" in user
    assert "from 1 to 10" in by_q[2].games()[0][-1]["content"] and by_q[2].scale == (1, 10)
    assert by_q[1].scale == (1, 5) and by_q[3].scale == (1, 10) and plan.criteria_unused == 0
    ja = {m.question.question_id: m for m in _plan(benches, "crit_ja").matches}
    text = ja["ja-1"].games()[0][-1]["content"]
    assert ja["ja-1"].prompt.name == "single-criteria-v1" and "【採点基準】\n" + JA[0]["eval_aspect"] in text
    assert "1（基準をまったく満たさない）から5" in text and "評価：[[X]]" in text
    assert ja["ja-2"].prompt.name == "single-v1" and "採点基準" not in ja["ja-2"].games()[0][-1]["content"]


def test_prometheus_uses_the_criteria_as_its_rubric_and_other_families_count_them_unused(benches):
    by_q = {m.question.question_id: m for m in _plan(benches, "crit_en", "prometheus").matches}
    text = by_q[1].games()[0][-1]["content"]
    assert by_q[1].prompt.name == "prometheus-absolute-criteria" and f"###Score Rubrics:\n[{EN[0]['criteria']}]" in text
    assert "[RESULT] (an integer from 1 to 5)" in text and "Score 5: The response meets the criteria fully." in text
    assert "[RESULT] (an integer from 1 to 10)" in by_q[2].games()[0][-1]["content"]
    assert by_q[3].prompt.name == "prometheus-absolute"
    judgelm = _plan(benches, "crit_en", "judgelm")
    assert judgelm.criteria_unused == 4 and {m.prompt.name for m in judgelm.matches} == {"judgelm-single"}
    assert _plan(benches, "crit_en", "fastchat", "pairwise-baseline").criteria_unused == 2  # no pairwise criteria prompt


def _scaled_judge(body: dict, text: str) -> str:
    """The top of the scale a criteria prompt states; 7 elsewhere, and 7 too for beta's answers (out of 1-5)."""
    found = re.search(r"whole number from (\d+) to (\d+)|（Xは(\d+)から(\d+)までの整数）", text)
    if not found or "Ehime and Kagawa." in text or "愛媛と香川です。" in text:
        return "The reply was assessed.\nRating: [[7]]\n評価：[[7]]"
    top = found.group(2) or found.group(4)
    return f"It meets the criteria.\nRating: [[{top}]]\n評価：[[{top}]]"


@pytest.fixture
def api(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with FakeAPI(reply=_scaled_judge) as server:
        yield server


@pytest.mark.parametrize("bench_name", ["crit_en", "crit_ja"])
def test_criteria_end_to_end_through_the_api_and_show_result(benches, api, capsys, bench_name):
    argv = ["--data-dir", str(benches), "--bench-name", bench_name, "--judge-model", "gpt-4o",
            "--api-base", api.openai_base]
    assert gen_judgment.main(argv) == 1  # beta's 7 on a 1-5 question is no score on that scale
    rows = {(r["question_id"], r["model"]): r for r in read_jsonl(benches / bench_name / "model_judgment" /
                                                                   "gpt-4o_single.jsonl")}
    first = 1 if bench_name == "crit_en" else "ja-1"
    assert rows[(first, "alpha")]["score"] == 5.0 and rows[(first, "alpha")]["scale"] == [1, 5]
    assert rows[(first, "beta")]["score"] is None and rows[(first, "beta")]["scale"] == [1, 5]
    assert rows[(first, "beta")]["error"] == "unparseable judgment: rating 7 is outside 1..5"
    assert "Rating: [[7]]" in rows[(first, "beta")]["judgment"]  # the raw output is kept
    plain = [r for r in rows.values() if r["judge"][1] == "single-v1"]
    assert plain and all("scale" not in r and r["score"] == 7.0 for r in plain)  # FastChat's 1-10: no field
    if bench_name == "crit_en":
        assert rows[(2, "alpha")]["score"] == 10.0 and "scale" not in rows[(2, "alpha")]  # its own scale is 1-10
    capsys.readouterr()
    assert show_result.main(["--data-dir", str(benches), "--bench-name", bench_name, "--judge-model", "gpt-4o",
                             "--format", "json"]) == 0
    tables = {t["title"]: t for t in json.loads(capsys.readouterr().out)}
    five = tables["single: mean score (1-5)"]
    assert [(r["model"], r["score"], r["n"], r["failed"]) for r in five["rows"]] == [("alpha", 5.0, 1, 0),
                                                                                     ("beta", None, 0, 1)]
    ten = tables["single: mean score (1-10)"]["rows"]
    expect = {"crit_en": {"alpha": (8.5, 2), "beta": (8.5, 2)}, "crit_ja": {"alpha": (7.0, 1), "beta": (7.0, 1)}}
    assert {r["model"]: (r["score"], r["n"]) for r in ten} == expect[bench_name]
    first_table = next(iter(tables.values()))
    assert "never averaged" in first_table["note"]


def test_prometheus_criteria_through_the_mock_engine(benches, tmp_path):
    rules = tmp_path / "rules.jsonl"
    _write(rules, [{"match": r"(?s)\[RESULT\] \(an integer from 1 to 5\).*Ehime, Kagawa, Kochi, Tokushima",
                    "reply": "Feedback: All four pairs. [RESULT] 5"},
                   {"match": r"\[RESULT\] \(an integer from 1 to 10\)", "reply": "Feedback: Vivid. [RESULT] 9"},
                   {"reply": "Feedback: Fine. [RESULT] 3"}])
    run = llm_judge.judge("crit_en", f"mock:{rules}", data_dir=benches, judge_family="prometheus", model_list=["alpha"])
    assert (run.exit_code, run.judges[0].written) == (0, 3)
    rows = {r["question_id"]: r for r in read_jsonl(benches / "crit_en" / "model_judgment" / "rules_prometheus_single.jsonl")}
    # a record without "scale" is on FastChat's 1-10 (question 2's own scale)
    assert [(rows[q]["score"], rows[q].get("scale"), rows[q]["judge"][1]) for q in (1, 2, 3)] == [
        (5.0, [1, 5], "prometheus-absolute-criteria"), (9.0, None, "prometheus-absolute-criteria"),
        (3.0, [1, 5], "prometheus-absolute")]


@pytest.mark.model
@pytest.mark.parametrize("family,plain", [("fastchat", 10), ("prometheus", 5)])
def test_criteria_distribution_on_the_default_model(tmp_path, default_model_path, family, plain):
    """--judge-method distribution reads the question's own labels: 1..5 for a 1-5 question, the family's elsewhere."""
    make_bench(tmp_path, "crit_en", [EN[0], EN[2]])
    assert gen_judgment.main(["--data-dir", str(tmp_path), "--bench-name", "crit_en", "--judge-model", "default",
                              "--model-list", "alpha", "--judge-method", "distribution", "--judge-family", family]) == 0
    out = next((tmp_path / "crit_en" / "model_judgment").glob("*_single.jsonl"))
    rows = {r["question_id"]: r for r in read_jsonl(out)}
    assert rows[1]["judge"][1] == ("single-criteria-v1" if family == "fastchat" else "prometheus-absolute-criteria")
    assert sorted(rows[1]["score_distribution"], key=int) == [str(i) for i in range(1, 6)] and rows[1]["scale"] == [1, 5]
    assert sorted(rows[3]["score_distribution"], key=int) == [str(i) for i in range(1, plain + 1)]
    assert rows[3].get("scale") == (None if plain == 10 else [1, 5])
    for r in rows.values():
        dist = r["score_distribution"]
        assert sum(dist.values()) == pytest.approx(1.0) and r["score"] == float(max(dist, key=dist.get))
        assert "error" not in r and 1 <= r["expected_score"] <= (5 if r["question_id"] == 1 else plain)
