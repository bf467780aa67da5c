"""The two leaderboards as `download` lays them out (from a mirror, sha256 checked): AlpacaEval's released
annotations give its published rows through show_result, and an Arena-Hard folder is found by gen_judgment,
which refuses in one line while upstream's judge table (its system prompts) is absent."""
from __future__ import annotations

import json

import pytest

from llm_judge import cli
from llm_judge.benches.cache import cache_dir
from llm_judge.cli import download, gen_judgment, show_result


def test_downloaded_alpaca_eval_prints_the_published_rows(tmp_path, published_data, capsys):
    published_data("alpaca_eval", "results")  # the download cache (a mirror) holds the files
    assert download.main(["alpaca_eval", "--with-answers", "--with-judgments", "--mirror", str(cache_dir()),
                          "--data-dir", str(tmp_path / "data")]) == 0
    capsys.readouterr()
    results = tmp_path / "data" / "alpaca_eval" / "results"
    assert show_result.main(["--input-file", str(results), "--format", "json", "--digits", "4"]) == 0
    out = capsys.readouterr()
    (table,) = json.loads(out.out)
    rows = {r["model"]: r for r in table["rows"]}
    assert rows["alpaca-7b"]["win_rate"] == pytest.approx(2.591450540223603, abs=1e-4)
    assert rows["claude-2.1"]["n_wins"] == 115 and rows["gpt-3.5-turbo-1106"]["n_draws"] == 4
    assert rows["alpaca-7b"]["length_controlled_winrate"] is None
    assert table["note"].startswith("length-controlled win rate needs instruction_difficulty.csv and df_gamed.csv")


def test_downloaded_arena_hard_is_a_bench_whose_judging_needs_the_judge_table(tmp_path, published_data, monkeypatch,
                                                                              capsys):
    published_data("arena_hard", "config")
    assert download.main(["arena_hard", "--mirror", str(cache_dir()), "--data-dir", str(tmp_path / "data")]) == 0
    monkeypatch.setenv("OPENAI_API_KEY", "sk-unused")
    capsys.readouterr()
    code = cli.run(gen_judgment.main, ["--data-dir", str(tmp_path / "data"), "--bench-name",
                                       "arena_hard/arena-hard-v0.1", "--judge-model", "gpt-4o", "--model-list",
                                       "gpt-4-0613"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "utils/judge_utils.py" in err
    assert "196f6b826783b3da7310e361a805fa36f0be83f3" in err
