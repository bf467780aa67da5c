"""Step 3: show scores (single) or win rates (pairwise) from judgment files.

    python -m llm_judge.show_result [--bench-name mt_bench] [--mode single|pairwise-baseline|pairwise-all]
    python -m llm_judge.show_result --input-file PATH/gpt-4_pair.jsonl --mode pairwise-all --format markdown
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Sequence

from . import cli
from .errors import InputError
from .judges.matches import MODES
from .results import PairTally, is_failed, pair_tallies, pairwise_tallies, single_scores
from .store import read_jsonl
from .tables import FORMATS, Table, render


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="show_result", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    cli.add_data_args(p)
    p.add_argument("--input-file", default=None, help="judgment file (default: model_judgment/<judge>_<single|pair>.jsonl)")
    p.add_argument("--judge-model", default="gpt-4", help="judge whose file to read when --input-file is not given")
    p.add_argument("--baseline-model", default=None, help="baseline of pairwise-baseline (default: the bench's)")
    p.add_argument("--model-list", nargs="+", default=None, help="only these models")
    p.add_argument("--mode", default="single", choices=MODES)
    p.add_argument("--format", default="table", choices=FORMATS)
    p.add_argument("--digits", type=int, default=2, help="decimals shown (default: 2)")
    return p


def _input_file(args: argparse.Namespace) -> Path:
    if args.input_file:
        return Path(args.input_file)
    from .bench import load_bench

    bench = load_bench(args.bench_name, args.data_dir)
    suffix = "single" if args.mode == "single" else "pair"
    return bench.judgment_dir / f"{args.judge_model}_{suffix}.jsonl"


def _baseline(args: argparse.Namespace) -> str | None:
    if args.mode != "pairwise-baseline":
        return None
    if args.baseline_model:
        return args.baseline_model
    from .bench import load_bench

    return load_bench(args.bench_name, args.data_dir).config.baseline_model


def single_tables(records: list[dict[str, Any]], models: list[str] | None) -> list[Table]:
    rows = single_scores(records, models)
    turns = sorted({t for row in rows for t in row.scores})
    columns = ["model"] + [f"turn {t}" for t in turns] + ["score", "n", "failed"]
    table = Table("single: mean score (1-10)", columns)
    for row in rows:
        table.rows.append([row.model] + [row.mean(t) for t in turns] + [row.mean(), row.n, row.failed])
    failed = sum(r.failed for r in rows)
    if failed:
        table.note = f"{failed} judgments failed (no score) and are not averaged in; rerun gen_judgment to retry them"
    return [table]


def _pct(t: PairTally, what: str) -> float | None:
    rate = t.rate(what)
    return None if rate is None else 100.0 * rate


def pairwise_tables(records: list[dict[str, Any]], models: list[str] | None, baseline: str | None,
                    mode: str) -> list[Table]:
    tallies = pairwise_tallies(records, models, baseline)
    per_model = Table("pairwise: per model" + (f" vs {baseline}" if baseline else ""),
                      ["model", "win", "loss", "tie", "win_rate", "loss_rate", "win_rate_adjusted", "failed"])
    for model, t in tallies.items():
        per_model.rows.append([model, t.win, t.loss, t.tie, t.rate("win_rate"), t.rate("loss_rate"),
                               t.rate("win_rate_adjusted"), t.failed])
    failed = sum(1 for r in records if is_failed(r))
    if failed:
        per_model.note = f"{failed} judgments failed and are not counted; rerun gen_judgment to retry them"
    tables = [per_model]
    if mode == "pairwise-all" or baseline is None:
        pairs = Table("pairwise: per pair (model_1 vs model_2, %)",
                      ["model_1", "model_2", "win", "tie", "loss", "n", "failed"])
        for (m1, m2), t in pair_tallies(records, models, baseline).items():
            pairs.rows.append([m1, m2, _pct(t, "win"), _pct(t, "tie"), _pct(t, "loss"), t.n, t.failed])
        tables.append(pairs)
    return tables


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    path = _input_file(args)
    if not path.exists():
        raise InputError(path, "no judgment file; run gen_judgment first (or pass --input-file)")
    records = [r for r in read_jsonl(path) if isinstance(r, dict)]
    models = args.model_list and [m for v in args.model_list for m in v.split(",") if m]
    pairwise_file = any("model_1" in r for r in records)
    if args.mode == "single" and pairwise_file:
        args.mode = "pairwise-all"
    if args.mode == "single":
        tables = single_tables(records, models)
    else:
        tables = pairwise_tables(records, models, _baseline(args), args.mode)
    print(render(tables, args.format, args.digits))
    return 0


def cli_main() -> None:
    sys.exit(cli.run(main))


if __name__ == "__main__":
    cli_main()
