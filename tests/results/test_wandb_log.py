"""show_result --wandb and gen_judgment --wandb in W&B's offline mode: the run is read back from its own files.

The run's transaction log (run-<id>.wandb) is read with wandb's own reader (``wandb leet inspect --summary
--json``: config, name, project, summary); each logged table is the JSON file the summary points to under the
run's files/ folder.
"""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import require
from llm_judge.cli import gen_judgment, gen_model_answer, show_result
from llm_judge.errors import MissingDependency
from llm_judge.jsonl import read_jsonl

SFT, PPO, BASE = "rinna-3.6b-sft-v2", "rinna-3.6b-ppo", "rinna-3.6b"


@pytest.fixture
def offline(tmp_path, monkeypatch):
    wandb = require("wandb", "wandb")
    root = tmp_path / "wandb_root"
    for var, sub in (("WANDB_DIR", ""), ("WANDB_DATA_DIR", "data"), ("WANDB_CACHE_DIR", "cache"),
                     ("WANDB_CONFIG_DIR", "config")):  # everything W&B writes stays in the test's folder
        (root / sub).mkdir(parents=True, exist_ok=True)
        monkeypatch.setenv(var, str(root / sub))
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_PROJECT", "jp-vicuna")
    monkeypatch.setenv("WANDB_ENTITY", "lab")
    yield root
    wandb.teardown()  # stops the wandb-core service this test started


def read_run(root: Path) -> tuple[dict, dict]:
    """The one offline run under ``root``: its summary record (config, name, project, summary) and its tables."""
    (run_file,) = root.glob("wandb/offline-run-*/run-*.wandb")
    out = subprocess.run([sys.executable, "-m", "wandb", "leet", "inspect", "--summary", "--json", str(run_file)],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    run = json.loads(out)
    files = run_file.parent / "files"
    tables = {key: json.loads((files / value["path"]).read_text(encoding="utf-8"))
              for key, value in run["summary"].items() if isinstance(value, dict) and value.get("_type") == "table-file"}
    return run, tables


def test_show_result_logs_tables_ratings_and_plot(published_data, offline, tmp_path, capsys):
    path = published_data("jp_bench", "model_judgment", "fastchat_era_2023-08", "gpt-4_pair.jsonl")
    argv = ["--input-file", str(path), "--mode", "pairwise-all", "--ratings", "--bootstrap", "50",
            "--failed-games", "tie", "--format", "json"]
    assert show_result.main(argv + ["--wandb", "--plot", str(tmp_path / "chart.svg")]) == 0
    shown = {t["title"]: t for t in json.loads(capsys.readouterr().out)}
    run, tables = read_run(offline)
    assert (run["name"], run["project"], run["entity"], run["state"]) == ("jp_bench-pairwise-all-gpt-4", "jp-vicuna",
                                                                          "lab", "finished")
    assert run["config"]["failed_games"] == "tie" and run["config"]["judges"] == ["gpt-4"]
    assert run["config"]["bootstrap"] == 50 and run["config"]["benches"] == ["jp_bench"]
    # every table show_result printed, with the same columns and values
    keys = {"pairwise: per model": "pairwise_per_model",
            "pairwise: per pair (model_1 vs model_2, %)": "pairwise_per_pair_model_1_vs_model_2",
            "pairwise: position consistency (%)": "pairwise_position_consistency",
            "pairwise: position bias per judge (%)": "pairwise_position_bias_per_judge",
            "pairwise: Bradley-Terry ratings (Elo scale)": "pairwise_bradley_terry_ratings_elo_scale"}
    assert set(shown) == set(keys)
    for title, key in keys.items():
        logged = tables[f"jp_bench/{key}"]
        assert logged["columns"] == shown[title]["columns"]
        assert [dict(zip(logged["columns"], row)) for row in logged["data"]] == shown[title]["rows"]
    pairs = {(r[0], r[1]): r[2:5] for r in tables["jp_bench/pairwise_per_pair_model_1_vs_model_2"]["data"]}
    assert pairs[(SFT, PPO)] == pytest.approx([23.75, 40.0, 36.25])  # the seed figure
    # the leaderboard (Nejumi's shape) and the summary metrics: adjusted win rate and rating per model
    board = tables["jp_bench/leaderboard_table"]
    assert board["columns"] == ["model", "win_rate_adjusted", "rating"]
    assert [row[:2] for row in board["data"]] == [[PPO, (81 + 55 / 2) / 160], [SFT, pytest.approx(0.59375)],
                                                   [BASE, pytest.approx((13 + 47 / 2) / 160)]]
    ratings = {r["model"]: r["rating"] for r in shown["pairwise: Bradley-Terry ratings (Elo scale)"]["rows"]}
    assert {row[0]: row[2] for row in board["data"]} == ratings
    assert run["summary"][f"jp_bench/win_rate_adjusted/{PPO}"] == pytest.approx(0.678125)
    assert run["summary"][f"jp_bench/rating/{BASE}"] == pytest.approx(ratings[BASE])
    # the judgments themselves (ku-nlp's outputs table), with each game's result under the rule in force
    outputs = tables["jp_bench/output_table"]
    assert len(outputs["data"]) == 240
    first = dict(zip(outputs["columns"], outputs["data"][0]))
    assert (first["question_id"], first["model_1"], first["g1_winner"], first["result"]) == ("24", SFT, "model_1",
                                                                                           "model_1")
    notes = {row[0]: row[1] for row in tables["jp_bench/notes"]["data"]}
    assert notes["pairwise_bradley_terry_ratings_elo_scale"].startswith("Bradley-Terry on the Elo scale")
    # the plot: drawn as SVG for the user, logged as a PNG image
    image = run["summary"]["jp_bench/plot"]
    assert image["_type"] == "image-file" and (tmp_path / "chart.svg").exists()
    png = (next(offline.glob("wandb/offline-run-*")) / "files" / image["path"]).read_bytes()
    assert png.startswith(b"\x89PNG")


def test_run_name_flag_and_single_mode(offline, tmp_path, capsys):
    path = tmp_path / "judge_single.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in [
        {"question_id": 1, "model": "a", "judge": ["j", "single-v1"], "score": 8, "turn": 1},
        {"question_id": 2, "model": "a", "judge": ["j", "single-v1"], "score": 5, "turn": 1},
        {"question_id": 1, "model": "b", "judge": ["j", "single-v1"], "score": None, "turn": 1, "error": "timeout"}]))
    assert show_result.main(["--input-file", str(path), "--wandb", "--wandb-run-name", "mine"]) == 0
    run, tables = read_run(offline)
    assert run["name"] == "mine"
    (bench,) = run["config"]["benches"]  # no question.jsonl above the file: --bench-name's default names it
    assert tables[f"{bench}/leaderboard_table"]["data"] == [["a", 6.5], ["b", None]]
    assert tables[f"{bench}/output_table"]["data"][2][-1] == "timeout"
    assert f"{bench}/score/b" not in run["summary"] and run["summary"][f"{bench}/score/a"] == 6.5


