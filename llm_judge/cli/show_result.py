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
import dataclasses
import sys
from typing import Sequence

from .. import cli
from ..api import results
from ..five_level import STRONG_WEIGHT
from ..judging.matches import MODES
from ..results import panel, verdict_rules
from ..results.aggregate import FAILED_GAMES
from ..results.options import ResultOptions
from ..results.tables import FORMATS


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


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    given = {"bench_name", "judge_model", "mode", "data_dir", "input_file"}
    options = {f.name: getattr(args, f.name) for f in dataclasses.fields(ResultOptions) if f.name not in given}
    res = results(args.bench_name, args.judge_model, args.mode, data_dir=args.data_dir, input_file=args.input_file,
                  verbose=True, **options)
    print(res.render(args.format, args.digits))
    return 0


def cli_main() -> None:
    sys.exit(cli.run(main))


if __name__ == "__main__":
    cli_main()
