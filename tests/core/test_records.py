"""Typed judgment records: byte-exact round trips of published and freshly written files, unknown fields
kept, one-line errors naming file, line and field, and the one key function per kind."""
from __future__ import annotations

import json

import pytest

import llm_judge
from fakeapi import FakeAPI, judge_reply
from llm_judge import cli
from llm_judge.cli import show_result
from llm_judge.engines.base import GenResult
from llm_judge.errors import InputError
from llm_judge.judging.matches import Match
from llm_judge.judging.prompts import BUILTIN_SETS, load_prompt_file
from llm_judge.judging.run import distribution_request, judgment_store, pair_record, single_record
from llm_judge.jsonl import dumps
from llm_judge.records import (Answer, JudgeName, PairJudgment, Question, SingleJudgment, json_key,
                               judgment_from_json, pair_key, read_judgments, single_key)

pytestmark = pytest.mark.api

JP = ("jp_bench", "model_judgment", "fastchat_era_2023-08", "gpt-4_pair.jsonl")
KEY = "sk-test-records"
FASTCHAT_PAIR = ["question_id", "model_1", "model_2", "g1_winner", "g2_winner", "judge", "g1_user_prompt",
                 "g1_judgment", "g2_user_prompt", "g2_judgment", "turn", "tstamp"]
FASTCHAT_SINGLE = ["question_id", "model", "judge", "user_prompt", "judgment", "score", "turn", "tstamp"]


def written(records) -> str:
    return "".join(dumps(r.to_json()) + "\n" for r in records)


def test_published_fastchat_judgments_round_trip_byte_for_byte(published_data):
    path = published_data(*JP)
    records = read_judgments(path)
    assert len(records) == 240 and all(isinstance(r, PairJudgment) for r in records)
    assert written(records) == path.read_text(encoding="utf-8")
    first = records[0]
    assert first.judge == JudgeName("gpt-4", "pair-v2") and first.judge_model == "gpt-4"
    assert list(first.to_json()) == FASTCHAT_PAIR and first.extra == {}
    # (g1, g2) of the file's records: a win only when both orders agree
    assert {(r.g1_winner, r.g2_winner, r.combined_winner) for r in records} >= {
        ("model_1", "model_1", "model_1"), ("model_1", "model_2", "tie"), ("tie", "model_2", "tie")}


def _reply(body: dict, text: str) -> str:
    """Answers name the model; every fifth judge prompt gets a reply without a verdict (a failed record)."""
    if "[[" not in text:
        return f"{body['model']} answers: {text[-30:]}"
    if sum(map(ord, text)) % 5 == 0:
        return "I would rather not say."
    return judge_reply(body, text)


