"""gen_model_answer and gen_judgment with API models, end to end against the loopback server.

Answers and judgments through both SDKs, the cost preview and --dry-run, failed calls written as error
records and retried exactly on the next run, a bad key stopping the run at once, and the key never
appearing in any output, log or file.
"""
from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

from fakeapi import FakeAPI, _digest, prompt_text, use_keys
from fakeapi import answer_or_judge as reply
from llm_judge.cli import gen_judgment, gen_model_answer, show_result
from llm_judge.jsonl import read_jsonl

pytestmark = pytest.mark.api

KEY = "sk-test-0123456789-SECRET"
SINGLE_FIELDS = {"question_id", "model", "judge", "user_prompt", "judgment", "score", "turn", "tstamp", "bench",
                 "category", "usage"}
PAIR_FIELDS = {"question_id", "model_1", "model_2", "g1_winner", "g2_winner", "judge", "g1_user_prompt",
               "g1_judgment", "g2_user_prompt", "g2_judgment", "turn", "tstamp", "bench", "category", "usage"}


@pytest.fixture
def api(monkeypatch):
    use_keys(monkeypatch, KEY)
    with FakeAPI(api_key=KEY, reply=reply, latency=0.01) as server:
        yield server


@pytest.fixture
def answered(api, data_dir, monkeypatch):
    """The demo bench answered by an OpenAI model (--api-base) and a Claude model (ANTHROPIC_BASE_URL)."""
    common = ["--data-dir", str(data_dir), "--max-new-token", "64", "--parallel", "8"]
    assert gen_model_answer.main(common + ["--model-path", "gpt-3.5-turbo", "--openai-api-base", api.openai_base]) == 0
    monkeypatch.setenv("ANTHROPIC_BASE_URL", api.url)
    assert gen_model_answer.main(common + ["--model-path", "claude-3-haiku-20240307", "--model-id", "claude-3-haiku"]) == 0
    monkeypatch.delenv("ANTHROPIC_BASE_URL")
    api.reset_stats()
    return data_dir / "demo_bench"


def judge(api: FakeAPI, bench: Path, *extra: str) -> int:
    return gen_judgment.main(["--data-dir", str(bench.parent), "--judge-model", "gpt-4", "--api-base", api.openai_base,
                              "--parallel", "8", *extra])


def test_api_answers_and_judgments(api, answered, capsys):
    gpt = read_jsonl(answered / "model_answer" / "gpt-3.5-turbo.jsonl")
    claude = read_jsonl(answered / "model_answer" / "claude-3-haiku.jsonl")
    assert len(gpt) == len(claude) == 20
    assert gpt[0]["generation"] == {**gpt[0]["generation"], "engine": "openai", "model": "gpt-3.5-turbo",
                                    "api_base": api.openai_base}
    assert claude[0]["generation"]["engine"] == "anthropic"
    assert claude[0]["choices"][0]["turns"][0].startswith("claude-3-haiku-20240307 answers:")
    two_turns = next(r for r in gpt if len(r["choices"][0]["turns"]) == 2)
    assert all(t.startswith("gpt-3.5-turbo answers:") for t in two_turns["choices"][0]["turns"])

    assert judge(api, answered) == 0
    rows = read_jsonl(answered / "model_judgment" / "gpt-4_single.jsonl")
    assert len(rows) == 2 * 27 and api.stats.count(200) == 54
    for r in rows:  # the same record format as a local judge's, with the usage the API reported
        assert set(r) == SINGLE_FIELDS, set(r) ^ SINGLE_FIELDS
        assert r["judge"][0] == "gpt-4" and r["score"] == float(re.findall(r"\[\[(\d+)\]\]", r["judgment"])[-1])
        assert r["usage"]["prompt_tokens"] > 0 and r["usage"]["completion_tokens"] > 0
    err = capsys.readouterr().err
    total_in = sum(r["usage"]["prompt_tokens"] for r in rows)
    assert f"54 judged, 0 already done, 0 failed; tokens in {total_in}" in err
    cost = (total_in * 30 + sum(r["usage"]["completion_tokens"] for r in rows) * 60) / 1e6
    assert f"cost ${cost:,.2f}" in err

    assert gen_judgment.main(["--data-dir", str(answered.parent), "--judge-model", "anthropic:claude-3-5-sonnet",
                              "--api-base", api.url, "--mode", "pairwise-all"]) == 0
    pairs = read_jsonl(answered / "model_judgment" / "claude-3-5-sonnet_pair.jsonl")
    assert len(pairs) == 27 and all(set(r) == PAIR_FIELDS for r in pairs)
    assert api.stats.by_path["/v1/messages"] == 54  # both orders of each pair

    assert show_result.main(["--data-dir", str(answered.parent), "--judge-model", "gpt-4"]) == 0
    out = capsys.readouterr().out
    assert "gpt-3.5-turbo" in out and "claude-3-haiku" in out


