import json

import pytest

from llm_judge.bench import load_bench, load_questions
from llm_judge.errors import ConfigError, InputError


@pytest.mark.parametrize("bench,n,turns,lang", [("mt_bench", 80, 2, "en"), ("vicuna_bench", 80, 1, "en"),
                                               ("jp_bench", 80, 1, "ja"), ("japanese_mt_bench", 60, 2, "ja")])
def test_public_benches_load_unchanged(published_data, bench, n, turns, lang):
    b = load_bench(bench, published_data(bench).parent)
    assert len(b.questions) == n
    assert b.max_turns == turns
    assert b.language == lang
    refs = b.reference_answers()
    needing = [q for q in b.questions if b.needs_reference(q)]
    assert needing and all(q.question_id in refs for q in needing if bench != "japanese_mt_bench")


def test_jp_bench_answers_keyed_by_file_name(published_data):
    b = load_bench("jp_bench", published_data("jp_bench").parent)
    answers = b.load_answers(["davici_003"])
    # the file is davici_003.jsonl but its records say model_id gpt-3.5-turbo-16k-0613
    assert answers["davici_003"][1].model_id == "gpt-3.5-turbo-16k-0613"
    assert len(answers["davici_003"]) == 80


def test_demo_bench(data_dir):
    b = load_bench("demo_bench", data_dir)
    assert 16 <= len(b.questions) <= 24
    cats = {q.category for q in b.questions}
    assert {"math", "reasoning", "coding"} <= cats
    assert any(len(q.turns) == 2 for q in b.questions)
    assert sum(1 for q in b.questions if b.needs_reference(q)) >= 6
    assert all(q.reference for q in b.questions if q.category in ("math", "reasoning", "coding"))
    assert b.temperature_for("math") == 0.0 and b.temperature_for("writing") == 0.7


def _write(tmp_path, lines):
    bench = tmp_path / "b"
    bench.mkdir()
    (bench / "question.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return bench / "question.jsonl"


@pytest.mark.parametrize("lines,expect", [
    (['{"question_id": 1, "turns": ["a"]}', '{"question_id": 2, "turns": ["b"'], r"question.jsonl:2: invalid JSON"),
    (['{"question_id": 1, "category": "x"}'], r"question.jsonl:1: field 'turns': is missing"),
    (['{"question_id": 1, "turns": []}'], r"question.jsonl:1: field 'turns': must be a non-empty list"),
    (['{"question_id": 1, "turns": ["a"]}', '{"question_id": 1, "turns": ["b"]}'],
     r"question.jsonl:2: field 'question_id': duplicate question_id 1 \(first on line 1\)"),
    (['{"question_id": 1.5, "turns": ["a"]}'], r"question.jsonl:1: field 'question_id': must be an integer or"),
    (['{"question_id": 1, "turns": ["a", 3]}'], r"question.jsonl:1: field 'turns': item 1 must be a string"),
    (['{"question_id": "x", "turns": "abc"}'], r"question.jsonl:1: field 'turns': must be a non-empty list"),
])
def test_bad_questions_name_file_line_field(tmp_path, lines, expect):
    path = _write(tmp_path, lines)
    with pytest.raises(InputError, match=expect):
        load_questions(path)


def test_string_question_ids(tmp_path):
    path = _write(tmp_path, ['{"question_id": "LaSE", "category": "地理", "turns": ["四国"]}'])
    assert load_questions(path)[0].question_id == "LaSE"


def test_bench_config_validated(tmp_path):
    path = _write(tmp_path, ['{"question_id": 1, "turns": ["a"]}'])
    (path.parent / "bench.json").write_text(json.dumps({"temprature": {}}))
    with pytest.raises(InputError, match="bench.json: field 'temprature': unknown setting"):
        load_bench(str(path.parent))


def test_unknown_bench_lists_known(data_dir):
    with pytest.raises(ConfigError, match="benches in .*: demo_bench"):
        load_bench("nope", data_dir)
