"""Step 2: judge the answers of a bench with an LLM judge.

    python -m llm_judge.gen_judgment --mode single --judge-model gpt-4 [--model-list a b] [--bench-name mt_bench]
    python -m llm_judge.gen_judgment --mode pairwise-baseline --baseline-model gpt-3.5-turbo
    python -m llm_judge.gen_judgment --mode pairwise-all --judge-model default     (local SmolLM2 judge)
    python -m llm_judge.gen_judgment --judge-model mock:judge     (a scripted judge, no model: see engines/mock.py)
    python -m llm_judge.gen_judgment --mode pairwise-all --wandb  (log the run's metadata to Weights & Biases)
    python -m llm_judge.gen_judgment --judge-model gpt-4o claude-3-5-sonnet-latest default   (a panel of 3 judges)
    python -m llm_judge.gen_judgment --bench-name alpaca_eval --judge-model gpt-4-1106-preview --model-list my-model

Writes data/<bench>/model_judgment/<judge>_single.jsonl or <judge>_pair.jsonl (FastChat's format plus
our fields), or with --judgment-layout ja-vicuna one file per model pair as ja-vicuna-qa-benchmark does:
model_judgment/pairwise/<judge>/pairwise:<model_1>_<model_2>.jsonl (single/<judge>/single:<model>.jsonl).
Judgments already present are skipped; failed ones are retried on the next run. Several --judge-model
judge in one run, each into its own file: API judges at the same time, local judges one after another
(judging/panel_run.py). An AlpacaEval bench folder is annotated with its own weighted annotator into
results/<model>/weighted_alpaca_eval_gpt4_turbo/annotations.json (llm_judge/leaderboards/).
"""
from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from typing import Sequence

from .. import cli, leaderboards
from ..api import judge
from ..bench import JUDGMENT_LAYOUTS, parse_model_list
from ..engines.config import EngineConfig
from ..errors import ConfigError
from ..judging.bench_run import JudgeOptions
from ..judging.families import load_family
from ..judging.judge_id import judge_ids
from ..judging.matches import MODES
from .engine_flags import add_batch_args, add_engine_args, batch_flags, engine_choice, engine_config

