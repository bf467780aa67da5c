"""Charts of results; the only module that imports matplotlib (lazily, inside functions).

- pair_bars: 100% stacked win / tie / lose bars per model pair, percentages written on the bars
  (the chart of the seed project's comparison.png);
- category_radar: mean score per category, one polygon per model (single mode);
- rating_intervals: Bradley-Terry ratings with their 95% intervals (raw and length-controlled).

Figures are drawn with matplotlib's object API on the Agg canvas, so no GUI backend or global pyplot
state is involved. Japanese model names and categories need a CJK font: the IPAexGothic file shipped by
the PyPI package matplotlib-fontja (the ``plot`` extra) is registered without importing that package
(importing it would change the caller's global rcParams), and a system CJK font is used when present.
"""
from __future__ import annotations

import importlib.util
import logging
import math
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

from ..errors import MissingDependency
from ..records import Judgment

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .ratings import Ratings
    from .aggregate import PairTally
    from .report import BenchResult

log = logging.getLogger(__name__)

# Tried in this order after DejaVu Sans; matplotlib (>= 3.6) falls back along the list glyph by glyph,
# so Latin text keeps matplotlib's usual look and Japanese falls through to the CJK font.
CJK_FAMILIES = ("IPAexGothic", "Noto Sans CJK JP", "Noto Sans JP", "IPAGothic", "TakaoGothic", "Source Han Sans JP")
WIN, TIE, LOSE = "#3b6fb6", "#c8c8c8", "#e07b39"


@lru_cache(maxsize=1)
def font_families() -> tuple[str, ...]:
    try:
        from matplotlib import font_manager
    except ImportError:
        raise MissingDependency("matplotlib", "plot") from None
    spec = importlib.util.find_spec("matplotlib_fontja")
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            for ttf in sorted(Path(folder, "fonts").glob("*.tt[fc]")):
                font_manager.fontManager.addfont(str(ttf))
    have = {f.name for f in font_manager.fontManager.ttflist}
    cjk = [name for name in CJK_FAMILIES if name in have]
    if not cjk:
        log.warning("no CJK font found: Japanese text will show as boxes; pip install 'llm_judge[plot]' "
                    "(brings matplotlib-fontja)")
    return ("DejaVu Sans", *cjk)


def cjk_fonts():
    """A context in which new text gets the CJK-capable family list (fonts are fixed when text is made)."""
    import matplotlib

    return matplotlib.rc_context({"font.family": list(font_families())})


def new_figure(width: float, height: float) -> "Figure":
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save(fig: "Figure", path: str | Path, dpi: int = 150) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with cjk_fonts():
        fig.savefig(path, dpi=dpi)
    return path


def _pct_label(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") + "%"


def pair_bars(ax: "Axes", pairs: Mapping[tuple[str, str], "PairTally"], title: str = "") -> None:
    """One horizontal 100% bar per pair: the left model's wins, ties, and losses, in that order."""
    labels = [f"{m1}\nvs {m2}" for m1, m2 in pairs]
    ys = list(range(len(pairs)))[::-1]  # first pair on top
    left = [0.0] * len(pairs)
    for what, name, color, ink in (("win", "win", WIN, "white"), ("tie", "tie", TIE, "black"),
                                   ("loss", "lose", LOSE, "white")):
        widths = [100.0 * (t.rate(what) or 0.0) for t in pairs.values()]
        ax.barh(ys, widths, left=left, color=color, label=name, height=0.6, edgecolor="white")
        for y, x0, w in zip(ys, left, widths):
            if w >= 4.0:  # narrower segments cannot hold a label; the table has the number
                ax.text(x0 + w / 2, y, _pct_label(w), ha="center", va="center", color=ink, fontsize=10)
        left = [a + b for a, b in zip(left, widths)]
    ax.set_yticks(ys, labels)
    ax.set_xlim(0, 100)
    ax.set_xlabel("share of games (%)")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, frameon=False)
    if title:
        ax.set_title(title, pad=28)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def category_radar(ax: "Axes", scores: Mapping[str, Mapping[str, float]], categories: list[str],
                   title: str = "") -> None:
    """Mean score (1-10) per category, one closed polygon per model; ``ax`` must be polar."""
    angles = [2 * math.pi * i / len(categories) for i in range(len(categories))]
    for model, by_cat in scores.items():
        values = [by_cat.get(c, math.nan) for c in categories]
        ax.plot(angles + angles[:1], values + values[:1], linewidth=1.5, label=model)
        ax.fill(angles + angles[:1], values + values[:1], alpha=0.1)
    ax.set_theta_offset(math.pi / 2)  # first category at the top, the rest clockwise
    ax.set_theta_direction(-1)
    ax.set_xticks(angles, categories)
    for label, angle in zip(ax.get_xticklabels(), angles):
        # Long labels beside the circle are anchored on their inner end so they do not cross it.
        side = math.sin(angle)
        label.set_horizontalalignment("left" if side > 0.1 else "right" if side < -0.1 else "center")
    ax.set_ylim(0, 10)
    ax.set_yticks([2, 4, 6, 8, 10])
    ax.set_rlabel_position(180.0 / len(categories))  # between the first two spokes
    ax.tick_params(axis="x", pad=8)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=2, frameon=False)
    if title:
        ax.set_title(title, pad=24)


