"""show_result's streaming reader (results/stream.py) gives the typed reader's tables, ratings and errors.

The fast path is checked against records.read_judgments on the published jp_bench pair file and on a copy
with every kind of record the tables treat apart: FastChat's "error" verdict in one order and in both, our
own failed records (an error field, null winners), verdict probabilities (the position tables' p_first),
a second judge written as judge_model/judge_prompt, and a blank line. Each check runs with msgspec and with
the standard json module the reader falls back to.
"""
import json

import pytest

from llm_judge.errors import InputError
from llm_judge.records import read_judgments
from llm_judge.results import stream
from llm_judge.results.aggregate import CountedPair
from llm_judge.results.ratings import rate
from llm_judge.results.report import pairwise_tables

JP = ("jp_bench", "model_judgment", "fastchat_era_2023-08", "gpt-4_pair.jsonl")
SFT, PPO, BASE = "rinna-3.6b-sft-v2", "rinna-3.6b-ppo", "rinna-3.6b"


@pytest.fixture(params=["msgspec", "json"])
def decoder(request, monkeypatch):
    if request.param == "json":
        monkeypatch.setattr(stream, "msgspec", None)
    elif stream.msgspec is None:
        pytest.skip("msgspec is not installed (pip install 'llm_judge[fast]')")
    return request.param


def _mixed(published_data, tmp_path):
    """The published file with the cases the tables treat apart (see the module docstring)."""
    lines = [json.loads(line) for line in published_data(*JP).read_text(encoding="utf-8").splitlines()]
    lines[0]["g2_winner"] = "error"
    lines[2]["g1_winner"] = "error"
    lines[8]["g1_winner"] = lines[8]["g2_winner"] = "error"
    lines[9].update(g1_winner=None, g2_winner=None, error="judge call failed: timeout")
    for i, rec in enumerate(lines[20:60]):
        rec["g1_verdict_probs"] = {"A": 0.5 + i / 97.0, "B": 0.3, "C": 0.2 - i / 400.0}
        if i % 3:
            rec["g2_verdict_probs"] = {"A": 0.1 + i / 53.0, "B": 0.4}
    for rec in lines[100:140]:
        del rec["judge"]
        rec.update(judge_model="local-judge", judge_prompt="pair-v2")
    text = "\n".join(json.dumps(rec, ensure_ascii=False) for rec in lines[:120]) + "\n\n"
    text += "\n".join(json.dumps(rec, ensure_ascii=False) for rec in lines[120:]) + "\n"
    path = tmp_path / "gpt-4_pair.jsonl"
    path.write_text(text, encoding="utf-8")
    return path


def _tables(records, rule, baseline=None, models=None):
    mode = "pairwise-baseline" if baseline else "pairwise-all"
    return [(t.title, t.columns, t.rows, t.note) for t in pairwise_tables(records, models, baseline, mode, rule)]


@pytest.mark.parametrize("rule", ["drop", "tie"])
def test_published_file_gives_the_same_tables(published_data, decoder, rule):
    path = published_data(*JP)
    counted = stream.read_counted([path])
    assert all(isinstance(r, CountedPair) for r in counted) and sum(r.count for r in counted) == 240
    assert len(counted) < 40  # 3 pairs x the winner combinations seen, not 240 records
    assert _tables(counted, rule) == _tables(read_judgments(path), rule)


@pytest.mark.parametrize("rule", ["drop", "tie"])
@pytest.mark.parametrize("scope", [{}, {"baseline": PPO}, {"models": [SFT, PPO]}])
def test_failed_records_distributions_and_two_judges_give_the_same_tables(published_data, tmp_path, decoder, rule,
                                                                           scope):
    path = _mixed(published_data, tmp_path)
    typed, counted = read_judgments(path), stream.read_counted([path])
    got, want = _tables(counted, rule, **scope), _tables(typed, rule, **scope)
    assert got == want
    notes = " ".join(str(n) for _, _, _, n in want)
    assert "error\" verdict" in notes and "failed and are not counted" in notes  # the cases are really there
    judges = {row[0]: row for row in want[-1][2]}
    assert set(judges) == {"gpt-4", "local-judge"} and judges["gpt-4"][-1] is not None  # p_first shown
    assert sum(r.count for r in counted) == 240 and len(counted) < 240


@pytest.mark.parametrize("rule", ["drop", "tie"])
def test_ratings_are_the_same_from_counted_records(published_data, tmp_path, rule):
    path = _mixed(published_data, tmp_path)
    one, two = rate(read_judgments(path), bootstrap=200, seed=5, failed_games=rule), \
        rate(stream.read_counted([path]), bootstrap=200, seed=5, failed_games=rule)
    assert one == two


