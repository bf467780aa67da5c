"""JudgeBench in eval_judge: its released outputs scored by its rule (the published numbers exactly), its
reward-model files by their first game, and judges of ours run on its pairs in both orders."""
import json

import pytest

from fakeapi import PAIR_PROMPT, FakeAPI, longer_wins
from llm_judge.cli import eval_judge
from llm_judge.jsonl import read_jsonl
from llm_judge.metaeval.judgebench import correct
from llm_judge.metaeval.loaders import load_set

pytestmark = pytest.mark.api

PAIRS = "dataset=judgebench,response_model={}.jsonl"
OUTPUT = "dataset=judgebench,response_model={},judge_name={},judge_model={}.jsonl"
SONNET, GPT4O = "claude-3-5-sonnet-20240620", "gpt-4o-2024-05-13"
TITLE = "judgebench vs human labels: JudgeBench accuracy (%)"


def score(argv, capsys):
    assert eval_judge.main(["score", *argv, "--format", "json"]) == 0
    return {t["title"]: t["rows"] for t in json.loads(capsys.readouterr().out)}


def test_released_claude_haiku_output_gives_judgebench_numbers(published_data, capsys):
    data = published_data("judgebench", "data", PAIRS.format(SONNET))
    out = published_data("judgebench", "outputs", OUTPUT.format(SONNET, "arena_hard", "claude-3-haiku-20240307"))
    [row] = score([str(data), "--pred", str(out), "--group-by", "none"], capsys)[TITLE]
    # PROVENANCE.md: JudgeBench's utils/metrics.py on this file gives 37.66, 29.41, 32.35, 9.68, 32.22
    got = [round(row[c], 2) for c in ("knowledge", "reasoning", "math", "coding", "overall")]
    assert got == [37.66, 29.41, 32.35, 9.68, 32.22]
    assert (row["judge"], row["orders"], row["n"]) == ("arena_hard/claude-3-haiku-20240307", 2, 270)
    assert row["lower_95"] < 32.22 < row["upper_95"] and row["upper_95"] - row["lower_95"] < 15
    # The output file holds the pairs too: it can be the set itself.
    [again] = score([str(out), "--pred", str(out), "--group-by", "none"], capsys)[TITLE]
    assert again == row


def test_reward_model_files_count_their_first_game(published_data, capsys):
    data = published_data("judgebench", "data", PAIRS.format(GPT4O))
    out = published_data("judgebench", "outputs", OUTPUT.format(GPT4O, "reward_model", "internlm_internlm2-7b-reward"))
    [row] = score([str(data), "--pred", f"rm={out}", "--group-by", "none"], capsys)[TITLE]
    rows = read_jsonl(out)
    # by hand from the scores: the first game shows response_A first; right when the higher score is the label's
    right = [(r["judgments"][0]["judgment"]["scores"][0] > r["judgments"][0]["judgment"]["scores"][1])
             == (r["label"] == "A>B") for r in rows]
    assert (row["orders"], row["n"]) == (1, 350)
    assert row["overall"] == pytest.approx(100 * sum(right) / len(rows))
    coding = [hit for hit, r in zip(right, rows) if r["source"] == "livecodebench"]
    assert row["coding"] == pytest.approx(100 * sum(coding) / len(coding))


def test_the_rule():
    assert correct(["1", "2"], "1") is False  # +1 - 1 = 0
    assert correct(["1", "tie"], "1") and correct(["1", None], "1")  # +1 + 0
    assert not correct(["tie", "tie"], "2") and not correct([None, None], "2")
    assert correct(["2"], "2") and not correct(["tie"], "2")


def test_bad_decision_is_one_line(published_data, tmp_path, capsys):
    out = published_data("judgebench", "outputs", OUTPUT.format(SONNET, "arena_hard", "claude-3-haiku-20240307"))
    rows = read_jsonl(out)[:3]
    rows[1]["judgments"][1]["decision"] = "A>>B"
    bad = tmp_path / "judgebench_out.jsonl"
    bad.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    code = eval_judge.cli.run(eval_judge.main, ["score", str(bad), "--pred", str(bad)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1] == (f"error: {bad}:2: field 'judgments[1].decision': must be one of \"A>B\", \"B>A\", \"A=B\", "
                       "null, got \"A>>B\"")


def shortest(published_data, n):
    data = published_data("judgebench", "data", PAIRS.format(SONNET))
    pairs = sorted(load_set(data).items, key=lambda p: len(p.turns[0]) + len(p.answers_1[0]) + len(p.answers_2[0]))
    return data, pairs[:n]


KEY = "sk-test-judgebench-0123456789"


def test_api_judge_runs_both_orders(published_data, tmp_path, monkeypatch, capsys):
    data, pairs = shortest(published_data, 6)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    prompts = tmp_path / "judge.jsonl"
    prompts.write_text(json.dumps(PAIR_PROMPT) + "\n", encoding="utf-8")
    with FakeAPI(api_key=KEY, reply=longer_wins) as api:
        rows = score_run(["run", str(data), "--ids", *[p.id for p in pairs], "--judge-model", "gpt-4",
                          "--judge-file", str(prompts), "--output-dir", str(tmp_path), "--group-by", "none",
                          "--api-base", api.openai_base], capsys)
    # A length rule ignores the order, so both orders name the longer response: right when it is the label's.
    right = [("1" if len(p.answers_1[0]) > len(p.answers_2[0]) else "2") == p.label for p in pairs]
    assert (rows["orders"], rows["n"]) == (2, 6)
    assert rows["overall"] == pytest.approx(100 * sum(right) / 6)
    records = read_jsonl(tmp_path / "judgebench" / "gpt-4_pair.jsonl")
    assert sorted(r["question_id"] for r in records) == sorted(p.id for p in pairs)
    assert all(r["g1_winner"] in ("model_1", "model_2") and r["g2_winner"] == r["g1_winner"] for r in records)


def score_run(argv, capsys):
    assert eval_judge.main([*argv, "--format", "json"]) == 0
    tables = {t["title"]: t["rows"] for t in json.loads(capsys.readouterr().out)}
    [row] = tables[TITLE]
    return row


@pytest.mark.model
def test_default_judge_runs_both_orders(published_data, tmp_path, default_model_path, capsys):
    data, pairs = shortest(published_data, 2)
    row = score_run(["run", str(data), "--ids", *[p.id for p in pairs], "--judge-model", "default",
                     "--judge-method", "distribution", "--output-dir", str(tmp_path), "--group-by", "none"], capsys)
    records = read_jsonl(next((tmp_path / "judgebench").glob("*_pair.jsonl")))
    winner = {"model_1": "1", "model_2": "2", "tie": "tie"}
    verdicts = {r["question_id"]: [winner[r["g1_winner"]], winner[r["g2_winner"]]] for r in records}
    assert len(records) == 2 and all("g1_distribution" in r and "g2_distribution" in r for r in records)
    assert row["n"] == 2 and row["overall"] == pytest.approx(50 * sum(correct(verdicts[p.id], p.label) for p in pairs))