def rating_intervals(ax: "Axes", ratings: "Ratings", title: str = "") -> None:
    """Each model's rating as a dot with its 95% interval; length- or style-controlled ones beside, when present."""
    rows = ratings.rows
    ys = list(range(len(rows)))[::-1]
    lc = bool(ratings.controls)
    shift = 0.15 if lc else 0.0

    def spread(mid: list[float], low: list[float | None], high: list[float | None]) -> list[list[float]]:
        return [[m - lo if lo is not None else 0.0 for m, lo in zip(mid, low)],
                [hi - m if hi is not None else 0.0 for m, hi in zip(mid, high)]]

    raw = [r.rating for r in rows]
    ax.errorbar(raw, [y + shift for y in ys], xerr=spread(raw, [r.lower for r in rows], [r.upper for r in rows]),
                fmt="o", color=WIN, capsize=4, label="rating (95% CI)")
    if lc:
        lcs = [r.lc_rating for r in rows]
        ax.errorbar(lcs, [y - shift for y in ys],
                    xerr=spread(lcs, [r.lc_lower for r in rows], [r.lc_upper for r in rows]),
                    fmt="s", color=LOSE, capsize=4, label=f"{ratings.control_name}-controlled (95% CI)")
    for y, r in zip(ys, rows):
        ax.annotate(f"{r.rating:.0f}", (r.rating, y + shift), textcoords="offset points", xytext=(0, 6),
                    ha="center", fontsize=8)
    ax.set_yticks(ys, [r.model for r in rows])
    ax.set_xlabel("rating (Elo scale)")
    ax.axvline(1000, color="#999999", linewidth=0.8, linestyle=":")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False)
    if title:
        ax.set_title(title, pad=24)
    ax.margins(y=0.2)


def _judges(records: list[Judgment]) -> str:
    return ", ".join(sorted({r.judge_model for r in records if r.judge_model}))


def plot_result(result: "BenchResult", path: str | Path) -> Path:
    """The chart for one bench of show_result: pair bars (pairwise) or a category radar (single), with the
    ratings below when they were computed."""
    with cjk_fonts():
        return save(result_figure(result), path)


def result_figure(result: "BenchResult") -> "Figure":
    from .aggregate import pair_tallies, single_by_category

    judge = _judges(result.records)
    judged_by = f" (judge: {judge})" if judge else ""
    panels = 1 + (result.ratings is not None and bool(result.ratings.rows))
    if result.mode == "single":
        scores = {m: {c: sum(v) / len(v) for c, v in cats.items()}
                  for m, cats in single_by_category(result.records, result.models, result.categories).items()}
        order = list(dict.fromkeys(result.categories.values())) if result.categories else []
        found = {c for cats in scores.values() for c in cats}
        categories = [c for c in order if c in found] + sorted(found - set(order))
        fig = new_figure(9, 6.5)
        if len(categories) >= 3:
            category_radar(fig.add_subplot(projection="polar"), scores, categories,
                           f"{result.name}: mean score per category{judged_by}")
        else:  # a radar needs three axes; fall back to one bar per model
            ax = fig.add_subplot()
            means = {m: sum(s.values()) / len(s) for m, s in scores.items() if s}
            ax.barh(list(means)[::-1], list(means.values())[::-1], color=WIN)
            ax.set_xlim(0, 10)
            ax.set_xlabel("mean score (1-10)")
            ax.set_title(f"{result.name}: mean score{judged_by}")
        return fig
    pairs = pair_tallies(result.records, result.models, result.baseline, result.failed_games, result.strong_weight)
    heights = [len(pairs) + 1.2] + ([len(result.ratings.rows) + 1.5] if panels > 1 else [])
    fig = new_figure(10, 0.75 * sum(heights) + 0.6)
    grid = fig.add_gridspec(panels, 1, height_ratios=heights)
    pair_bars(fig.add_subplot(grid[0]), pairs,
              f"{result.name}: win / tie / lose of the first model of each pair{judged_by}\n"
              "(each game judged in both orders; a tie unless both orders agree)")
    if panels > 1:
        rating_intervals(fig.add_subplot(grid[1]), result.ratings, "Bradley-Terry ratings")
    return fig
