"""Judge (engine + family + method) and the one run loop, through gen_judgment and eval_judge run with the
mock engine: scripted failures become error records that a rerun retries, and eval_judge run judges
through Ray workers exactly as in one process."""
from __future__ import annotations

import json
import logging

import pytest

from llm_judge.cli import eval_judge, gen_judgment, gen_model_answer
from llm_judge.engines.registry import resolve
from llm_judge.errors import ConfigError
from llm_judge.judging.families import load_family
from llm_judge.judging.judge import Judge
from llm_judge.jsonl import read_jsonl


def test_token_budget_method_and_wrapper():
    ours, prometheus, autoj = load_family(None), load_family("prometheus"), load_family("autoj")
    assert Judge(resolve("mock:judge"), ours).max_new_tokens == 2048
    assert Judge(resolve("mock:judge"), prometheus).max_new_tokens == 1024  # the family's own settings
    assert Judge(resolve("mock:judge"), prometheus, max_new_tokens=7).max_new_tokens == 7
    local = Judge(resolve("default"), autoj)
    assert local.engine.hf.chat_template == autoj.chat_template() and "[INST]" in local.engine.hf.chat_template
    assert Judge(resolve("default"), ours).engine.hf.chat_template is None  # the model's own template
    with pytest.raises(ConfigError, match="unknown judge method 'vote'"):
        Judge(resolve("mock:judge"), ours, "vote")
    with pytest.raises(RuntimeError, match="not open"):
        Judge(resolve("mock:judge"), ours).model


def test_api_judge_keeps_the_servers_template(caplog):
    with caplog.at_level(logging.WARNING, logger="llm_judge.judging.judge"):
        judge = Judge(resolve("gpt-4"), load_family("autoj"))
    assert judge.engine.hf.chat_template is None and "wrapper is not applied to API judges" in caplog.text


@pytest.fixture
def answered(data_dir):
    for model in ("alpha", "beta"):
        assert gen_model_answer.main(["--data-dir", str(data_dir), "--model-path", "mock:echo", "--model-id", model,
                                      "--question-end", "3"]) == 0
    return data_dir


def test_scripted_failures_are_error_records_and_a_rerun_retries_them(answered, tmp_path, capsys):
    rules = tmp_path / "flaky.jsonl"
    rules.write_text(json.dumps({"match": "barbecue", "error": "scripted outage"}) + "\n" +
                     json.dumps({"reply": "Fine. Rating: [[6]]"}) + "\n", encoding="utf-8")
    argv = ["--data-dir", str(answered), "--judge-model", f"mock:{rules}", "--judge-model-id", "flaky"]
    assert gen_judgment.main(argv) == 1
    path = answered / "demo_bench" / "model_judgment" / "flaky_single.jsonl"
    first = read_jsonl(path)
    failed = [r for r in first if r.get("error")]
    # questions 1-3 of the demo bench: 4 turns per model; question 1 (the barbecue invitation) fails
    assert len(first) == 8 and {(r["question_id"], r["error"]) for r in failed} == {(1, "scripted outage")}
    assert len(failed) == 2 and all(r["score"] is None for r in failed)
    assert all(r["score"] == 6.0 and r["usage"]["completion_tokens"] == 3 for r in first if not r.get("error"))
    assert "6 judged, 0 already done, 2 failed" in capsys.readouterr().err

    rules.write_text(json.dumps({"reply": "Now fine. Rating: [[9]]"}) + "\n", encoding="utf-8")
    assert gen_judgment.main(argv) == 0
    assert "2 judged, 6 already done, 0 failed" in capsys.readouterr().err
    final = read_jsonl(path)
    assert sorted(r["score"] for r in final) == [6.0] * 6 + [9.0] * 2
    assert [r for r in final if r["score"] == 6.0] == [r for r in first if not r.get("error")]  # kept as they were


def test_distribution_judging_with_the_mock(answered):
    out = answered / "dist.jsonl"
    assert gen_judgment.main(["--data-dir", str(answered), "--judge-model", "mock:judge", "--mode", "pairwise-all",
                              "--judge-method", "distribution", "--output-file", str(out)]) == 0
    rows = read_jsonl(out)
    assert len(rows) == 4 and all(set(r["g1_distribution"]) == {"A", "B", "C"} for r in rows)
    assert all(sum(r["win_probs"].values()) == pytest.approx(1.0) for r in rows)


PAIRS = [
    {"id": "p1", "question": "Name a fruit.", "response_1": "Pear.", "response_2": "A pear, ripe.", "label": "2"},
    {"id": "p2", "question": "What is 2 + 2?", "response_1": "4", "response_2": "5", "label": "1"},
    {"id": "p3", "question": "Say hi.", "response_1": "Hi there!", "response_2": "Hello.", "label": "1"},
]


@pytest.mark.ray
def test_eval_judge_run_through_ray_workers_judges_as_one_process(tmp_path, capsys):
    pytest.importorskip("ray")
    labelled = tmp_path / "mine.jsonl"
    labelled.write_text("".join(json.dumps(p) + "\n" for p in PAIRS), encoding="utf-8")
    common = ["run", str(labelled), "--judge-model", "mock:judge", "--format", "json"]
    assert eval_judge.main(common + ["--output-dir", str(tmp_path / "one")]) == 0
    capsys.readouterr()
    assert eval_judge.main(common + ["--output-dir", str(tmp_path / "two"), "--num-workers", "2"]) == 0
    assert "starting Ray" in capsys.readouterr().err  # the pool was used
    one, two = (read_jsonl(tmp_path / d / "mine" / "judge_pair.jsonl") for d in ("one", "two"))
    verdicts = [{r["question_id"]: (r["g1_judgment"], r["g1_winner"], r["g2_winner"]) for r in rows}
                for rows in (one, two)]
    assert verdicts[0] == verdicts[1] and len(verdicts[0]) == 3
