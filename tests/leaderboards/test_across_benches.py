"""One table across benches: our demo bench's mean score beside Arena-Hard's score with its interval and
AlpacaEval's win rate with its standard error, one row per model."""
from __future__ import annotations

import json
import shutil

import pytest

from llm_judge.cli import show_result
from llm_judge.leaderboards import alpaca_files


def test_one_row_per_model_with_each_bench_headline_and_interval(data_dir, published_data, capsys):
    # demo bench: single scores by hand (model "claude-2.1": 8 and 6 -> 7.0)
    judgments = data_dir / "demo_bench" / "model_judgment"
    judgments.mkdir()
    rows = [{"question_id": q, "model": "claude-2.1", "judge": ["gpt-4", "single-v1"], "judgment": "[[s]]",
             "score": s, "turn": 1} for q, s in ((1, 8.0), (3, 6.0))]
    (judgments / "gpt-4_single.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    # AlpacaEval: the released claude-2.1 annotations
    results = data_dir / "alpaca_eval" / "results"
    (results / alpaca_files.BASELINE).mkdir(parents=True)
    shutil.copy(published_data("alpaca_eval", "results", alpaca_files.BASELINE, alpaca_files.OUTPUTS_FILE),
                results / alpaca_files.BASELINE)
    shutil.copytree(published_data("alpaca_eval", "results", "claude-2.1"), results / "claude-2.1")
    # Arena-Hard: one judged question (both games won strongly)
    arena = data_dir / "arena_hard_v2"
    (arena / "model_judgment" / "judge-x").mkdir(parents=True)
    (arena / "question.jsonl").write_text(json.dumps({"uid": "u1", "category": "hard_prompt", "prompt": "p"}) + "\n")
    games = [{"score": "B>>A"}, {"score": "A>>B"}]
    (arena / "model_judgment" / "judge-x" / "claude-2.1.jsonl").write_text(json.dumps(
        {"uid": "u1", "category": "hard_prompt", "model": "claude-2.1", "baseline": "o3-mini-2025-01-31",
         "games": games}) + "\n")
    assert show_result.main(["--data-dir", str(data_dir), "--bench-name", "demo_bench", "arena_hard_v2",
                             "alpaca_eval", "--format", "json"]) == 0
    across = json.loads(capsys.readouterr().out)[0]
    assert across["title"] == "across benches"
    assert across["columns"] == ["model", "demo_bench score", "arena_hard_v2 score", "arena_hard_v2 interval",
                                 "alpaca_eval win_rate", "alpaca_eval interval"]
    row = next(r for r in across["rows"] if r["model"] == "claude-2.1")
    assert row["demo_bench score"] == 7.0
    assert row["arena_hard_v2 score"] == 100.0 and row["arena_hard_v2 interval"] == "(-0.0 / +0.0)"
    assert row["alpaca_eval win_rate"] == pytest.approx(15.733506736409938, abs=1e-4)
    assert row["alpaca_eval interval"] == "SE 1.12"