def test_the_judging_runs_own_files_round_trip_byte_for_byte(data_dir, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with FakeAPI(api_key=KEY, reply=_reply) as api:
        for model in ("gpt-3.5-turbo", "gpt-4o-mini"):
            answered = llm_judge.answer("demo_bench", llm_judge.engine(model, api_base=api.openai_base),
                                        data_dir=data_dir, max_new_tokens=32)
            assert (answered.written, answered.failed) == (20, 0)
        judge = llm_judge.engine("gpt-4", api_base=api.openai_base)
        runs = [llm_judge.judge("demo_bench", judge, mode, data_dir=data_dir) for mode in ("single", "pairwise-all")]
        assert all(run.failed for run in runs)  # every fifth reply holds no verdict
    folder = data_dir / "demo_bench" / "model_judgment"
    singles, pairs = read_judgments(folder / "gpt-4_single.jsonl"), read_judgments(folder / "gpt-4_pair.jsonl")
    for path, records in ((folder / "gpt-4_single.jsonl", singles), (folder / "gpt-4_pair.jsonl", pairs)):
        assert written(records) == path.read_text(encoding="utf-8")
    assert all(isinstance(r, SingleJudgment) for r in singles) and all(isinstance(r, PairJudgment) for r in pairs)
    # the failed ones are records too: an error, no verdict, the raw reply kept
    failed = [r for r in singles + pairs if r.failed]
    assert failed and all(r.error and "unparseable" in r.error for r in failed)
    assert all(r.score is None for r in failed if isinstance(r, SingleJudgment))
    assert all(r.combined_winner is None for r in failed if isinstance(r, PairJudgment))
    ok = next(r for r in singles if not r.failed)
    assert list(ok.to_json()) == FASTCHAT_SINGLE + ["bench", "category", "usage"]
    assert isinstance(ok.score, float) and ok.judge == JudgeName("gpt-4", "single-v1")


def _match(pairwise: bool) -> Match:
    prompts = load_prompt_file(BUILTIN_SETS["en"])
    q = Question(7, "math", ["What is 17 times 6?"])
    answers = tuple(Answer(7, m, [{"index": 0, "turns": ["102"]}]) for m in (("a", "b") if pairwise else ("a",)))
    return Match(q, 1, tuple(a.model_id for a in answers), answers, prompts["pair-v2" if pairwise else "single-v1"])


def test_distribution_records_keep_fastchats_fields_first_and_round_trip():
    single = _match(False)
    dist = {str(i): 0.1 for i in range(1, 11)}
    rec = single_record(single, "judge", "demo", GenResult(text="Rating: [[7]]", distribution=dist), "p",
                        distribution_request(single, single.games()[0], "en"))
    assert list(rec.to_json()) == FASTCHAT_SINGLE + ["bench", "category", "score_distribution", "expected_score"]
    pair = _match(True)
    reqs = tuple(distribution_request(pair, g, "en") for g in pair.games())
    g1, g2 = {"A": 0.6, "B": 0.3, "C": 0.1}, {"A": 0.2, "B": 0.7, "C": 0.1}
    prec = pair_record(pair, "judge", "demo", GenResult(text="[[A]]", distribution=g1),
                       GenResult(text="[[X]]", distribution=g2), ("p1", "p2"), reqs)
    assert list(prec.to_json()) == FASTCHAT_PAIR + ["bench", "category", "g1_distribution", "g1_verdict_probs",
                                                    "g2_distribution", "g2_verdict_probs", "win_probs", "error"]
    assert prec.failed and prec.g1_winner is None and prec.error.startswith("g2: unparseable judgment")
    for r in (rec, prec):
        line = dumps(r.to_json())
        assert dumps(judgment_from_json(json.loads(line), "x.jsonl", 1).to_json()) == line


def test_unknown_fields_are_kept_and_written_back(tmp_path):
    path = tmp_path / "j.jsonl"
    lines = ['{"question_id": "q1", "model": "m", "judge": ["j", "single-v1"], "user_prompt": "p", "judgment": "ok", '
             '"score": 8, "turn": 2, "tstamp": 1.5, "annotator": {"name": "鈴木", "ids": [1, 2]}, "note": null}',
             '{"question_id": 3, "model_1": "a", "model_2": "b", "g1_winner": "error", "g2_winner": "tie", '
             '"judge": ["j", "pair-v2"], "turn": 1, "source": "legacy"}']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    single, pair = read_judgments(path)
    assert single.extra == {"annotator": {"name": "鈴木", "ids": [1, 2]}, "note": None} and single.score == 8
    assert pair.extra == {"source": "legacy"}
    assert pair.failed and pair.combined_winner is None  # FastChat's legacy "error" winner
    assert written([single, pair]) == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("record, field, message", [
    ({"question_id": 1, "model": "m", "judge": "gpt-4", "score": 5}, "judge", "must be [judge model, prompt name]"),
    ({"question_id": 1, "model_1": "a", "model_2": "b", "g1_winner": "A", "g2_winner": "tie"}, "g1_winner",
     "must be model_1, model_2, tie, error or null"),
    ({"question_id": 1, "model": "m", "score": "8"}, "score", "must be a number"),
    ({"question_id": 1, "model": "m", "score": 8, "turn": 0}, "turn", "must be a positive integer"),
    ({"question_id": 1, "model_1": "a", "g1_winner": "tie", "g2_winner": "tie"}, "model_2", "is missing"),
    ({"model": "m", "score": 8}, "question_id", "is missing"),
    ({"question_id": 1, "model": "m", "score": 8, "usage": [1]}, "usage", "must be a JSON object"),
])
def test_a_bad_record_is_one_error_naming_file_line_and_field(tmp_path, record, field, message):
    path = tmp_path / "bad.jsonl"
    good = {"question_id": 9, "model": "m", "judge": ["j", "single-v1"], "score": 3, "turn": 1}
    path.write_text(json.dumps(good) + "\n" + json.dumps(record) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_judgments(path)
    assert (err.value.path, err.value.line, err.value.field) == (str(path), 2, field)
    assert str(err.value).startswith(f"{path}:2: field '{field}': {message}")


def test_show_result_reports_a_bad_record_in_one_line(tmp_path, capsys):
    path = tmp_path / "gpt-4_pair.jsonl"
    path.write_text('{"question_id": 1, "model_1": "a", "model_2": "b", "g1_winner": "model_1", "g2_winner": 2}\n')
    assert cli.run(show_result.main, ["--input-file", str(path), "--mode", "pairwise-all"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: {path}:1: field 'g2_winner': must be")
    path.write_text('{"question_id": 1, "verdict": "A"}\n')
    assert cli.run(show_result.main, ["--input-file", str(path)]) == 2
    assert "is neither a single judgment" in capsys.readouterr().err


def test_one_key_per_kind_for_records_matches_and_the_store(tmp_path):
    single, pair = _match(False), _match(True)
    srec = single_record(single, "judge", "demo", GenResult(text="Rating: [[7]]"), "p")
    prec = pair_record(pair, "judge", "demo", GenResult(text="[[A]]"), GenResult(text="[[C]]"), ("p1", "p2"))
    assert srec.key == single.key("judge") == single_key(JudgeName("judge", "single-v1"), 7, "a", 1)
    assert prec.key == pair.key("judge") == pair_key(JudgeName("judge", "pair-v2"), 7, "a", "b", 1)
    assert prec.combined_winner == "tie" and not prec.failed  # A in game 1, a tie in game 2
    assert pair.key("other-judge") != prec.key and single.key("judge") != prec.key
    # the order of the pair is part of the identity: (b, a) is another judgment
    assert pair_key(prec.judge, 7, "b", "a", 1) != prec.key
    assert json_key(srec.to_json(), pairwise=False) == srec.key
    with pytest.raises(ValueError, match="field 'model_1': is missing"):
        json_key(srec.to_json(), pairwise=True)
    path = tmp_path / "pair.jsonl"
    with judgment_store(path, pairwise=True) as store:
        store.append(prec.to_json())
    with judgment_store(path, pairwise=True) as store:
        assert pair.key("judge") in store and len(store.done) == 1
    path.write_text('{"question_id": 1, "model_1": "a", "model_2": "b", "judge": ["j"]}\n')
    with pytest.raises(InputError, match=r"pair.jsonl:1: record has no usable key \(field 'judge': must be"):
        judgment_store(path, pairwise=True)


def test_failed_follows_the_error_field_and_fastchats_legacy_markers():
    base = {"question_id": 1, "model": "m"}
    assert not judgment_from_json({**base, "score": 0}, "x", 1).failed
    assert judgment_from_json({**base, "score": -1}, "x", 1).failed  # FastChat wrote -1 when it found no rating
    assert judgment_from_json({**base, "score": None}, "x", 1).failed
    assert judgment_from_json({**base, "score": 9, "error": "timeout"}, "x", 1).failed
    pair = {"question_id": 1, "model_1": "a", "model_2": "b"}
    assert judgment_from_json({**pair, "g1_winner": "model_2", "g2_winner": "model_2"}, "x", 1).combined_winner \
        == "model_2"
    assert judgment_from_json({**pair, "g1_winner": "tie", "g2_winner": None}, "x", 1).failed
