"""Step 3: show scores (single) or win rates (pairwise) from judgment files.

    python -m llm_judge.show_result [--bench-name mt_bench] [--mode single|pairwise-baseline|pairwise-all]
    python -m llm_judge.show_result --input-file PATH/gpt-4_pair.jsonl --mode pairwise-all --format markdown
    python -m llm_judge.show_result --bench-name mt_bench jp_bench --model-list a b    (benches side by side)
    python -m llm_judge.show_result --input-file PATH/gpt-4_pair.jsonl --ratings --bootstrap 1000 --seed 0 --plot out.png
    python -m llm_judge.show_result --input-file PATH/gpt-4_pair.jsonl --ratings --style-control   (style held equal)
    python -m llm_judge.show_result --judge-model gpt-4 --judge-family five-level --mode pairwise-all --strong-weight 3
    python -m llm_judge.show_result --input-file PATH/gpt-4_pair.jsonl --failed-games tie --wandb   (to W&B)
    python -m llm_judge.show_result --judge-model gpt-4o claude-3-5-sonnet-latest default --panel mean
    python -m llm_judge.show_result --input-file PATH/judge_pair.jsonl --mode pairwise-all --verdict-rule pooled
    python -m llm_judge.show_result --input-file alpaca_eval/results   (AlpacaEval 2.0's annotations.json files)
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from .. import cli, layouts
from ..bench import Bench, BenchConfig, parse_model_list
from ..errors import ConfigError, InputError
from ..five_level import STRONG_WEIGHT
from ..judging.families import load_family
from ..judging.judge_id import judge_ids, judgment_files, judgment_folder, judgment_path
from ..judging.matches import MODES
from .. import leaderboards
from ..dedup import FirstValid
from ..leaderboards import alpaca_eval, arena_hard
from ..records import Judgment, PairJudgment
from ..results import panel, verdict_rules
from ..results.aggregate import FAILED_GAMES, error_games, pairwise_tallies, rule_note, scale_of, singles
from ..results.human import human_tables
from ..results.report import (BenchResult, across_benches, pairwise_tables, ratings_table, single_headline,
                              single_tables, style_table)
from ..results.stream import read_once
from ..results.style import FEATURES, LENGTH_ONLY, Styles, answer_styles
from ..results.tables import FORMATS, Table, render


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="show_result", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    cli.add_data_args(p, several_benches=True)
    p.add_argument("--input-file", default=None,
                   help="a judgment file, or a folder: its *_single.jsonl (single) or *_pair.jsonl (pairwise) files, "
                        "AlpacaEval's annotations.json or a results/ folder holding them (its leaderboard), "
                        "or ja-vicuna-qa-benchmark's per-pair files (a judge folder, pairwise/ or model_judgment/) "
                        "(default: model_judgment/<judge>_<single|pair>.jsonl)")
    p.add_argument("--judge-model", nargs="+", default=["gpt-4"],
                   help="judge whose file to read when --input-file is not given, as given to gen_judgment "
                        "(gpt-4, openai:NAME, a path, default); several: a judge panel (see --panel)")
    p.add_argument("--judge-model-id", nargs="+", default=None,
                   help="the --judge-model-id given to gen_judgment, if any (one per --judge-model)")
    p.add_argument("--panel", choices=panel.PANEL_RULES, default=None,
                   help="how several judges' verdicts combine: mean (single, default) or median of their scores; "
                        "majority (pairwise, default) of their verdicts, no strict majority a tie "
                        "(see docs/results.md, Judge panels)")
    p.add_argument("--verdict-rule", choices=verdict_rules.VERDICT_RULES, default=None,
                   help="fastchat: a win only when both orders agree, the greedy score (default); pooled "
                        "(pairwise): both orders' verdict probabilities averaged; expected (single): the expected "
                        "score; pooled and expected need --judge-method distribution records")
    p.add_argument("--tie-margin", type=float, default=verdict_rules.DEFAULT_TIE_MARGIN,
                   help="--verdict-rule pooled: a tie unless one model's probability beats the other's by more "
                        f"than this (default: {verdict_rules.DEFAULT_TIE_MARGIN:g})")
    p.add_argument("--judge-family", default=None, metavar="NAME|FILE",
                   help="the --judge-family given to gen_judgment (its name is part of the file name)")
    p.add_argument("--baseline-model", default=None, help="baseline of pairwise-baseline (default: the bench's)")
    p.add_argument("--model-list", nargs="+", default=None, help="only these models")
    p.add_argument("--mode", default="single", choices=MODES)
    p.add_argument("--format", default="table", choices=FORMATS)
    p.add_argument("--digits", type=int, default=2, help="decimals shown (default: 2)")
    p.add_argument("--ratings", action="store_true",
                   help="pairwise: Bradley-Terry ratings on the Elo scale with bootstrap 95%% intervals")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for --ratings (default: 1000)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the bootstrap (default: 0)")
    p.add_argument("--length-control", action="store_true",
                   help="with --ratings: add a length term, reported beside the raw rating (reads the answers)")
    p.add_argument("--style-control", action="store_true",
                   help="with --ratings: hold answer style equal (length in tokens, markdown headers, list items, "
                        "bold spans); controlled ratings beside the raw ones, and each feature's coefficient")
    p.add_argument("--strong-weight", type=cli.positive_int, default=STRONG_WEIGHT, metavar="W",
                   help="five-level verdicts: the games a strong verdict (A>>B) counts as in win rates and ratings; "
                        "each order counts as a game (default: 3, as Arena-Hard)")
    p.add_argument("--failed-games", choices=FAILED_GAMES, default="drop",
                   help='pairwise: a FastChat-era game whose verdict in either order is "error": drop leaves it out '
                        "(FastChat's show_result, default); tie counts it as a tie (the Japanese forks' show_result, "
                        "ja-vicuna-qa-benchmark). Our own failed records are never counted")
    p.add_argument("--plot", metavar="FILE", default=None,
                   help="also draw the results into FILE (.png/.svg/.pdf); with several benches the bench name "
                        "is added to the file name")
    cli.add_wandb_args(p, "the tables, ratings and plot as well", "<bench>-<mode>-<judge>")
    cli.add_correction_args(p)
    return p


def _input_files(args: argparse.Namespace, bench_name: str, mode: str, judge: int = 0) -> tuple[list[Path], str]:
    """The judgment files to read, and the mode to show them in.

    --input-file is one file, or a folder: then every judgment file of the mode's kind directly in it
    (``*_single.jsonl`` for single, ``*_pair.jsonl`` for the pairwise modes), or, in a folder without
    those, the files of ja-vicuna-qa-benchmark's layout under it (``single:*.jsonl``, ``pairwise:*.jsonl``:
    see llm_judge/layouts.py); single mode on a folder with pair files only shows those pairwise-all, as
    it does for one pair file. Without --input-file it is the file of the ``judge``-th --judge-model in the
    bench (its judge folder when bench.json sets ``judgment_layout`` to ja-vicuna), named exactly as
    gen_judgment names it.
    """
    if args.input_file:
        path = Path(args.input_file)
        return ([path], mode) if not path.is_dir() else _folder_files(path, mode)
    from ..bench import load_bench

    bench = load_bench(bench_name, args.data_dir)
    judge_id = judge_ids(args.judge_model, args.judge_model_id)[judge]
    family, pairwise = load_family(args.judge_family), mode != "single"
    if bench.config.judgment_layout == "ja-vicuna":
        folder = judgment_folder(bench.judgment_dir, judge_id, family, pairwise)
        files = layouts.judgment_files(folder, pairwise) if folder.is_dir() else []
        return files or [folder / layouts.file_name(["*", "*"] if pairwise else ["*"])], mode
    return [judgment_path(bench.judgment_dir, judge_id, family, pairwise)], mode


def _folder_files(folder: Path, mode: str) -> tuple[list[Path], str]:
    single, pair = judgment_files(folder, False), judgment_files(folder, True)
    if not single and not pair:  # no FastChat files: ja-vicuna-qa-benchmark's layout, if that is what it holds
        single, pair = layouts.judgment_files(folder, False), layouts.judgment_files(folder, True)
    if mode == "single" and (single or not pair):
        files = single
    else:
        files, mode = pair, ("pairwise-all" if mode == "single" else mode)
    if not files:
        kind = "single" if mode == "single" else "pair"
        raise InputError(folder, f"no judgment file (*_{kind}.jsonl) in this folder, nor ja-vicuna-qa-benchmark's "
                                 f"({kind.replace('pair', 'pairwise')}:*.jsonl) in it or its judge folders")
    return files, mode


def _read_judgments(paths: list[Path], folder: bool, counted: bool, seen: FirstValid) -> list[Judgment]:
    """The records of ``paths``, one per key (``seen`` counts the duplicates dropped, dedup.py); a folder's
    files must come from one judge (their scores do not mix).

    ``counted``: pairwise files are read in one streaming pass into counted records (results/stream.py),
    which every table, the ratings and the plots take; the W&B outputs table and the length term need each
    record whole, so they read typed records.
    """
    for path in paths:
        if not path.exists():
            raise InputError(path, f"no judgment file; run gen_judgment first (or pass --input-file){_present(path)}")
    records = read_once(paths, counted, seen)
    judges = sorted({r.judge_model for r in records})  # "" for a record naming no judge
    if folder and len(judges) > 1:
        raise ConfigError(f"{paths[0].parent}: the judgment files hold several judges ({', '.join(judges)}); "
                          "pass one judge's file with --input-file")
    return records


def _present(path: Path) -> str:
    """A hint naming the judgment files that do exist next to a missing one (a judge id that differs)."""
    found = sorted(p.name for p in path.parent.glob("*.jsonl")) if path.parent.is_dir() else []
    return f"; judgment files there: {', '.join(found)}" if found else ""


def _find_bench(args: argparse.Namespace, bench_name: str) -> Bench | None:
    """The bench the judgments belong to (categories, answers), or None when it cannot be found.

    With --input-file it is the folder holding question.jsonl above the file (FastChat's layout puts
    judgments in <bench>/model_judgment/), not --bench-name's default.
    """
    from ..bench import load_bench

    if args.input_file:
        for folder in list(Path(args.input_file).resolve().parents)[:4]:
            if (folder / "question.jsonl").exists():
                return load_bench(str(folder))
        return None
    try:
        return load_bench(bench_name, args.data_dir)
    except ConfigError:
        return None


def _baseline(args: argparse.Namespace, mode: str, bench: Bench | None) -> str | None:
    if mode != "pairwise-baseline":
        return None
    if args.baseline_model:
        return args.baseline_model
    return (bench.config if bench else BenchConfig()).baseline_model


@dataclass
class Judged:
    """What the tables count, read from one judge's file or a panel's: the records with their verdicts
    decided (the verdict rule applied, the panel combined), and the judges' own records for the position
    tables, which show what each judge said in each order."""

    mode: str
    path: Path  # named in messages
    records: list[Judgment]
    own: list[Judgment]
    notes: list[str] = field(default_factory=list)  # the verdict rule and the panel, under every table
    panel: dict[str, list[Judgment]] | None = None  # a panel's judges: judge id -> its decided records
    dropped: str = ""  # how many duplicate records of a key were dropped (dedup.py), under every table


def read_judged(args: argparse.Namespace, bench_name: str) -> Judged:
    """The judgments of the --judge-model (or --input-file), decided by --verdict-rule, combined by --panel."""
    ids = judge_ids(args.judge_model, args.judge_model_id)
    several = len(ids) > 1
    if several and args.input_file:
        raise ConfigError("--input-file reads one judge's file; a panel reads each --judge-model's file in the "
                          "bench (give --bench-name/--data-dir instead)")
    if args.panel and not several:
        raise ConfigError(f"--panel {args.panel} combines several judges: give two or more --judge-model")
    read: dict[str, tuple[Path, list[Judgment]]] = {}
    modes = set()
    seen = FirstValid()
    for i, judge_id in enumerate(ids):
        paths, mode = _input_files(args, bench_name, args.mode, i)
        records = _read_judgments(paths, bool(args.input_file) and Path(args.input_file).is_dir(),
                                  not (several or args.wandb or args.length_control or args.style_control
                                       or args.human_labels), seen)
        if mode == "single" and any(isinstance(r, PairJudgment) for r in records):
            mode = "pairwise-all"
        modes.add(mode)
        read[judge_id] = (paths[0].parent if len(paths) > 1 else paths[0], records)
    if len(modes) > 1:
        raise ConfigError(f"the judges' files hold different kinds of judgments ({', '.join(sorted(modes))}); "
                          "a panel combines one kind")
    mode = modes.pop()
    pairwise = mode != "single"
    rule = args.verdict_rule or "fastchat"
    verdict_rules.check(rule, pairwise, args.tie_margin)
    if args.calibration:
        cmap = verdict_rules.calibration_for(args.calibration, rule)
        read = {j: (path, verdict_rules.calibrated(recs, cmap)) for j, (path, recs) in read.items()}
    decided = {j: verdict_rules.apply(recs, rule, path, args.tie_margin) for j, (path, recs) in read.items()}
    own = [r for _, recs in read.values() for r in recs]
    notes = [f"verdict rule: {verdict_rules.describe(rule, args.tie_margin, pairwise)}"] if args.verdict_rule or several else []
    notes += [f"probabilities calibrated by {args.calibration}"] if args.calibration else []
    first_path, first = read[ids[0]][0], decided[ids[0]]
    if not several:
        return Judged(mode, first_path, first, own, notes, dropped=seen.note())
    rule = args.panel or panel.default_rule(pairwise)
    panel.check(rule, pairwise)
    combined = panel.combine(decided, rule, args.failed_games)
    return Judged(mode, first_path.parent, combined.records, own, notes + [combined.note()], decided, seen.note())


def _with_notes(judged: Judged, tables: list[Table], failed_games: str, models: list[str] | None,
                baseline: str | None = None) -> list[Table]:
    """The tables with the rule notes added and, for a panel, the inter-judge agreement table second, beside
    the panel's first table. The position tables say that they count the judges' own verdicts, before any rule."""
    if not judged.notes and not judged.dropped:
        return tables
    for t in tables:
        if t.title.startswith("pairwise: position") and judged.notes:
            extra = "each judge's own verdict in each order, before the verdict rule" + (
                " and the panel" if judged.panel else "")
        else:
            extra = "; ".join(judged.notes)
        t.note = "; ".join(n for n in (t.note, extra, judged.dropped) if n)
    if judged.panel is not None:
        from ..results.agreement import agreement_table

        tables.insert(1, agreement_table(judged.panel, judged.mode != "single", failed_games, models, baseline))
    return tables


def bench_result(args: argparse.Namespace, bench_name: str, models: list[str] | None) -> BenchResult:
    if not args.input_file and leaderboards.bench_kind(bench_name, args.data_dir):
        return leaderboards.bench_result(bench_name, args.data_dir, judge_ids(args.judge_model, args.judge_model_id),
                                         args.style_control, args.strong_weight, args.seed, models)
    judged = read_judged(args, bench_name)
    mode, path, records = judged.mode, judged.path, judged.records
    controlled = args.length_control or args.style_control
    bench = _find_bench(args, bench_name)
    if bench is not None and args.input_file:
        bench_name = bench.name
    categories = {q.question_id: q.category for q in bench.questions} if bench else None
    if mode == "single":
        if args.ratings or controlled:
            raise ConfigError(f"{path}: --ratings needs pairwise judgments; this file holds single scores")
        headline, scale = single_headline(records, models)
        # The plots draw one scale: the headline's (the tables show every scale, each apart).
        shown = [r for r in singles(records) if scale_of(r) == scale]
        tables = _with_notes(judged, single_tables(records, models, categories), args.failed_games, models)
        if args.human_labels:
            tables += human_tables(args.human_labels, records, False, models, scale=scale)
        return BenchResult(bench_name, mode, tables, headline, shown, models, None, categories, scale=scale)
    baseline, rule, weight = _baseline(args, mode, bench), args.failed_games, args.strong_weight
    tallies = pairwise_tallies(records, models, baseline, rule, weight)
    headline = {m: t.rate("win_rate_adjusted") for m, t in tallies.items()}
    tables = pairwise_tables(records, models, baseline, mode, rule, weight, position_records=judged.own)
    result = BenchResult(bench_name, mode, tables, headline, records, models, baseline, categories, failed_games=rule,
                         strong_weight=weight)
    if args.ratings or controlled:
        from ..results.ratings import rate

        styles = _styles(args, bench, path, records, models, baseline) if controlled else None
        result.ratings = rate(records, models, baseline, args.bootstrap, args.seed, failed_games=rule, styles=styles,
                              strong_weight=weight)
        result.tables.append(ratings_table(result.ratings, rule_note(error_games(records, models, baseline), rule)))
        if len(result.ratings.controls) > 1:
            result.tables.append(style_table(result.ratings))
    _with_notes(judged, result.tables, rule, models, baseline)
    if args.human_labels:
        result.tables += human_tables(args.human_labels, records, True, models, baseline, rule, weight,
                                      ratings=args.ratings)
    return result


def _styles(args: argparse.Namespace, bench: Bench | None, path: Path, records: list[Judgment],
            models: list[str] | None, baseline: str | None) -> Styles:
    """The style counts of the answers the ratings' games compare: every feature, or length alone."""
    from ..results.ratings import collect_games

    flag = "--style-control" if args.style_control else "--length-control"
    if bench is None:
        raise ConfigError(f"{flag} needs the bench's answers, and no question.jsonl was found above {path}; "
                          "pass --bench-name/--data-dir of the bench")
    played = collect_games(records, models, baseline, failed_games=args.failed_games).models
    return answer_styles(bench.load_answers(played), FEATURES if args.style_control else LENGTH_ONLY)


