"""Today's judge leaderboards run with their own protocols and files: AlpacaEval 2.0 and Arena-Hard-Auto.

Each bench reads and writes its upstream project's file layout as it is, so a folder from its tool gives the
same table here and ours in its tool. Imports point one way: these modules use engines/ and the core, and the
command line calls them.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from ..engines.config import EngineConfig
    from ..results.report import BenchResult


def bench_kind(name: str, data_dir: str | Path | None) -> str | None:
    """"alpaca_eval" or "arena_hard" when the bench folder is in that project's layout, else None."""
    from .alpaca_eval import bench_folder
    from .arena_hard import arena_folder

    if bench_folder(name, data_dir):
        return "alpaca_eval"
    return "arena_hard" if arena_folder(name, data_dir) else None


def refuse_flags(name: str, given: dict[str, bool]) -> None:
    """A leaderboard bench is judged by its own protocol: one judge, live calls; other flags are refused."""
    from ..errors import ConfigError

    on = [flag for flag, value in given.items() if value]
    if on:
        raise ConfigError(f"{name} is judged by its own protocol, one judge, live calls: drop {on[0]}")


def judge_bench(name: str, data_dir: str | Path | None, engine: "EngineConfig", models: Sequence[str] | None,
                judge_id: str, max_tokens: int | None = None, first_n: int | None = None
                ) -> tuple[list[str], bool]:
    """Judge a leaderboard bench by its own protocol (its first ``first_n`` prompts, default all); (a line per
    model, whether any record failed)."""
    from .alpaca_eval import bench_folder, run_annotator
    from .arena_hard import arena_folder
    from .arena_judging import run_judge

    folder = bench_folder(name, data_dir)
    if folder is not None:
        summary = run_annotator(engine, folder, models, judge_id, first_n=first_n)
        lines = [f"{m}: {asked} annotated, {failed} failed -> {folder}/results/{m}/"
                 for m, (asked, failed) in summary.items()]
        return lines, any(failed for _, failed in summary.values())
    folder = arena_folder(name, data_dir)
    assert folder is not None, "bench_kind() picks the bench first"
    summary = run_judge(engine, folder, models, judge_id, max_tokens, first_n)
    lines = [f"{m}: {asked} questions judged, {left} without both verdicts -> "
             f"{folder}/model_judgment/{judge_id}/{m}.jsonl" for m, (asked, left) in summary.items()]
    return lines, any(left for _, left in summary.values())


def bench_result(name: str, data_dir: str | Path | None, judges: Sequence[str], style_control: bool = False,
                 weight: int = 3, seed: int = 0, models: Sequence[str] | None = None) -> "BenchResult":
    """show_result's view of a leaderboard bench: its tables, and per model its headline and interval as the
    bench states them (AlpacaEval: the LC win rate, else the win rate, with its standard error; Arena-Hard:
    the overall score, else the one category's, with its 5th-95th percentile)."""
    from ..results.report import BenchResult
    from .alpaca_eval import bench_folder, leaderboard_tables as alpaca_tables
    from .arena_hard import arena_folder, judge_folder, leaderboard_tables as arena_tables

    folder = bench_folder(name, data_dir)
    if folder is not None:
        tables = alpaca_tables(folder / "results")
        table = tables[0]
        rows = [r for r in table.records() if not models or r["model"] in models]
        lc = any(r["length_controlled_winrate"] is not None for r in rows)
        key, se = ("length_controlled_winrate", "lc_standard_error") if lc else ("win_rate", "standard_error")
        return BenchResult(name, "leaderboard", tables, {r["model"]: r[key] for r in rows}, headline_name=key,
                           intervals={r["model"]: f"SE {r[se]:.2f}" for r in rows})
    folder = arena_folder(name, data_dir)
    tables = arena_tables(judge_folder(folder, judges), style_control, weight, seed, models)
    head = tables[-1]
    records = [r for r in head.records() if not models or r["model"] in models]
    return BenchResult(name, "leaderboard", tables, {r["model"]: r["score"] for r in records},
                       headline_name="score" + (" (style-controlled)" if style_control else ""),
                       intervals={r["model"]: r["CI"] for r in records})


def is_leaderboard_file(path: Path) -> bool:
    """AlpacaEval annotations (a file or results folder) or Arena-Hard judgments (a file or judge folder)."""
    from .alpaca_eval import is_annotations
    from .arena_hard import is_arena_judgments

    return is_annotations(path) or is_arena_judgments(path)


def file_tables(path: Path, style_control: bool = False, weight: int = 3, seed: int = 0,
                models: Sequence[str] | None = None, ratings_bootstrap: int | None = None) -> list:
    """show_result's tables of such a file: AlpacaEval's leaderboard per annotator, or Arena-Hard's per
    category (style-controlled with ``style_control``) and, with ``ratings_bootstrap``, our ratings too."""
    from .alpaca_eval import is_annotations, leaderboard_tables as alpaca_tables
    from .arena_hard import leaderboard_tables as arena_tables, our_ratings

    if is_annotations(path):
        return alpaca_tables(path)
    tables = arena_tables(path, style_control, weight, seed, models)
    if ratings_bootstrap is not None:
        tables.append(our_ratings(path, ratings_bootstrap, seed, weight, models))
    return tables
