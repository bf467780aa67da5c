"""A panel of three API judges end to end: gen_judgment --judge-model A B C against one loopback server that
answers as three different judges (keyed by the request's model), then show_result --panel.

Two mock models answer the demo bench ("Alpha says hello", "Beta says hello"). The judges prefer, in model
terms, for (English turn 1, English turn 2, Japanese turn 1, Japanese turn 2) games (12, 5, 8 and 2 of the
27 pairwise-all games):
    gpt-4o       alpha alpha beta  beta
    gpt-4o-mini  alpha beta  alpha beta
    gpt-4.1      alpha tie   tie   tie
each in both orders, so FastChat's rule keeps their verdicts. The panel's majority: alpha on English turn 1
(12 games), beta on Japanese turn 2 (2), a tie elsewhere (13). In single mode they score alpha / beta
8 / 4, 6 / 6 and 9 / 1.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fakeapi import FakeAPI
from llm_judge import cli as cli_run
from llm_judge.cli import gen_judgment, gen_model_answer, show_result
from llm_judge.jsonl import read_jsonl

pytestmark = pytest.mark.api

KEY = "sk-test-panel"
JUDGES = ["gpt-4o", "gpt-4o-mini", "gpt-4.1"]
PREFERS = {"gpt-4o": "aabb", "gpt-4o-mini": "abab", "gpt-4.1": "attt"}
SCORES = {"gpt-4o": (8, 4), "gpt-4o-mini": (6, 6), "gpt-4.1": (9, 1)}
CJK = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def reply(body: dict, text: str) -> str:
    """The verdict of the judge the request names (see the module's docstring)."""
    judge = body["model"]
    if "[[A]]" not in text:  # a single-answer prompt
        alpha, beta = SCORES[judge]
        return f"Rating: [[{alpha if 'Alpha says' in text else beta}]]"
    case = 2 * bool(CJK.search(text)) + (text.count("Alpha says") > 1)  # a turn-2 prompt shows both turns
    want = PREFERS[judge][case]
    if want == "t":
        return "Both are alike. [[C]]"
    alpha_first = text.index("Alpha says") < text.index("Beta says")
    return "[[A]]" if (want == "a") == alpha_first else "[[B]]"


@pytest.fixture
def api(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with FakeAPI(api_key=KEY, reply=reply, latency=0.01) as server:
        yield server


@pytest.fixture
def bench(data_dir: Path, tmp_path: Path) -> Path:
    for name in ("alpha", "beta"):
        script = tmp_path / f"{name}.jsonl"
        script.write_text(json.dumps({"reply": f"{name.title()} says hello"}) + "\n", encoding="utf-8")
        assert gen_model_answer.main(["--data-dir", str(data_dir), "--model-path", f"mock:{script}"]) == 0
    return data_dir / "demo_bench"


def judge(api: FakeAPI, bench: Path, *extra: str, judges: list[str] = JUDGES) -> int:
    return cli_run.run(gen_judgment.main, ["--data-dir", str(bench.parent), "--judge-model", *judges,
                                           "--api-base", api.openai_base, *extra])


def show(bench: Path, capsys, *extra: str) -> dict:
    """show_result's tables (JSON) for the three judges' panel, by title."""
    assert show_result.main(["--data-dir", str(bench.parent), "--judge-model", *JUDGES, "--format", "json",
                             *extra]) == 0
    return {t["title"]: t for t in json.loads(capsys.readouterr().out)}


def test_dry_run_previews_every_judge(api, bench, capsys):
    assert judge(api, bench, "--mode", "pairwise-all", "--dry-run") == 0
    err = capsys.readouterr().err
    assert api.stats.requests == 0 and not (bench / "model_judgment").exists()
    for j in JUDGES:
        assert f"27 to do = 54 judge calls to {j}" in err
        assert re.search(rf"estimate: ~\$[\d.]+ at {re.escape(j)} prices .*\[{re.escape(j)}\]", err), err
    costs = [float(c) for c in re.findall(r"estimate: ~\$([\d.]+) at ", err)]
    total = re.search(r"estimate: ~\$([\d.]+) for the 3 priced API judges together", err)
    assert total and float(total.group(1)) == pytest.approx(sum(costs), abs=0.02)


def test_three_judges_three_files_concurrently_then_the_panel(api, bench, capsys):
    assert judge(api, bench, "--mode", "pairwise-all", "--parallel", "1") == 0
    for j in JUDGES:
        rows = read_jsonl(bench / "model_judgment" / f"{j}_pair.jsonl")
        assert len(rows) == 27 and {r["judge"][0] for r in rows} == {j} and not any("error" in r for r in rows)
    # one call in flight per judge (--parallel 1), three judges at once
    assert api.stats.max_in_flight == 3 and api.stats.count(200) == 3 * 54

    tables = show(bench, capsys, "--mode", "pairwise-all", "--ratings", "--bootstrap", "0")
    per_model = tables["pairwise: per model"]
    alpha = next(r for r in per_model["rows"] if r["model"] == "alpha")
    assert (alpha["win"], alpha["loss"], alpha["tie"], alpha["failed"]) == (12, 2, 13, 0)
    assert alpha["win_rate_adjusted"] == pytest.approx((12 + 13 / 2) / 27)
    assert "panel: majority of 3 judges (gpt-4o, gpt-4o-mini, gpt-4.1)" in per_model["note"]
    assert "verdict rule: fastchat" in per_model["note"]
    assert list(tables)[1] == "pairwise: inter-judge agreement on verdicts"  # beside the panel's table
    rows = {(r["judge_1"], r["judge_2"]): r for r in tables["pairwise: inter-judge agreement on verdicts"]["rows"]}
    # Cohen's kappa by hand over the 27 games (p_o, p_e from the marginals):
    #   4o/mini: same on 12+2; 4o alpha 17 beta 10, mini alpha 20 beta 7: (378-410)/(729-410)
    #   4o/4.1: same on 12; 4.1 alpha 12 tie 15: p_e = 17*12/729: (324-204)/(729-204)
    #   mini/4.1: same on 12; p_e = 20*12/729: (324-240)/(729-240)
    expected = {("gpt-4o", "gpt-4o-mini"): (14, -32 / 319), ("gpt-4o", "gpt-4.1"): (12, 120 / 525),
                ("gpt-4o-mini", "gpt-4.1"): (12, 84 / 489)}
    for pair, (same, kappa) in expected.items():
        assert rows[pair]["n"] == 27
        assert rows[pair]["agreement"] == pytest.approx(100 * same / 27)
        assert rows[pair]["kappa"] == pytest.approx(kappa)
    ratings = tables["pairwise: Bradley-Terry ratings (Elo scale)"]
    assert ratings["rows"][0]["model"] == "alpha" and "panel: majority" in ratings["note"]
    judges = {r["judge"] for r in tables["pairwise: position bias per judge (%)"]["rows"]}
    assert judges == set(JUDGES)  # each judge's own verdicts in each order

    # resume: lose 7 of gpt-4o-mini's records; a rerun judges exactly those (two calls each)
    path = bench / "model_judgment" / "gpt-4o-mini_pair.jsonl"
    path.write_text("".join(path.read_text(encoding="utf-8").splitlines(keepends=True)[:20]), encoding="utf-8")
    api.reset_stats()
    assert judge(api, bench, "--mode", "pairwise-all") == 0
    err = capsys.readouterr().err
    assert api.stats.requests == 14 and len(read_jsonl(path)) == 27
    assert "27 already in" in err and "20 already in" in err and "7 to do = 14 judge calls to gpt-4o-mini" in err


def test_single_mode_mean_and_median(api, bench, capsys):
    assert judge(api, bench) == 0
    mean = show(bench, capsys)
    scores = {r["model"]: r["score"] for r in mean["single: mean score (1-10)"]["rows"]}
    assert scores == {"alpha": pytest.approx(23 / 3), "beta": pytest.approx(11 / 3)}
    assert "panel: mean of 3 judges" in mean["single: mean score (1-10)"]["note"]
    rows = {(r["judge_1"], r["judge_2"]): r for r in mean["single: inter-judge agreement on scores"]["rows"]}
    exact = rows[("gpt-4o", "gpt-4.1")]  # 8/4 against 9/1: never the same score, perfectly correlated
    assert exact["n"] == 54 and exact["agreement"] == 0.0 and exact["kappa"] == 0.0
    assert exact["pearson"] == pytest.approx(1.0) and exact["spearman"] == pytest.approx(1.0)
    assert rows[("gpt-4o", "gpt-4o-mini")]["pearson"] is None  # gpt-4o-mini gives every answer 6
    assert rows[("gpt-4o", "gpt-4o-mini")]["agreement"] == 0.0
    median = show(bench, capsys, "--panel", "median")
    assert {r["model"]: r["score"] for r in median["single: mean score (1-10)"]["rows"]} == {"alpha": 8, "beta": 4}


def test_panel_errors(api, bench, capsys):
    assert judge(api, bench, "--judge-model-id", "a", "b") == 2
    assert "--judge-model-id: 2 ids for 3 judges" in capsys.readouterr().err
    assert judge(api, bench, judges=["gpt-4o", "openai:gpt-4o"]) == 2
    assert "two judges have the id 'gpt-4o'" in capsys.readouterr().err
    assert judge(api, bench, "--output-file", str(bench / "x.jsonl")) == 2
    assert "--output-file names one judgment file, and 3 judges" in capsys.readouterr().err
    assert api.stats.requests == 0

    assert judge(api, bench, judges=["gpt-4o", "gpt-4.1"]) == 0
    capsys.readouterr()
    code = cli_run.run(show_result.main, ["--data-dir", str(bench.parent), "--judge-model", *JUDGES])
    err = capsys.readouterr().err
    missing = bench / "model_judgment" / "gpt-4o-mini_single.jsonl"
    assert code == 2 and f"{missing}: no judgment file" in err and len(err.strip().splitlines()) == 1
    code = cli_run.run(show_result.main, ["--data-dir", str(bench.parent), "--judge-model", "gpt-4o", "--panel", "mean"])
    assert code == 2 and "--panel mean combines several judges" in capsys.readouterr().err
    code = cli_run.run(show_result.main, ["--data-dir", str(bench.parent), "--judge-model", "gpt-4o", "gpt-4.1",
                                          "--panel", "majority"])
    assert code == 2 and "--panel majority does not apply to single judgments" in capsys.readouterr().err


def test_eval_judge_scores_a_panel_against_human_labels(tmp_path, capsys):
    from llm_judge.cli import eval_judge

    labels = {"p1": "1", "p2": "2", "p3": "tie", "p4": "1"}
    rows = [{"id": i, "question": f"q {i}", "response_1": "x", "response_2": "y", "label": v} for i, v in labels.items()]
    labelled = tmp_path / "mine.jsonl"
    labelled.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    verdicts = {  # both orders, in the set's terms; final verdicts a: 1 2 tie 2, b: 1 1 1 1, c: 2 2 tie (none)
        "a": [["1", "1"], ["2", "2"], ["1", "2"], ["2", "2"]],
        "b": [["1", "1"]] * 4,
        "c": [["2", "2"], ["2", "2"], ["tie", "tie"], [None, "1"]],
    }
    preds = []
    for name, per_pair in verdicts.items():
        path = tmp_path / f"{name}.jsonl"
        path.write_text("".join(json.dumps({"id": i, "verdicts": v}) + "\n" for i, v in zip(labels, per_pair)),
                        encoding="utf-8")
        preds += ["--pred", f"{name}={path}"]
    assert eval_judge.main(["score", str(labelled), *preds, "--panel", "majority", "--format", "json"]) == 0
    (table,) = [t for t in json.loads(capsys.readouterr().out) if t["title"].endswith("agreement")]
    got = {r["judge"]: r for r in table["rows"]}
    # the panel: p1 1 (a, b), p2 2 (a, c), p3 tie (a, c), p4 2 against 1 with c silent: no majority, a tie
    assert got["panel(a+b+c)"]["n"] == 4 and got["panel(a+b+c)"]["agree %"] == 75.0
    assert got["a"]["agree %"] == 75.0 and got["b"]["agree %"] == 50.0
    code = cli_run.run(eval_judge.main, ["score", str(labelled), *preds[:4], "--panel", "majority",
                                         "--against", "a"])
    assert code == 2 and "--panel combines several judges; got 1" in capsys.readouterr().err


def test_api_and_local_judges_in_one_run(api, bench, capsys):
    """An API judge on its own thread beside two local (scripted) judges taking turns: each writes its file."""
    assert judge(api, bench, "--judge-model-id", "gpt4o", "local-a", "local-b",
                 judges=["gpt-4o", "mock:judge", "mock:judge"]) == 0
    for name in ("gpt4o", "local-a", "local-b"):
        rows = read_jsonl(bench / "model_judgment" / f"{name}_single.jsonl")
        assert len(rows) == 54 and {r["judge"][0] for r in rows} == {name}
    assert api.stats.count(200) == 54  # only the API judge called the server
    assert show_result.main(["--data-dir", str(bench.parent), "--judge-model", "gpt-4o", "mock:judge", "mock:judge",
                             "--judge-model-id", "gpt4o", "local-a", "local-b", "--format", "json"]) == 0
    tables = {t["title"]: t for t in json.loads(capsys.readouterr().out)}
    rows = {(r["judge_1"], r["judge_2"]): r for r in tables["single: inter-judge agreement on scores"]["rows"]}
    assert rows[("local-a", "local-b")]["agreement"] == 100.0  # the same script scores alike

