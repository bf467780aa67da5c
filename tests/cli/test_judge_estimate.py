"""Before a local generated judging run, gen_judgment prints how long it is likely to take, measured."""
from __future__ import annotations

import json
import re

import pytest

from llm_judge.cli import gen_judgment
from llm_judge.jsonl import read_jsonl

pytestmark = pytest.mark.model

LINE = re.compile(r"estimated time: at most (\d+\.\d) min \((\d+) s\) for (\d+) judge calls in (\d+) batches of "
                  r"<= (\d+), if every judgment runs to its (\d+)-token budget \(measured on the first batch in "
                  r"(\d+\.\d) s: prefill (\d+\.\d\d) s, (\d+) ms per token step")


def test_a_local_generated_run_prints_a_measured_estimate_first(data_dir, default_model_path, capsys):
    bench = data_dir / "demo_bench"
    (bench / "model_answer").mkdir(exist_ok=True)
    rows = [{"question_id": q, "answer_id": f"a{q}", "model_id": "alpha", "tstamp": 0.0,
             "choices": [{"index": 0, "turns": ["A short answer."] * 2}]} for q in (1, 3, 4)]
    (bench / "model_answer" / "alpha.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    code = gen_judgment.main(["--data-dir", str(data_dir), "--judge-model", "default", "--mode", "single",
                              "--first-n", "4", "--judge-max-new-token", "12", "--batch-size", "2",
                              "--stop-at-verdict", "--judge-engine", "hf", "--dtype", "float32"])
    err = capsys.readouterr().err
    m = LINE.search(err)
    assert m, err
    minutes, seconds, calls, batches, size, budget, probe_s, prefill, step_ms = m.groups()
    assert (int(calls), int(batches), int(size), int(budget)) == (3, 2, 2, 12)
    assert float(prefill) > 0 and float(probe_s) > 0
    # the estimate is the measured parts put together: batches x (prefill + budget x step)
    assert abs(int(seconds) - 2 * (float(prefill) + 12 * int(step_ms) / 1000)) <= 1 + 2 * 12 * 0.001
    assert abs(float(minutes) - int(seconds) / 60) <= 0.1
    assert err.index("estimated time") < err.index(" judged, ")  # printed before the run, not after
    rows = read_jsonl(bench / "model_judgment" / "smollm2-135m-instruct_single.jsonl")
    # The run went on after the estimate: three judgments written. In 12 tokens the 135M judge answers the question
    # instead of rating it, so each is an error record that keeps its text, and the exit code says so.
    assert code == 1 and len(rows) == 3
    assert [r["error"] for r in rows] == ["unparseable judgment: no rating such as [[7]] in the judge output"] * 3
    assert all(r["score"] is None and r["judgment"].strip() for r in rows)