def plot_path(plot: str, bench_name: str, several: bool) -> Path:
    path = Path(plot)
    return path.with_name(f"{path.stem}_{bench_name}{path.suffix}") if several else path


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    names = list(dict.fromkeys(args.bench_name))
    if args.input_file and len(names) > 1:
        raise ConfigError("--input-file reads one bench's judgments; give one --bench-name with it")
    if args.human_labels and len(names) > 1:
        raise ConfigError("--human-labels labels one bench's games; give one --bench-name with it")
    if args.bootstrap < 0:
        raise ConfigError(f"--bootstrap must be >= 0, got {args.bootstrap}")
    if args.wandb:
        from ..results.wandb_log import require_wandb

        require_wandb()  # before any work: a missing extra is reported first
    if args.input_file and leaderboards.is_leaderboard_file(Path(args.input_file)):  # AlpacaEval's, Arena-Hard's
        print(render(leaderboards.file_tables(Path(args.input_file), args.style_control, args.strong_weight, args.seed,
                                              parse_model_list(args.model_list), args.bootstrap if args.ratings else None),
                     args.format, args.digits))
        return 0
    models = parse_model_list(args.model_list)
    results = [bench_result(args, name, models) for name in names]
    tables: list[Table] = []
    across = across_benches(results) if len(results) > 1 else None
    if across:
        tables.append(across)
        for r in results:
            for t in r.tables:
                t.title = f"{r.name}: {t.title}"
    tables += [t for r in results for t in r.tables]
    print(render(tables, args.format, args.digits))
    plots: dict[str, Path] = {}
    if args.plot:
        from ..results.plots import plot_result

        for r in results:
            plots[r.name] = plot_result(r, plot_path(args.plot, r.name, len(results) > 1))
            print(f"wrote {plots[r.name]}", file=sys.stderr)
    if args.wandb:
        _log_wandb(args, results, plots, across)
    return 0


def _log_wandb(args: argparse.Namespace, results: list[BenchResult], plots: dict[str, Path],
               across: Table | None) -> None:
    from ..results.wandb_log import default_run_name, log_results

    judges = sorted({r.judge_model for res in results for r in res.records if r.judge_model})
    mode = results[0].mode
    config = {"benches": [r.name for r in results], "mode": mode, "judges": judges, "baseline": results[0].baseline,
              "models": results[0].models, "failed_games": args.failed_games, "input_file": args.input_file,
              "ratings": bool(args.ratings or args.length_control or args.style_control), "bootstrap": args.bootstrap,
              "seed": args.seed, "length_control": args.length_control, "style_control": args.style_control,
              "strong_weight": args.strong_weight, "verdict_rule": args.verdict_rule or "fastchat",
              "judge_models": args.judge_model, "panel": args.panel}
    name = args.wandb_run_name or default_run_name([r.name for r in results], mode, judges)
    folder = log_results(results, name, config, plots, across)
    print(f"logged to W&B run {name!r} ({folder})", file=sys.stderr)


def cli_main() -> None:
    sys.exit(cli.run(main))


if __name__ == "__main__":
    cli_main()
