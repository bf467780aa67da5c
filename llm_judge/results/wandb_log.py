"""Log results to Weights & Biases: show_result's tables, ratings and plots.

What is logged follows ku-nlp's upload_result.py and the Nejumi leaderboard: each table as a W&B Table under
``<bench>/<table>`` (their notes, which name the failed-games rule, in ``<bench>/notes``), a
``<bench>/leaderboard_table`` with one row per model (the headline number, and the rating when there are
ratings), a ``<bench>/output_table`` of the judgments themselves, the headline numbers and ratings as summary
metrics, and the plot as an image. The run itself (project, entity, offline mode, the extra) is
llm_judge/wandb_run.py's.
"""
from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from ..wandb_run import require_wandb, start_run
from .aggregate import game_winner, pairs_in_scope, singles
from .tables import Table

if TYPE_CHECKING:
    from .report import BenchResult

_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")  # what wandb.Image reads; other plot formats are redrawn as PNG


def table_key(title: str) -> str:
    """A W&B key from a table title, e.g. "pairwise: per pair (model_1 vs model_2, %)" ->
    "pairwise_per_pair_model_1_vs_model_2"."""
    return re.sub(r"[^0-9A-Za-z]+", "_", title).strip("_").lower()


def log_results(results: list["BenchResult"], name: str, config: Mapping[str, Any],
                plots: Mapping[str, Path] | None = None, across: Table | None = None) -> Path:
    """show_result's run: per bench its tables, leaderboard, judgments, summary metrics and plot (``plots``:
    bench name -> the file show_result drew); ``across`` is the cross-bench table. Returns the run's folder."""
    wandb = require_wandb()
    with start_run(name, "show_result", config) as run, tempfile.TemporaryDirectory() as scratch:
        data: dict[str, Any] = {"across_benches": _wandb_table(wandb, across)} if across else {}
        for r in results:
            notes = Table("notes", ["table", "note"])
            for t in r.tables:
                key = table_key(t.title.removeprefix(f"{r.name}: "))
                data[f"{r.name}/{key}"] = _wandb_table(wandb, t)
                notes.rows += [[key, t.note]] if t.note else []
            data[f"{r.name}/notes"] = _wandb_table(wandb, notes)
            data[f"{r.name}/leaderboard_table"] = _wandb_table(wandb, leaderboard(r))
            data[f"{r.name}/output_table"] = _wandb_table(wandb, outputs(r))
            if plots and r.name in plots:
                data[f"{r.name}/plot"] = wandb.Image(str(_image(r, plots[r.name], Path(scratch))))
            run.summary.update(metrics(r))
        run.log(data)
        return Path(run.dir).parent


def _wandb_table(wandb: Any, table: Table) -> Any:
    # Mixed types: a column may hold ints and floats, or numbers and None (a model without a score).
    return wandb.Table(columns=list(table.columns), data=[list(row) for row in table.rows], allow_mixed_types=True)


def _image(result: "BenchResult", path: Path, scratch: Path) -> Path:
    if path.suffix.lower() in _IMAGE_SUFFIXES:
        return path
    from .plots import plot_result

    return plot_result(result, scratch / f"{result.name}.png")


def leaderboard(result: "BenchResult") -> Table:
    """One row per model, best first: the headline number (mean score or adjusted win rate) and the rating."""
    metric = "score" if result.mode == "single" else "win_rate_adjusted"
    ratings = {r.model: r.rating for r in result.ratings.rows} if result.ratings else None
    table = Table("leaderboard", ["model", metric] + (["rating"] if ratings is not None else []))
    for model, value in result.headline.items():
        table.rows.append([model, value] + ([ratings.get(model)] if ratings is not None else []))
    return table


def outputs(result: "BenchResult") -> Table:
    """The judgments the tables counted, one row each (ku-nlp's outputs table); pairwise rows carry the game's
    result under the failed-games rule in force."""
    if result.mode == "single":
        table = Table("outputs", ["question_id", "turn", "model", "judge", "score", "judgment", "error"])
        for r in singles(result.records, result.models):
            table.rows.append([str(r.question_id), r.turn, r.model, r.judge_model, r.score, r.judgment, r.error])
        return table
    table = Table("outputs", ["question_id", "turn", "model_1", "model_2", "judge", "g1_winner", "g2_winner",
                              "result", "g1_judgment", "g2_judgment", "error"])
    for p in pairs_in_scope(result.records, result.models, result.baseline):
        table.rows.append([str(p.question_id), p.turn, p.model_1, p.model_2, p.judge_model, p.g1_winner,
                           p.g2_winner, game_winner(p, result.failed_games), p.g1_judgment, p.g2_judgment, p.error])
    return table


def metrics(result: "BenchResult") -> dict[str, float]:
    """Summary metrics: ``<bench>/<score|win_rate_adjusted>/<model>`` and ``<bench>/rating/<model>``."""
    metric = "score" if result.mode == "single" else "win_rate_adjusted"
    out = {f"{result.name}/{metric}/{m}": v for m, v in result.headline.items() if v is not None}
    for r in result.ratings.rows if result.ratings else []:
        out[f"{result.name}/rating/{r.model}"] = r.rating
    return out

