"""show_result's --format table and markdown, as rendered text, on the real jp_bench judgments (GPT-4, 2023).

Two models are renamed to Japanese names: a wide character takes two terminal columns, so the table
format must pad by display width, not by len().
"""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

from llm_judge.cli import show_result
from llm_judge.results.tables import Table, render

JP = ("jp_bench", "model_judgment", "fastchat_era_2023-08", "gpt-4_pair.jsonl")
RENAMED = {'"rinna-3.6b-sft-v2"': '"りんな-3.6b-sft-v2"', '"rinna-3.6b-ppo"': '"りんな3.6B強化学習"'}


@pytest.fixture
def japanese_names(published_data, tmp_path: Path) -> Path:
    text = published_data(*JP).read_text(encoding="utf-8")
    for old, new in RENAMED.items():
        text = text.replace(old, new)
    path = tmp_path / "gpt-4_pair.jsonl"
    path.write_text(text, encoding="utf-8")
    return path


def shown(capsys, path: Path, *argv: str) -> list[str]:
    """The rendered tables, one string each (a markdown table holds blank lines: split at its titles)."""
    assert show_result.main(["--input-file", str(path), "--mode", "pairwise-all", *argv]) == 0
    return re.split(r"\n\n(?===|###)", capsys.readouterr().out.rstrip("\n"))


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def test_table_format_pads_by_display_width(japanese_names, capsys):
    tables = shown(capsys, japanese_names, "--format", "table", "--digits", "3")
    # win_rate = 81/160 = 0.50625 -> 0.506; adjusted = (81 + 55/2)/160 = 0.678125 -> 0.678 (counted in the seed figure)
    assert tables[0] == "\n".join([
        "== pairwise: per model ==",
        "model               win  loss  tie  win_rate  loss_rate  win_rate_adjusted  failed",
        "りんな3.6B強化学習   81    24   55     0.506      0.150              0.678       0",
        "りんな-3.6b-sft-v2   67    37   56     0.419      0.231              0.594       0",
        "rinna-3.6b           13   100   47     0.081      0.625              0.228       0",
    ])
    assert tables[1] == "\n".join([
        "== pairwise: per pair (model_1 vs model_2, %) ==",
        "model_1             model_2                win     tie    loss   n  failed",
        "りんな-3.6b-sft-v2  りんな3.6B強化学習  23.750  40.000  36.250  80       0",
        "rinna-3.6b          りんな3.6B強化学習   6.250  28.750  65.000  80       0",
        "rinna-3.6b          りんな-3.6b-sft-v2  10.000  30.000  60.000  80       0",
    ])
    for table in tables[:2]:  # every line of a table ends in the same terminal column
        assert len({width(line) for line in table.splitlines()[1:]}) == 1


def test_markdown_format_right_aligns_numbers(japanese_names, capsys):
    tables = shown(capsys, japanese_names, "--format", "markdown", "--digits", "1")
    assert tables[0] == "\n".join([
        "### pairwise: per model",
        "",
        "| model | win | loss | tie | win_rate | loss_rate | win_rate_adjusted | failed |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        "| りんな3.6B強化学習 | 81 | 24 | 55 | 0.5 | 0.1 | 0.7 | 0 |",
        "| りんな-3.6b-sft-v2 | 67 | 37 | 56 | 0.4 | 0.2 | 0.6 | 0 |",
        "| rinna-3.6b | 13 | 100 | 47 | 0.1 | 0.6 | 0.2 | 0 |",
    ])
    # 23.75 and 36.25 are exact in binary: one decimal rounds half to even, as Python's format does
    assert tables[1].splitlines()[4] == "| りんな-3.6b-sft-v2 | りんな3.6B強化学習 | 23.8 | 40.0 | 36.2 | 80 | 0 |"


def test_markdown_escapes_bar_and_shows_missing_as_dash():
    table = Table("t", ["model", "score"], [["a|b", None], ["c", 7.25]], note="n")
    assert render([table], "markdown") == "\n".join([
        "### t", "", "| model | score |", "|---|---:|", "| a\\|b | - |", "| c | 7.25 |", "", "_n_"])
    assert render([table], "table", digits=0) == "\n".join(["== t ==", "model  score", "a|b        -",
                                                             "c          7", "n"])
