"""Charts: the seed's comparison chart from the real judgments, a radar and ratings with Japanese text."""
import random
import struct
import warnings

import pytest

import llm_judge
from llm_judge.cli import show_result
from llm_judge.records import PairJudgment, SingleJudgment
from llm_judge.results.report import BenchResult
from llm_judge.results.ratings import rate

JP = ("jp_bench", "model_judgment", "fastchat_era_2023-08", "gpt-4_pair.jsonl")
JA_CATEGORIES = ["作文", "ロールプレイ", "知識", "数学", "推論", "コーディング"]
JA_MODELS = ["日本語モデル-7b", "rinna-3.6b-ppo", "calm2-7b-chat"]


def png_size(path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def glyph_warnings(record) -> list[str]:
    return [str(w.message) for w in record if "missing from" in str(w.message)]


def draw(result, path):
    from llm_judge.results.plots import cjk_fonts, result_figure, save

    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        with cjk_fonts():
            fig = result_figure(result)
        save(fig, path)
    return fig, glyph_warnings(record)


def test_comparison_chart_from_real_judgments(published_data, tmp_path):
    result = llm_judge.results(input_file=published_data(*JP), ratings=True, bootstrap=50).benches[0]
    fig, missing = draw(result, tmp_path / "c.png")
    assert missing == []
    bars, ratings = fig.axes
    texts = [t.get_text() for t in bars.texts]
    # win / tie / lose of each pair as written on the bars (seed figure: 23.75/40/36.25, 6.25/28.75/65, 10/30/60)
    assert texts == ["23.75%", "6.25%", "10%", "40%", "28.75%", "30%", "36.25%", "65%", "60%"]
    labels = {tick: label.get_text() for tick, label in zip(bars.get_yticks(), bars.get_yticklabels())}
    assert [labels[y] for y in sorted(labels, reverse=True)] == [  # top to bottom, in the file's order
        "rinna-3.6b-sft-v2\nvs rinna-3.6b-ppo", "rinna-3.6b\nvs rinna-3.6b-ppo", "rinna-3.6b\nvs rinna-3.6b-sft-v2"]
    assert bars.get_xlabel() == "share of games (%)" and bars.get_xlim() == (0.0, 100.0)
    assert [t.get_text() for t in bars.get_legend().get_texts()] == ["win", "tie", "lose"]
    assert "jp_bench" in bars.get_title() and "gpt-4" in bars.get_title()
    # every bar fills 100%
    widths = {}
    for patch in bars.patches:
        widths[round(patch.get_y(), 3)] = widths.get(round(patch.get_y(), 3), 0) + patch.get_width()
    assert all(w == pytest.approx(100.0) for w in widths.values()) and len(widths) == 3
    assert ratings.get_xlabel() == "rating (Elo scale)"
    assert [t.get_text() for t in ratings.get_yticklabels()] == ["rinna-3.6b-ppo", "rinna-3.6b-sft-v2", "rinna-3.6b"]
    w, h = png_size(tmp_path / "c.png")
    assert w == 1500 and h > 600


def test_show_result_plot_flag_writes_the_file(published_data, tmp_path, capsys):
    out = tmp_path / "sub" / "comparison.png"
    assert show_result.main(["--input-file", str(published_data(*JP)), "--plot", str(out), "--format", "csv"]) == 0
    assert png_size(out)[0] == 1500
    assert f"wrote {out}" in capsys.readouterr().err


def single_records() -> list[SingleJudgment]:
    rng = random.Random(0)
    return [SingleJudgment(question_id=i, model=m, score=rng.randint(base - 2, base + 2), turn=1, category=c)
            for m, base in zip(JA_MODELS, (7, 5, 6)) for i, c in enumerate(JA_CATEGORIES * 2)]


def test_radar_with_japanese_names_has_every_glyph(tmp_path):
    result = BenchResult("日本語ベンチ", "single", [], {}, single_records())
    fig, missing = draw(result, tmp_path / "radar.png")
    assert missing == []
    (ax,) = fig.axes
    assert ax.name == "polar"
    assert sorted(t.get_text() for t in ax.get_xticklabels()) == sorted(JA_CATEGORIES)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == JA_MODELS
    assert ax.get_ylim() == (0.0, 10.0)
    assert ax.get_title().startswith("日本語ベンチ")
    assert len(ax.lines) == len(JA_MODELS)
    png_size(tmp_path / "radar.png")


def test_without_the_cjk_font_glyphs_would_be_missing(tmp_path):
    # The check above can fail: drawn with matplotlib's default font only, the same chart loses glyphs.
    import matplotlib

    from llm_judge.results.plots import category_radar, new_figure

    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        with matplotlib.rc_context({"font.family": ["DejaVu Sans"]}):
            fig = new_figure(6, 6)
            category_radar(fig.add_subplot(projection="polar"), {"日本語モデル": {c: 5.0 for c in JA_CATEGORIES}},
                           JA_CATEGORIES)
            fig.savefig(tmp_path / "boxes.png")
    assert glyph_warnings(record)


def test_ratings_with_length_control_panel(tmp_path):
    from llm_judge.results.plots import cjk_fonts, new_figure, rating_intervals, save

    rng = random.Random(3)
    recs = [PairJudgment(question_id=q, model_1=a, model_2=b, turn=1, g1_winner=w, g2_winner=w)
            for q in range(60) for a, b in [(JA_MODELS[0], JA_MODELS[1]), (JA_MODELS[1], JA_MODELS[2])]
            for w in [rng.choice(["model_1", "model_1", "model_2", "tie"])]]
    lengths = {(m, q, 1): rng.randint(100, 900) for m in JA_MODELS for q in range(60)}
    ratings = rate(recs, bootstrap=30, lengths=lengths)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        with cjk_fonts():
            fig = new_figure(8, 3)
            rating_intervals(fig.add_subplot(), ratings, "レーティング")
        save(fig, tmp_path / "r.png")
    assert glyph_warnings(record) == []
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["rating (95% CI)", "length-controlled (95% CI)"]
    assert [t.get_text() for t in ax.get_yticklabels()] == [r.model for r in ratings.rows]
    assert len(ax.containers) == 2  # two error-bar series