def test_gen_judgment_logs_run_metadata(data_dir, offline, capsys):
    for model in ("alpha", "beta"):
        assert gen_model_answer.main(["--data-dir", str(data_dir), "--model-path", "mock:echo", "--model-id", model,
                                      "--question-end", "3"]) == 0
    out = data_dir / "pairs.jsonl"
    assert gen_judgment.main(["--data-dir", str(data_dir), "--judge-model", "mock:judge", "--mode", "pairwise-all",
                              "--output-file", str(out), "--wandb"]) == 0
    records = read_jsonl(out)
    run, _ = read_run(offline)
    assert run["name"] == "gen_judgment-demo_bench-pairwise-all-judge"
    config = run["config"]
    assert (config["judge"], config["provider"], config["judge_family"], config["judge_method"]) == \
        ("judge", "mock", "fastchat", "generate")
    assert (config["bench"], config["mode"], config["models"], config["output_file"]) == \
        ("demo_bench", "pairwise-all", ["alpha", "beta"], str(out))
    summary = run["summary"]
    assert (summary["judgments"], summary["judged"], summary["failed"], summary["already_done"]) == \
        (len(records), len(records), 0, 0)
    assert summary["prompt_tokens"] == sum(r["usage"]["prompt_tokens"] for r in records) > 0
    assert summary["completion_tokens"] == sum(r["usage"]["completion_tokens"] for r in records) > 0
    assert "cost_usd" not in summary  # a local (mock) judge has no price


def test_without_wandb_the_extra_is_named_before_any_work(published_data, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "wandb", None)  # import wandb now raises ImportError
    path = published_data("jp_bench", "model_judgment", "fastchat_era_2023-08", "gpt-4_pair.jsonl")
    with pytest.raises(MissingDependency, match=r"pip install 'llm_judge\[wandb\]'"):
        show_result.main(["--input-file", str(path), "--mode", "pairwise-all", "--wandb"])
    with pytest.raises(MissingDependency, match=r"llm_judge\[wandb\]"):
        gen_judgment.main(["--judge-model", "mock:judge", "--wandb"])
    assert capsys.readouterr().out == ""  # nothing shown, nothing judged
    assert show_result.main(["--input-file", str(path), "--mode", "pairwise-all"]) == 0  # only --wandb needs it