def test_cost_preview_and_dry_run(api, answered, capsys, tmp_path):
    assert judge(api, answered, "--dry-run") == 0
    err = capsys.readouterr().err
    assert api.stats.requests == 0 and not (answered / "model_judgment").exists()
    assert "54 to do = 54 judge calls" in err
    method = "tiktoken cl100k_base" if importlib.util.find_spec("bpe_openai") else "approximation"
    found = re.search(r"estimate: 54 calls, ([\d,]+) input tokens \((.*?)\), ~13,500 output tokens", err)
    assert found and found.group(2).startswith(method), err
    tokens = int(found.group(1).replace(",", ""))
    assert 54 * 100 < tokens < 54 * 1500  # the demo bench's judge prompts are a few hundred tokens each
    # a user's price table replaces the built-in price
    table = tmp_path / "prices.json"
    table.write_text(json.dumps({"gpt-4": {"input": 1000, "output": 0}}))
    assert judge(api, answered, "--dry-run", "--price-table", str(table)) == 0
    assert f"~${tokens * 1000 / 1e6:,.2f} at gpt-4 prices ($1000 in / $0 out" in capsys.readouterr().err
    table.write_text(json.dumps({"gpt-4": {"input": "cheap", "output": 0}}))
    assert gen_judgment.cli.run(gen_judgment.main, ["--data-dir", str(answered.parent), "--judge-model", "gpt-4",
                                                    "--dry-run", "--price-table", str(table)]) == 2
    assert f"{table}: field 'gpt-4': 'input' must be a number" in capsys.readouterr().err


def test_failed_calls_are_error_records_and_a_rerun_retries_exactly_them(api, answered, capsys):
    api.faults = lambda body, attempt: "500" if _digest(prompt_text(body)) % 4 == 0 else None
    assert judge(api, answered, "--max-retries", "1") == 1
    path = answered / "model_judgment" / "gpt-4_single.jsonl"
    rows = read_jsonl(path)
    failed = [r for r in rows if "error" in r]
    assert len(rows) == 54 and 5 < len(failed) < 30
    assert all(r["score"] is None and "HTTP 500" in r["error"] and "gave up after 2 attempts" in r["error"]
               for r in failed)
    assert api.stats.count(500) == 2 * len(failed)
    assert show_result.main(["--data-dir", str(answered.parent), "--judge-model", "gpt-4"]) == 0
    assert f"{len(failed)} judgments failed" in capsys.readouterr().out

    # lose two good records as well, as if the run had died before writing them
    good = [r for r in rows if "error" not in r]
    path.write_text("".join(json.dumps(r) + "\n" for r in good[2:] + failed), encoding="utf-8")
    api.faults = lambda body, attempt: None
    api.reset_stats()
    assert judge(api, answered) == 0
    assert api.stats.requests == len(failed) + 2  # exactly the failed and the missing ones
    final = read_jsonl(path)
    keys = [(r["question_id"], r["model"], r["turn"]) for r in final]
    assert len(final) == 54 and len(set(keys)) == 54 and not any("error" in r for r in final)


def test_bad_key_stops_the_run_at_once(api, answered, capsys, monkeypatch):
    wrong = "sk-wrong-9876543210-SECRET"
    monkeypatch.setenv("OPENAI_API_KEY", wrong)
    code = gen_judgment.cli.run(gen_judgment.main, ["--data-dir", str(answered.parent), "--judge-model", "gpt-4",
                                                    "--api-base", api.openai_base, "--parallel", "4"])
    err = capsys.readouterr().err
    assert code == 2
    assert "error: OpenAI model 'gpt-4'" in err and "HTTP 401" in err and "Stopped at once" in err
    assert api.stats.count(401) <= 4 and api.stats.count(200) == 0
    assert wrong not in err
    monkeypatch.delenv("OPENAI_API_KEY")
    assert gen_judgment.cli.run(gen_judgment.main, ["--data-dir", str(answered.parent), "--judge-model", "gpt-4"]) == 2
    assert "OPENAI_API_KEY is not set" in capsys.readouterr().err


def test_the_key_is_in_no_output_log_or_file(api, data_dir, capfd, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_BASE_URL", api.url)
    common = ["--data-dir", str(data_dir), "-v"]
    assert gen_model_answer.main(common + ["--model-path", "claude-3-haiku", "--max-new-token", "16",
                                           "--question-end", "3"]) == 0
    api.faults = lambda body, attempt: "429" if attempt == 1 else None  # retries get logged too
    api.retry_after = 0.05
    assert gen_judgment.main(common + ["--judge-model", "gpt-4", "--api-base", api.openai_base]) == 0
    out, err = capfd.readouterr()
    assert "HTTP 429" in err  # the debug log of the retries was on
    assert KEY not in out and KEY not in err
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    assert any("model_judgment" in str(p) for p in files)
    for p in files:
        assert KEY.encode() not in p.read_bytes(), p
    assert api.stats.auth_styles  # the key did reach the server, in a header
