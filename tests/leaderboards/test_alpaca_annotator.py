"""AlpacaEval's weighted annotator end to end: through the loopback OpenAI server (one token, the top 5
log-probs, the outputs switched by AlpacaEval's seeded rule) and on the default model by distribution."""
from __future__ import annotations

import json
import math
import random
import shutil
from pathlib import Path

import pytest

from fakeapi import FakeAPI, token_entries, use_keys
from llm_judge.cli import gen_judgment, show_result
from llm_judge.leaderboards import alpaca_files as files

pytestmark = pytest.mark.api

KEY = "sk-test-alpaca"
N = 8


def expected_switch(instruction: str) -> bool:
    """AlpacaEval's rule written out again: seeded on the switch column's name, the instruction and seed 0."""
    return random.Random("is_switched_outputs" + instruction + "0").choices([False, True], k=1)[0]


@pytest.fixture
def bench(tmp_path, published_data) -> Path:
    root = tmp_path / "data" / "alpaca_eval"
    shutil.copytree(published_data("alpaca_eval", "evaluators_configs"), root / "evaluators_configs")
    baseline = json.loads(published_data("alpaca_eval", "results", files.BASELINE, files.OUTPUTS_FILE).read_text())[:N]
    mine = [dict(r, output=r["output"] if i == 0 else f"MINE-{i} a short reply", generator="mine")
            for i, r in enumerate(baseline)]
    for name, rows in ((files.BASELINE, baseline), ("mine", mine)):
        (root / "results" / name).mkdir(parents=True)
        (root / "results" / name / files.OUTPUTS_FILE).write_text(json.dumps(rows))
    return root


def first_shown(body: dict) -> str:
    user = body["messages"][-1]["content"]
    return user[user.index('"model_identifier": "m"'):user.index('"model_identifier": "M"')]


def scripted_tokens(body: dict, reply: str) -> list:
    if "MINE-5" in body["messages"][-1]["content"]:
        top = [("The", -0.1), ("Both", -2.0)]  # neither label: a failed record
    elif "MINE-" in first_shown(body):
        top = [("m", math.log(0.7)), ("M", math.log(0.2)), ("The", math.log(0.05))]
    else:
        top = [("M", math.log(0.5)), ("m", math.log(0.4))]
    return token_entries([(top[0][0], top[0][1], top)])


def test_api_annotator_reads_the_top_logprobs_and_undoes_the_switch(bench, monkeypatch, capsys):
    use_keys(monkeypatch, KEY)
    with FakeAPI(api_key=KEY, reply=lambda body, text: "m", logprobs=scripted_tokens) as server:
        code = gen_judgment.main(["--data-dir", str(bench.parent), "--bench-name", "alpaca_eval", "--judge-model",
                                  "gpt-4-1106-preview", "--api-base", server.openai_base, "--model-list", "mine"])
        bodies = list(server.stats.bodies)
    assert code == 1  # one failed record
    assert len(bodies) == N - 1  # identical outputs (instruction 0) are not sent
    for body in bodies:
        assert body["max_tokens"] == 1 and body["top_logprobs"] == 5 and body["logprobs"] is True
        assert body["temperature"] == 1 and body["messages"][0]["role"] == "system"
    rows = json.loads((bench / "results" / "mine" / files.ANNOTATOR / files.ANNOTATIONS_FILE).read_text())
    assert [r["generator_2"] for r in rows] == ["mine"] * N
    assert rows[0]["preference"] == 1.5 and "raw_completion" not in rows[0]
    switched = 0
    for i, r in enumerate(rows[1:], start=1):
        if i == 5:
            assert r["preference"] is None and "neither m nor M" in r["error"]
            continue
        body = next(b for b in bodies if f"MINE-{i} " in b["messages"][-1]["content"])
        model_first = "MINE-" in first_shown(body)
        assert model_first == expected_switch(r["instruction"])
        switched += model_first
        want = 1 + 0.7 / 0.9 if model_first else 2 - 0.4 / 0.9
        assert r["preference"] == pytest.approx(want, abs=1e-12)
    assert 0 < switched < N - 2  # both orders occur among these instructions
    # the leaderboard row from the written file
    assert show_result.main(["--input-file", str(bench / "results"), "--format", "json"]) == 0
    table = json.loads(capsys.readouterr().out)[0]
    row = table["rows"][0]
    prefs = [r["preference"] for r in rows if r["preference"] is not None]
    assert row["model"] == "mine" and row["n_total"] == N - 1 and row["n_draws"] == 1
    assert row["win_rate"] == pytest.approx(sum(p - 1 for p in prefs) / len(prefs) * 100)


def test_rerun_asks_only_the_failed_record_again(bench, monkeypatch):
    use_keys(monkeypatch, KEY)
    args = ["--data-dir", str(bench.parent), "--bench-name", "alpaca_eval", "--judge-model", "gpt-4-1106-preview",
            "--model-list", "mine"]
    with FakeAPI(api_key=KEY, reply=lambda body, text: "m", logprobs=scripted_tokens) as server:
        assert gen_judgment.main(args + ["--api-base", server.openai_base]) == 1
        server.reset_stats()
        assert gen_judgment.main(args + ["--api-base", server.openai_base]) == 1
        assert len(server.stats.bodies) == 1 and "MINE-5 " in server.stats.bodies[0]["messages"][-1]["content"]


@pytest.mark.model
def test_default_model_annotates_by_distribution(bench, default_model_path):
    path = bench / "results"
    for name in (files.BASELINE, "mine"):  # three instructions keep it short
        rows = json.loads((path / name / files.OUTPUTS_FILE).read_text())[:3]
        (path / name / files.OUTPUTS_FILE).write_text(json.dumps(rows))
    assert gen_judgment.main(["--data-dir", str(bench.parent), "--bench-name", "alpaca_eval",
                              "--judge-model", "default", "--model-list", "mine"]) == 0
    (written,) = (path / "mine").glob(f"*/{files.ANNOTATIONS_FILE}")  # tagged with the judge: not GPT-4 Turbo's
    assert written.parent.name.startswith(files.ANNOTATOR + "_by_")
    rows = json.loads(written.read_text())
    assert {r["annotator"] for r in rows} == {written.parent.name}
    assert rows[0]["preference"] == 1.5
    for r in rows[1:]:
        dist = r["raw_completion"]["distribution"]
        assert set(dist) == {"m", "M"} and sum(dist.values()) == pytest.approx(1.0)
        shown = 2 - dist["m"] / (dist["m"] + dist["M"])
        want = 3 - shown if expected_switch(r["instruction"]) else shown
        assert r["preference"] == pytest.approx(want, abs=1e-12) and 1 <= r["preference"] <= 2
