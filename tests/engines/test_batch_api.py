"""--batch end to end: the real openai / anthropic SDKs against the loopback server's batch protocols.

Same records as a live run with each provider; requests that fail inside a batch retried (in a new batch,
or live); expired and cancelled batches resubmitted; the batch price in the cost preview; and the
custom_id rule. The kill-and-resume test is test_batch_resume.py.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from fakeapi import FakeAPI, use_keys
from fakeapi import answer_or_judge as reply
from llm_judge.cli import gen_judgment, gen_model_answer
from llm_judge.engines.api.batch import custom_id
from llm_judge.engines.api.costs import PriceTable
from llm_judge.jsonl import read_jsonl

pytestmark = pytest.mark.api

KEY = "sk-test-0123456789-SECRET"
JUDGES = {"openai": "gpt-4", "anthropic": "claude-3-haiku-20240307"}
TURNS = 27  # judgments of one model on the demo bench (20 questions, 7 with a second turn)


@pytest.fixture
def api(monkeypatch):
    use_keys(monkeypatch, KEY)
    with FakeAPI(api_key=KEY, reply=reply) as server:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
        server.batches.delay = 0.2
        yield server


@pytest.fixture
def bench(api, data_dir):
    """The demo bench answered (live) by one OpenAI model."""
    assert gen_model_answer.main(["--data-dir", str(data_dir), "--model-path", "gpt-3.5-turbo", "--max-new-token", "32",
                                  "--api-base", api.openai_base]) == 0
    return data_dir / "demo_bench"


def judge(api: FakeAPI, bench: Path, provider: str, out: Path, *extra: str) -> int:
    base = ["--api-base", api.openai_base] if provider == "openai" else []
    return gen_judgment.main(["--data-dir", str(bench.parent), "--judge-model", JUDGES[provider], "--output-file",
                              str(out), "--batch-poll", "0.02", *base, *extra])


def records(path: Path) -> list[dict]:
    rows = read_jsonl(path)
    for r in rows:
        r.pop("tstamp")
    return sorted(rows, key=lambda r: (str(r["question_id"]), r["turn"]))


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_batch_run_gives_the_live_run_records(api, bench, provider, capsys):
    live, batch = bench / "live.jsonl", bench / "batch.jsonl"
    assert judge(api, bench, provider, live) == 0
    live_calls = dict(api.stats.by_path)
    assert judge(api, bench, provider, batch, "--batch") == 0
    assert records(batch) == records(live) and len(records(live)) == TURNS
    assert len(api.batches.created) == 1  # one batch, and no live call
    for path in ("/v1/chat/completions", "/v1/messages"):
        assert api.stats.by_path.get(path) == live_calls.get(path)
    assert not Path(str(batch) + ".batches.json").exists()  # a finished run leaves no state behind
    err = capsys.readouterr().err
    assert f"batch {api.batches.created[0]} submitted with {TURNS} requests" in err
    assert "batch prices" in err and "live: ~$" in err
    if provider == "openai":  # the uploaded file is the documented request format
        lines = [json.loads(x) for x in api.batches.uploads[0].decode().splitlines()]
        assert {x["method"] for x in lines} == {"POST"} and {x["url"] for x in lines} == {"/v1/chat/completions"}
        assert len({x["custom_id"] for x in lines}) == TURNS and all(x["body"]["model"] == "gpt-4" for x in lines)
    for f in bench.parent.rglob("*"):  # no API key in anything written
        if f.is_file():
            assert KEY not in f.read_text(encoding="utf-8", errors="replace"), f


def test_progress_shows_the_batch_counts(api, bench, capsys):
    api.batches.delay = 0.3
    assert judge(api, bench, "openai", bench / "j.jsonl", "--batch") == 0
    counts = [line.rsplit(": ", 1)[-1] for line in capsys.readouterr().err.splitlines() if "completed," in line]
    assert counts[-1] == "27/27 completed, 0 failed"
    done = [int(c.split("/")[0]) for c in counts]
    assert len(done) >= 3 and done == sorted(set(done))  # shown as they change, once each


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_failed_in_batch_are_retried_in_a_new_batch_then_error_records(api, bench, provider):
    out = bench / "j.jsonl"
    # first attempt: every third request gets a 500; one request always a 500; one a 400 (never retried)
    uploads: dict[str, str] = {}

    def fault(cid: str, attempt: int) -> str | None:
        n = uploads.setdefault(cid, f"{len(uploads)}")
        if n == "0":
            return "500"
        if n == "1":
            return "400"
        return "500" if attempt == 1 and int(n) % 3 == 0 else None

    api.batches.item_fault = fault
    assert judge(api, bench, provider, out, "--batch", "--max-retries", "2") == 1
    rows = {(r["question_id"], r["turn"]): r for r in read_jsonl(out)}
    errors = [r["error"] for r in rows.values() if r.get("error")]
    assert len(rows) == TURNS and len(errors) == 2
    assert any("injected 500" in e and "(gave up after 3 batches)" in e for e in errors)
    assert any("injected 400" in e and "gave up" not in e for e in errors)
    sizes = [len(api.batches.batches[b].requests) for b in api.batches.created]
    assert sizes == [TURNS, 1 + len([n for n in range(2, TURNS) if n % 3 == 0]), 1]
    # the rerun retries exactly the two error records, in one new batch
    api.batches.item_fault = lambda cid, attempt: None
    assert judge(api, bench, provider, out, "--batch") == 0
    assert len(api.batches.batches[api.batches.created[-1]].requests) == 2
    assert len(read_jsonl(out)) == TURNS and not any(r.get("error") for r in read_jsonl(out))


def test_failed_in_batch_retried_live_with_batch_retry_live(api, bench):
    api.batches.item_fault = lambda cid, attempt: "429" if cid.startswith("q8") else None
    out = bench / "j.jsonl"
    before = api.stats.by_path.get("/v1/chat/completions", 0)  # the answers'
    assert judge(api, bench, "openai", out, "--batch", "--batch-retry", "live") == 0
    live_calls = api.stats.by_path.get("/v1/chat/completions", 0) - before
    held = [cid for cid, _ in api.batches.batches[api.batches.created[0]].requests if cid.startswith("q8")]
    assert len(api.batches.created) == 1 and live_calls == len(held) > 0
    assert len(read_jsonl(out)) == TURNS and not any(r.get("error") for r in read_jsonl(out))


@pytest.mark.parametrize("provider,fate", [("openai", "expired"), ("anthropic", "expired"),
                                           ("openai", "cancelled"), ("anthropic", "cancelled")])
def test_expired_or_cancelled_batch_is_reported_and_its_unrun_requests_resubmitted(api, bench, provider, fate,
                                                                                   capsys):
    api.batches.fate = lambda number: fate if number == 1 else "completed"
    out = bench / "j.jsonl"
    assert judge(api, bench, provider, out, "--batch") == 0
    first, second = (api.batches.batches[b] for b in api.batches.created)
    assert [cid for cid, _ in second.requests] == [cid for n, (cid, _) in enumerate(first.requests) if n % 2]
    reported = [line for line in capsys.readouterr().err.splitlines() if line.startswith("WARNING")]
    assert reported == [f"WARNING llm_judge.engines.api.batch: {JUDGES[provider]}: batch {first.id} {fate} with "
                        f"{TURNS // 2} of {TURNS} of our requests not run; resubmitting them"]
    assert records(out) and len(read_jsonl(out)) == TURNS and not any(r.get("error") for r in read_jsonl(out))


def test_batch_answers_match_live_answers(api, data_dir):
    args = ["--data-dir", str(data_dir), "--model-path", "gpt-4o-mini", "--max-new-token", "32",
            "--api-base", api.openai_base]
    live, batch = data_dir / "live.jsonl", data_dir / "batch.jsonl"
    assert gen_model_answer.main(args + ["--answer-file", str(live)]) == 0
    assert gen_model_answer.main(args + ["--answer-file", str(batch), "--batch", "--batch-poll", "0.02"]) == 0
    strip = lambda rows: [{k: v for k, v in r.items() if k not in ("answer_id", "tstamp")} for r in rows]
    assert strip(read_jsonl(batch)) == strip(read_jsonl(live))
    sizes = [len(api.batches.batches[b].requests) for b in api.batches.created]
    assert sizes == [20, 7]  # one batch per turn: turn 2 needs the model's own turn-1 answer


def test_batch_needs_an_api_model(data_dir, capsys):
    from llm_judge import cli

    assert cli.run(gen_judgment.main, ["--data-dir", str(data_dir), "--judge-model", "mock:judge", "--batch"]) == 2
    assert "--batch needs an API model" in capsys.readouterr().err


def test_cost_preview_shows_the_batch_price(api, bench, capsys, tmp_path):
    assert judge(api, bench, "openai", bench / "j.jsonl", "--dry-run") == 0
    live = capsys.readouterr().err
    assert judge(api, bench, "openai", bench / "j.jsonl", "--dry-run", "--batch") == 0
    batch = capsys.readouterr().err
    usd = lambda text, at: float(text.split("~$")[1].split(f" at {at}")[0])
    assert usd(batch, "gpt-4 batch") == pytest.approx(usd(live, "gpt-4") / 2, abs=0.01)
    assert "($15 in / $30 out per 1M tokens; live: ~$" in batch
    assert api.batches.created == []  # a dry run submits nothing
    table = tmp_path / "prices.json"
    table.write_text(json.dumps({"gpt-4": {"input": 10, "output": 20},
                                 "my-model": {"input": 1, "output": 2, "batch_input": 0.4, "batch_output": 0.8}}))
    prices = PriceTable.load(table)
    assert prices.lookup("gpt-4-0613", batch=True) is None  # a new list price makes the built-in batch one stale
    assert (prices.lookup("my-model-v2", batch=True).input, prices.lookup("gpt-4o", batch=True).output) == (0.4, 5)


def test_custom_ids_are_valid_unique_and_stable():
    keys = [f"q{q} t{t} g{g} model-a モデル single-v1" for q in range(50) for t in (1, 2) for g in (1, 2)]
    ids = [custom_id(k) for k in keys]
    assert len(set(ids)) == len(ids) and ids == [custom_id(k) for k in keys]
    assert all(0 < len(i) <= 64 and all(c.isascii() and (c.isalnum() or c in "-_") for c in i) for i in ids)
    assert custom_id("q81 t2 g1 a b single-v1").startswith("q81-t2-g1-a-b-single-v1-")


def test_a_malformed_state_file_is_one_error_line(api, bench, capsys):
    from llm_judge import cli

    out = bench / "j.jsonl"
    Path(str(out) + ".batches.json").write_text('{"version": 1, "batches": [{"id": "batch_1"}]}')
    assert cli.run(gen_judgment.main, ["--data-dir", str(bench.parent), "--judge-model", "gpt-4", "--output-file",
                                       str(out), "--api-base", api.openai_base, "--batch"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(f"error: {out}.batches.json: field 'batches': not a batch state file ('provider')")
    assert api.batches.created == [] and not out.exists()


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_requests_past_a_batch_limit_are_split_into_several_batches(api, bench, provider, monkeypatch):
    from llm_judge.engines.api import batch_protocols

    cls = batch_protocols.PROTOCOLS[provider]
    monkeypatch.setattr(cls, "max_requests", 10)
    assert judge(api, bench, provider, bench / "j.jsonl", "--batch") == 0
    assert [len(api.batches.batches[b].requests) for b in api.batches.created] == [10, 10, 7]
    monkeypatch.setattr(cls, "max_requests", 1000)
    monkeypatch.setattr(cls, "max_bytes", 5000)  # a judge prompt of the demo bench is about 1-2 kB
    assert judge(api, bench, provider, bench / "k.jsonl", "--batch") == 0
    sizes = [len(api.batches.batches[b].requests) for b in api.batches.created[3:]]
    assert sum(sizes) == TURNS and len(sizes) > 3 and max(sizes) < TURNS
    if provider == "openai":  # each input file within the byte limit
        assert all(len(upload) <= 5000 for upload in api.batches.uploads[3:])
    assert records(bench / "j.jsonl") == records(bench / "k.jsonl")


def test_a_panel_of_two_batch_judges_writes_each_judges_file_once(api, bench, capsys, monkeypatch):
    """Two API judges of different providers in one --batch run: each its own batch, file and state file.
    (--api-base would apply to both judges; each provider's own variable addresses each.)"""
    monkeypatch.setenv("OPENAI_BASE_URL", api.openai_base)
    args = ["--data-dir", str(bench.parent), "--judge-model", "gpt-4", "claude-3-haiku-20240307", "--batch",
            "--batch-poll", "0.02"]
    assert gen_judgment.main(args) == 0
    assert len(api.batches.created) == 2
    for judge_id in ("gpt-4", "claude-3-haiku-20240307"):
        out = bench / "model_judgment" / f"{judge_id}_single.jsonl"
        keys = [(r["question_id"], r["turn"]) for r in read_jsonl(out)]
        assert len(keys) == len(set(keys)) == TURNS and not any("error" in r for r in read_jsonl(out))
        assert not Path(str(out) + ".batches.json").exists()
    err = capsys.readouterr().err
    assert "[gpt-4]" in err and "for the 2 priced API judges together" in err  # one estimate each, and the sum
    assert gen_judgment.main(args) == 0  # a rerun has nothing to submit
    assert len(api.batches.created) == 2
