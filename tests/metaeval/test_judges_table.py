"""eval_judge report: one row per judge, each set's published headline with a bootstrap interval; the panel as a
row; and the stratified bootstrap it uses."""
import json

import numpy as np
import pytest

from llm_judge.cli import eval_judge
from llm_judge.stats import percentile, bootstrap_interval

SONNET = "dataset=judgebench,response_model=claude-3-5-sonnet-20240620.jsonl"
HAIKU = "dataset=judgebench,response_model=claude-3-5-sonnet-20240620,judge_name=arena_hard,judge_model=claude-3-haiku-20240307.jsonl"


def report(argv, capsys):
    assert eval_judge.main(["report", *argv, "--format", "json"]) == 0
    [table] = json.loads(capsys.readouterr().out)
    return {r["judge"]: r for r in table["rows"]}


def test_published_headlines_side_by_side(published_data, tmp_path, capsys):
    pandalm = published_data("pandalm", "testset-v1.json")
    natural = published_data("llmbar", "Natural")
    rm = published_data("rm_bench", "data")
    length = tmp_path / "length.jsonl"  # RM-Bench scored by response length
    length.write_text("".join(json.dumps({"id": r["id"], "subset": r["subset"],
                                          "score_chosen": [len(c) for c in r["chosen"]],
                                          "score_rejected": [len(c) for c in r["rejected"]]}) + "\n"
                              for f in sorted(rm.glob("*.json")) for r in json.loads(f.read_text("utf-8"))),
                      encoding="utf-8")
    rows = report(["--set", f"pandalm={pandalm}", "--set", f"llmbar={natural}",
                   "--set", f"judgebench={published_data('judgebench', 'data', SONNET)}", "--set", f"rm={rm}",
                   "--pred", f"pandalm:gpt-3.5={published_data('pandalm', 'gpt-3.5-turbo-testset-v1.json')}",
                   "--pred", f"pandalm:pandalm-7b={published_data('pandalm', 'pandalm-7b-testset-v1.json')}",
                   "--pred", f"llmbar:gpt-3.5={natural / 'evaluators' / 'GPT-4' / 'CoT' / 'result.json'}",
                   "--pred", f"judgebench:gpt-3.5={published_data('judgebench', 'outputs', HAIKU)}",
                   "--pred", f"rm:length={length}", "--panel", "majority", "--invalid-as", "tie"], capsys)
    assert list(rows) == ["gpt-3.5", "pandalm-7b", "panel(gpt-3.5+pandalm-7b)", "length"]
    one = rows["gpt-3.5"]  # one name on three sets (here, different judges) makes one row
    assert round(one["pandalm"], 2) == 71.07  # PandaLM's compute_metrics: accuracy 0.7107
    assert one["llmbar"] == pytest.approx(94.5)  # LLMBar's statistics.json for Natural, GPT-4 CoT: 94.5% average
    assert round(one["judgebench"], 2) == 32.22  # JudgeBench's utils/metrics.py
    assert one["rm"] is None and rows["length"]["pandalm"] is None
    assert round(rows["pandalm-7b"]["pandalm"], 2) == 66.77
    assert round(rows["length"]["rm"], 2) == 45.25  # the mean of the domains' totals (eval_judge score's table)
    for row, column in ((one, "pandalm"), (one, "llmbar"), (one, "judgebench"), (rows["length"], "rm")):
        assert row[f"{column}_lower"] < row[column] < row[f"{column}_upper"]
    assert one["pandalm_upper"] - one["pandalm_lower"] == pytest.approx(100 * 2 * 1.96 * np.sqrt(.7107 * .2893 / 999), abs=.5)
    assert (one["pandalm_n"], one["judgebench_n"], rows["length"]["rm_n"]) == (999, 270, 798)
    assert rows["panel(gpt-3.5+pandalm-7b)"]["pandalm"] == pytest.approx(60.86, abs=0.005)


def test_unknown_set_in_pred_is_one_line(published_data, capsys):
    pandalm = published_data("pandalm", "testset-v1.json")
    code = eval_judge.cli.run(eval_judge.main, ["report", "--set", f"pandalm={pandalm}", "--pred", "llmbar:x=y.json"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err[-1] == ("error: --pred 'llmbar:x=y.json': expected SET:[JUDGE=]FILE with SET one of the "
                                     "--set names (pandalm)")


def test_bootstrap_interval():
    values = list(np.random.default_rng(0).random(101))
    for q in (2.5, 50, 97.5):
        assert percentile(sorted(values), q) == pytest.approx(np.percentile(values, q))
    assert bootstrap_interval([[1.0, 1.0, 1.0], [0.0, 0.0]]) == (0.5, 0.5)  # strata weigh equally, not items
    assert bootstrap_interval([[1.0], []]) is None and bootstrap_interval([[1.0]], resamples=0) is None
    low, high = bootstrap_interval([[1.0] * 30 + [0.0] * 70], resamples=2000, seed=3)
    se = np.sqrt(0.3 * 0.7 / 100)
    assert (low, high) == pytest.approx((0.3 - 1.96 * se, 0.3 + 1.96 * se), abs=0.02)