_skip_teardown = False  # see cli_main


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gen_judgment", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    cli.add_data_args(p)
    p.add_argument("--judge-file", default=None,
                   help="judge prompts in FastChat's judge_prompts.jsonl format (default: the bench's, else built-in)")
    p.add_argument("--judge-family", default=None, metavar="NAME|FILE",
                   help="judge family: its prompt layout, verdict parser and settings: fastchat (default; alias "
                        "ours), judgelm, autoj, pandalm, prometheus, or a family .json file (see README)")
    p.add_argument("--judge-model", nargs="+", default=["gpt-4"],
                   help="judge: API model name (gpt-4, claude-..., openai:NAME), local path, hub id or 'default'; "
                        "several: a panel, each judge writing its own file (API judges at once, local ones in turn)")
    engine_choice(p, "--judge-engine")
    p.add_argument("--judge-model-id", nargs="+", default=None,
                   help="judge name in records and file names (default: from --judge-model); one per judge")
    p.add_argument("--baseline-model", default=None, help="baseline for pairwise-baseline (default: the bench's)")
    p.add_argument("--mode", default="single", choices=MODES)
    p.add_argument("--model-list", nargs="+", default=None, help="models to judge (default: every answer file)")
    p.add_argument("--first-n", type=cli.positive_int, default=None, help="judge only the first n questions (debugging)")
    p.add_argument("--reference-model", default=None, help="reference answers file name (default: the bench's, gpt-4)")
    p.add_argument("--output-file", default=None, help="judgment file (default: model_judgment/<judge>_<single|pair>.jsonl)")
    p.add_argument("--judgment-layout", choices=JUDGMENT_LAYOUTS, default=None,
                   help="fastchat: one file per judge (default); ja-vicuna: one file per model pair in "
                        "model_judgment/pairwise/<judge>/, as ku-nlp/ja-vicuna-qa-benchmark writes "
                        "(default: the bench.json's judgment_layout)")
    p.add_argument("--judge-method", choices=["generate", "distribution"], default="generate",
                   help="generate: the judge writes an explanation and a verdict (default); distribution: read the "
                        "judge's probabilities for each verdict directly (local judges; fast, never unparseable)")
    p.add_argument("--judge-max-new-token", type=cli.positive_int, default=None,
                   help="most tokens a judgment may take (default: the judge family's; fastchat: 2048)")
    p.add_argument("--stop-at-verdict", action="store_true",
                   help="generate: end each judgment once the judge family's verdict marker is complete (fastchat: the "
                        "']]' of [[N]] or [[A]]) instead of at EOS or the budget; a judge that revises its verdict "
                        "later is then read at its first verdict (see docs/local-judges.md)")
    p.add_argument("--dry-run", action="store_true", help="print the plan (and, for API judges, the cost estimate) and stop")
    p.add_argument("--price-table", default=None, metavar="FILE",
                   help='JSON prices in USD per 1M tokens, e.g. {"gpt-4o": {"input": 2.5, "output": 10}}, '
                        "over the built-in table (API judges)")
    cli.add_wandb_args(p, "the run's metadata (judge, bench, mode, counts, tokens, cost)",
                       "gen_judgment-<bench>-<mode>-<judge>")
    add_engine_args(p, judge=True)
    add_batch_args(p)
    cli.add_lock_args(p, "judgment file")
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cli.setup_logging(args.verbose)
    if args.wandb:
        from ..wandb_run import require_wandb

        require_wandb()  # before any judging: a missing extra is reported first
    if leaderboards.bench_kind(args.bench_name, args.data_dir):
        return _leaderboard_bench(args)
    family = load_family(args.judge_family)
    configs = judge_configs(args)
    global _skip_teardown
    _skip_teardown = all(config.is_api for config in configs) and not args.wandb
    summary = judge(args.bench_name, configs, args.mode, judge_family=family, data_dir=args.data_dir, verbose=True,
                    **judge_options(args))
    return summary.exit_code


def _leaderboard_bench(args: argparse.Namespace) -> int:
    """AlpacaEval 2.0 and Arena-Hard-Auto folders are judged by their own protocols (llm_judge/leaderboards/)."""
    leaderboards.refuse_flags(args.bench_name, {"--judge-model (several)": len(args.judge_model) > 1,
                                                "--dry-run": args.dry_run, "--batch": args.batch, "--wandb": args.wandb})
    judge_id = judge_ids(args.judge_model, args.judge_model_id)[0]
    config = engine_config(args, args.judge_model[0], args.judge_engine, judge_id)
    lines, failed = leaderboards.judge_bench(args.bench_name, args.data_dir, config, parse_model_list(args.model_list),
                                             judge_id, args.judge_max_new_token, args.first_n)
    print("\n".join(lines), file=sys.stderr)
    return 1 if failed else 0


def judge_configs(args: argparse.Namespace) -> list[EngineConfig]:
    """One EngineConfig per --judge-model, named by its judge id (from --judge-model-id, one each); none is
    opened yet."""
    ids = judge_ids(args.judge_model, args.judge_model_id)
    return [engine_config(args, model, args.judge_engine, judge_id) for model, judge_id in zip(args.judge_model, ids)]


def judge_options(args: argparse.Namespace) -> dict:
    """The flags as :class:`~llm_judge.judging.bench_run.JudgeOptions`' fields."""
    fields = {f.name for f in dataclasses.fields(JudgeOptions)} - {"mode", "batch"}  # wait, share: the flags
    return dict({name: getattr(args, name) for name in fields}, batch=batch_flags(args))


def cli_main() -> None:
    rc = cli.run(main)
    if _skip_teardown:
        # An API run has loaded the SDK's thousands of classes, and the interpreter's teardown frees them one by
        # one, after the last record (docs/api.md, Throughput). Every file is closed and
        # synced by now; flush what is buffered and leave. Not after --wandb: its exit hook finishes the upload.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(rc)
    sys.exit(rc)


if __name__ == "__main__":
    cli_main()