def test_a_file_with_single_judgments_is_left_to_the_typed_reader(tmp_path, decoder):
    pair = {"question_id": 1, "model_1": "a", "model_2": "b", "g1_winner": "tie", "g2_winner": "tie", "turn": 1}
    single = {"question_id": 1, "model": "a", "score": 7, "judge": ["j", "single-v1"], "turn": 1}
    path = tmp_path / "mixed.jsonl"
    path.write_text(json.dumps(pair) + "\n" + json.dumps(single) + "\n")
    assert stream.read_counted([path]) is None
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    assert stream.read_counted([empty]) == []


GOOD = {"question_id": 7, "model_1": "a", "model_2": "b", "g1_winner": "model_1", "g2_winner": "tie",
        "judge": ["gpt-4", "pair-v2"], "g1_judgment": "A is better [[A]]", "turn": 1, "tstamp": 1.5}
BAD = [
    ('"g1_winner": "A"', {"g1_winner": "A"}),
    ("turn 0", {"turn": 0}),
    ("turn null", {"turn": None}),
    ("turn true", {"turn": True}),
    ("empty question_id", {"question_id": ""}),
    ("question_id 1.5", {"question_id": 1.5}),
    ("question_id missing", {"question_id": None}),
    ("model_2 empty", {"model_2": ""}),
    ("judge of three", {"judge": ["gpt-4", "pair-v2", "x"]}),
    ("judge_model without a prompt", {"judge": None, "judge_model": "gpt-4"}),
    ("judgment a number", {"g1_judgment": 3}),
    ("tstamp a string", {"tstamp": "today"}),
    ("verdict probs a list", {"g1_verdict_probs": [0.5, 0.5]}),
    ("error a list", {"error": ["x"]}),
]


def _write(path, bad_line: str) -> None:
    good = json.dumps(GOOD)
    path.write_bytes(f"{good}\n{good}\n".encode() + bad_line.encode("utf-8", "surrogateescape") + f"\n{good}\n".encode())


@pytest.mark.parametrize("what,change", BAD, ids=[b[0] for b in BAD])
def test_a_malformed_record_is_the_typed_readers_error(tmp_path, decoder, what, change):
    rec = {k: v for k, v in {**GOOD, **change}.items() if not (k == "question_id" and v is None)}
    if change.get("judge", 1) is None:
        del rec["judge"]
    path = tmp_path / "bad.jsonl"
    _write(path, json.dumps(rec))
    with pytest.raises(InputError) as typed:
        read_judgments(path)
    with pytest.raises(InputError) as fast:
        stream.read_counted([path])
    assert str(fast.value) == str(typed.value)
    assert fast.value.line == 3 and fast.value.field and "\n" not in str(fast.value)


@pytest.mark.parametrize("line", ['{"question_id": 7, "model_1": "a",', "[1, 2]", '"just text"', "caf\udce9"],
                         ids=["truncated", "a list", "a string", "bad UTF-8"])
def test_bad_json_is_the_typed_readers_error(tmp_path, decoder, line):
    path = tmp_path / "bad.jsonl"
    _write(path, line)
    with pytest.raises(InputError) as typed:
        read_judgments(path)
    with pytest.raises(InputError) as fast:
        stream.read_counted([path])
    assert str(fast.value) == str(typed.value) and fast.value.line == 3


def test_show_result_prints_the_typed_tables_and_stops_at_a_bad_line_with_status_2(published_data, tmp_path, capsys):
    from llm_judge import cli
    from llm_judge.cli import show_result
    from llm_judge.results.tables import render

    path = _mixed(published_data, tmp_path)
    assert cli.run(show_result.main, ["--input-file", str(path), "--mode", "pairwise-all", "--format", "json"]) == 0
    printed = capsys.readouterr().out
    assert printed.strip() == render(pairwise_tables(read_judgments(path), None, None, "pairwise-all"), "json", 2)
    lines = path.read_text(encoding="utf-8").splitlines()
    bad = json.loads(lines[4])
    bad["g2_winner"] = "B"
    lines[4] = json.dumps(bad, ensure_ascii=False)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert cli.run(show_result.main, ["--input-file", str(path), "--mode", "pairwise-all"]) == 2
    out = capsys.readouterr()
    assert out.out == "" and out.err.strip().count("\n") == 0
    assert f"{path}:5: field 'g2_winner': must be model_1, model_2, tie, error or null" in out.err
