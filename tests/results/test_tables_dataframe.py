"""Table.to_dataframe() for notebooks, on the real jp_bench judgments; pandas missing names the extra."""
from __future__ import annotations

import sys

import pytest

from conftest import require
from llm_judge.errors import MissingDependency
from llm_judge.records import read_judgments
from llm_judge.results.report import pairwise_tables
from llm_judge.results.tables import Table

JP = ("jp_bench", "model_judgment", "fastchat_era_2023-08", "gpt-4_pair.jsonl")


def test_pairwise_tables_as_dataframes(published_data):
    pd = require("pandas", "notebook")
    per_model, per_pair = pairwise_tables(read_judgments(published_data(*JP)), None, None, "pairwise-all")[:2]
    frame = per_model.to_dataframe()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == per_model.columns and len(frame) == len(per_model.rows) == 3
    assert frame.attrs["title"] == "pairwise: per model"
    ppo = frame.set_index("model").loc["rinna-3.6b-ppo"]
    # unrounded: 81 wins, 55 ties of 160 games -> (81 + 27.5) / 160
    assert (ppo["win"], ppo["loss"], ppo["tie"]) == (81, 24, 55)
    assert ppo["win_rate_adjusted"] == pytest.approx(0.678125, abs=1e-12)
    assert frame["win"].dtype.kind == "i" and frame["win_rate"].dtype.kind == "f"
    pairs = per_pair.to_dataframe().set_index(["model_1", "model_2"])
    assert pairs.loc[("rinna-3.6b-sft-v2", "rinna-3.6b-ppo"), "win"] == pytest.approx(23.75)


def test_missing_value_is_nan():
    pd = require("pandas", "notebook")
    frame = Table("t", ["model", "score"], [["a", None], ["b", 7.5]], note="why").to_dataframe()
    assert pd.isna(frame.loc[0, "score"]) and frame.loc[1, "score"] == 7.5 and frame.attrs["note"] == "why"


def test_without_pandas_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # what an install without pandas looks like to import
    with pytest.raises(MissingDependency, match=r"pandas is not installed; install it with: "
                                                r"pip install 'llm_judge\[notebook\]'"):
        Table("t", ["a"], [[1]]).to_dataframe()
