"""Judge meta-evaluation: how well does a judge agree with human labels (or with another judge)?

    python -m llm_judge.eval_judge score SET --pred [NAME=]FILE[,SWAPPED_FILE] ... [--against NAME]
    python -m llm_judge.eval_judge run SET --judge-model MODEL [--judge-method distribution] [--first-n 8]
    python -m llm_judge.eval_judge report --set NAME=SET ... --pred NAME:[JUDGE=]FILE ... [--panel majority]
    python -m llm_judge.eval_judge critique TESTDATA_CRITIQUE --reference REFERENCE --judge-model MODEL
    python -m llm_judge.eval_judge calibrate SET --pred JUDGMENTS --output MAP.json [--method auto]
    python -m llm_judge.eval_judge llmbar-stats RESULT_JSON

SET is a labelled pairwise set in its published format (PandaLM testset-v1.json, an LLMBar folder or
dataset.json, Auto-J testdata_pairwise.jsonl, MT-bench human judgments, JudgeLM val, JudgeBench, RM-Bench, or our
JSONL).
``score`` reads stored predictions (PandaLM/LLMBar/Auto-J/JudgeLM output files, FastChat pairwise
judgments); ``run`` judges the set in both orders with any judge the harness supports, resumably, then
scores it (with any --pred beside it). ``llmbar-stats`` prints LLMBar's statistics.json for a result.json.

Examples:
    eval_judge score data/pandalm/testset-v1.json --invalid-as tie \\
        --pred gpt-3.5=data/pandalm/gpt-3.5-turbo-testset-v1.json \\
        --pred pandalm-7b=data/pandalm/pandalm-7b-testset-v1.json
    eval_judge score data/llmbar --pred 'gpt-4-cot=data/llmbar/**/GPT-4/CoT/result.json'
    eval_judge score testdata_pairwise.jsonl --pred autoj=pred.jsonl,pred_exchange.jsonl --group-by subset
    eval_judge run data/llmbar --subset Natural --first-n 4 --judge-model default --judge-method distribution
    eval_judge run data/llmbar --subset Natural --judge-model default --judge-method distribution \\
        --num-workers 2          (two judge copies through Ray, as gen_judgment)
    eval_judge score data/pandalm/testset-v1.json --panel majority --pred a=A.json --pred b=B.json \\
        --pred c=C.json          (the three judges, and their majority as a fourth row)
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Sequence

from .. import cli
from ..calibration import METHODS
from ..errors import ConfigError
from ..api import evaluate_judge
from ..judging.judge_id import judge_id_for
from ..metaeval.evaluate import RunOptions, SetOptions
from ..metaeval.loaders import FORMATS as SET_FORMATS
from ..metaeval.judges_table import judges_table, load_entries
from ..metaeval.loaders import load_set
from ..metaeval.metrics import llmbar_statistics
from ..metaeval.predictions import FORMATS as PRED_FORMATS
from ..metaeval.predictions import read_llmbar
from ..results.tables import FORMATS, render
from .engine_flags import add_engine_args, engine_choice, engine_config


def _set_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("set", help="labelled pairwise set: a file, or a folder of LLMBar dataset.json files")
    p.add_argument("--set-format", default="auto", choices=("auto",) + SET_FORMATS)
    p.add_argument("--annotators", nargs="+", default=["expert"],
                   help="MT-bench human judgments: judge-name prefixes counted as human votes (default: expert)")
    p.add_argument("--subset", nargs="+", default=None, help="only these subsets (e.g. Natural Adversarial/Neighbor)")
    p.add_argument("--ids", nargs="+", default=None, help="only the pairs with these ids (e.g. Natural/3 for LLMBar)")
    p.add_argument("--first-n", type=cli.positive_int, default=None, help="only the first n pairs (after the filters)")
    p.add_argument("--pred", action="append", default=[], metavar="[NAME=]FILE[,SWAPPED]",
                   help="a judge's stored verdicts; repeat for several judges. FILE may be a quoted glob; the "
                        "file after a comma is the swapped-order run (Auto-J, JudgeLM)")
    p.add_argument("--pred-format", default="auto", choices=("auto",) + PRED_FORMATS)
    p.add_argument("--against", default="human",
                   help="score the judges against this judge's final verdicts instead of the human labels")
    p.add_argument("--group-by", default="subset", choices=("subset", "category", "none"),
                   help="rows per subset (default), per category, or overall only")
    p.add_argument("--invalid-as", default="wrong", choices=("wrong", "tie"),
                   help="an unparseable or missing verdict: never right (default), or a tie (PandaLM's and "
                        "JudgeLM's scorers)")
    p.add_argument("--interannotator", action="store_true", help="also show annotator vs annotator agreement")
    p.add_argument("--panel", choices=["majority"], default=None,
                   help="also score the panel of every judge given (each --pred, and run's judge; not the "
                        "--against one): the final verdict more than half of them gave, else a tie")
    p.add_argument("--format", default="table", choices=FORMATS)
    p.add_argument("--digits", type=int, default=2, help="decimals shown (default: 2)")
    p.add_argument("-v", "--verbose", action="store_true")


def _run_args(p: argparse.ArgumentParser, judge_required: bool = True) -> None:
    p.add_argument("--judge-model", required=judge_required,
                   help="judge: API model name (gpt-4, claude-..., openai:NAME), local path, hub id or 'default'")
    engine_choice(p, "--judge-engine")
    p.add_argument("--judge-model-id", default=None, help="judge name in records and file names")
    p.add_argument("--judge-file", default=None, help="judge prompts in FastChat's judge_prompts.jsonl format")
    p.add_argument("--judge-family", default=None, metavar="NAME|FILE",
                   help="the judge's prompt layout and verdict format: fastchat (default; alias ours), judgelm, autoj, pandalm, "
                        "prometheus, or a family file (as gen_judgment)")
    p.add_argument("--language", default="en", choices=["en", "ja"], help="built-in judge prompts to use (default: en)")
    p.add_argument("--judge-method", choices=["generate", "distribution"], default="generate",
                   help="generate: explanation then verdict (default); distribution: read the probabilities of "
                        "[[A]]/[[B]]/[[C]] directly (local judges)")
    p.add_argument("--judge-max-new-token", type=cli.positive_int, default=None,
                   help="most tokens per judgment (default: the judge family's, 2048 for fastchat)")
    p.add_argument("--output", default=None,
                   help="judgment file (default: OUTPUT_DIR/<set>/<judge>_pair.jsonl; <judge>_<family>_pair.jsonl "
                        "with --judge-family)")
    p.add_argument("--output-dir", default="judge_eval", help="where judgment files go (default: ./judge_eval)")
    p.add_argument("--dry-run", action="store_true", help="print the plan and stop")
    add_engine_args(p, judge=True)
    cli.add_lock_args(p, "judgment file")


def _report_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--set", action="append", required=True, metavar="NAME=PATH",
                   help="a labelled set (any --set-format, detected); repeat for several")
    p.add_argument("--pred", action="append", default=[], metavar="SET:[JUDGE=]FILE",
                   help="a judge's stored verdicts on the set named before the colon (formats as score's --pred); "
                        "a judge with the same name on several sets is one row")
    p.add_argument("--annotators", nargs="+", default=["expert"], help="MT-bench human judgments' voters")
    p.add_argument("--panel", choices=["majority"], default=None,
                   help="also a row for the panel: on each set, the majority of its judges' final verdicts")
    p.add_argument("--invalid-as", default="wrong", choices=("wrong", "tie"))
    p.add_argument("--bootstrap", type=cli.positive_int, default=1000, help="bootstrap resamples (default: 1000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap (default: 0)")
    p.add_argument("--format", default="table", choices=FORMATS)
    p.add_argument("--digits", type=int, default=2, help="decimals shown (default: 2)")


def _critique_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("set", help="Auto-J's testdata_critique.jsonl")
    p.add_argument("--reference", required=True, help="Auto-J's reference_chatgpt_critique.jsonl")
    p.add_argument("--critiques", default="autoj", metavar="NAME|FILE",
                   help="the critic: a critic released in the test file (autoj, the default), a JSONL file of "
                        '{"output": critique} aligned by line with it, or gen_model_answer\'s answers to --write-bench')
    p.add_argument("--critic-name", default=None, help="the critic's name in records (default: from --critiques)")
    p.add_argument("--write-bench", default=None, metavar="FOLDER",
                   help="write the critique tasks as a bench (FOLDER/question.jsonl) for gen_model_answer, and stop")
    p.add_argument("--subset", nargs="+", default=None, help="only these scenario groups (e.g. Code)")
    p.add_argument("--first-n", type=cli.positive_int, default=None, help="only the first n queries")
    p.add_argument("--bootstrap", type=cli.positive_int, default=1000, help="bootstrap resamples (default: 1000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap (default: 0)")
    p.add_argument("--format", default="table", choices=FORMATS)
    p.add_argument("--digits", type=int, default=2, help="decimals shown (default: 2)")
    p.add_argument("-v", "--verbose", action="store_true")
    _run_args(p, judge_required=False)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="eval_judge", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    score = sub.add_parser("score", help="score stored predictions")
    _set_args(score)
    score.add_argument("--write-bench", default=None, metavar="FOLDER",
                       help="RM-Bench: write the set as a bench (each item a question, its six responses six "
                            "models' answers) for gen_judgment --mode single, and stop; the judgment file is a --pred")
    run = sub.add_parser("run", help="run a judge over the set in both orders, then score it")
    _set_args(run)
    _run_args(run)
    _report_args(sub.add_parser("report", help="the judges' table: each set's headline number per judge, with "
                                               "95%% bootstrap intervals"))
    _critique_args(sub.add_parser("critique", help="Auto-J's critique task: a critic's critiques against the "
                                                  "ChatGPT reference, compared by a judge in both orders"))
    cal = sub.add_parser("calibrate", help="fit a calibration of a judge's verdict probabilities on the set; "
                                           "ECE, Brier and log-loss before and after")
    cal.add_argument("set", help="labelled pairwise set (as score)")
    cal.add_argument("--set-format", default="auto", choices=("auto",) + SET_FORMATS)
    cal.add_argument("--annotators", nargs="+", default=["expert"], help="MT-bench human judgments' voters")
    cal.add_argument("--pred", required=True, nargs="+", metavar="FILE",
                     help="the judge's --judge-method distribution judgment file(s) on the set (eval_judge run's)")
    cal.add_argument("--method", choices=("auto",) + METHODS, default="auto",
                     help="the map: temperature, isotonic, or auto: the lower cross-validated Brier score")
    cal.add_argument("--folds", type=cli.positive_int, default=5, help="cross-validation folds (default: 5)")
    cal.add_argument("--output", required=True, help="where to write the fitted map (JSON)")
    cal.add_argument("--bootstrap", type=cli.positive_int, default=1000, help="bootstrap resamples (default: 1000)")
    cal.add_argument("--seed", type=int, default=0, help="seed of the bootstrap (default: 0)")
    cal.add_argument("--format", default="table", choices=FORMATS)
    cal.add_argument("--digits", type=int, default=3, help="decimals shown (default: 3)")
    stats = sub.add_parser("llmbar-stats", help="LLMBar's statistics.json for an evaluator's result.json")
    stats.add_argument("result", help="an LLMBar evaluator result.json")
    return p


def _critique(args: argparse.Namespace) -> int:
    from ..datasets.autoj import read_critique_set
    from ..metaeval.critique import evaluate_critiques, write_bench
    from ..progress import reporter

    cli.setup_logging(args.verbose)
    if args.write_bench:
        path = write_bench(read_critique_set(args.set, args.reference), Path(args.write_bench))
        print(f"wrote {path}", file=sys.stderr)
        return 0
    if not args.judge_model:
        raise ConfigError("critique compares the critiques with a judge: give --judge-model (or --write-bench)")
    run = RunOptions(**{f.name: getattr(args, f.name) for f in dataclasses.fields(RunOptions)})
    config = engine_config(args, args.judge_model, args.judge_engine, judge_id_for(args.judge_model,
                                                                                  args.judge_model_id))
    result = evaluate_critiques(args.set, args.reference, args.critiques, args.critic_name or Path(args.critiques).stem,
                                config, run, reporter(True, None), args.subset, args.first_n, args.bootstrap, args.seed)
    if result is None:
        return 0
    print(result.render(args.format, args.digits))
    return result.exit_code


def _write_rmbench(args: argparse.Namespace) -> int:
    from ..metaeval.evaluate import select
    from ..metaeval.rmbench import write_bench

    labelled = load_set(args.set, args.set_format, tuple(args.annotators))
    if labelled.format != "rmbench":
        raise ConfigError(f"--write-bench writes RM-Bench sets; {args.set} is {labelled.format}")
    written = write_bench(select(labelled.items, args.subset, args.ids, args.first_n), Path(args.write_bench))
    print(f"wrote {written[0]} and {len(written) - 1} answer files", file=sys.stderr)
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    from ..calibration import save_map
    from ..metaeval.calibrate import calibrate, calibration_table

    labelled = load_set(args.set, args.set_format, tuple(args.annotators))
    result = calibrate(labelled, [Path(f) for f in args.pred], args.method, args.folds, args.bootstrap, args.seed)
    result.cmap.info = {"set": str(args.set), "judgments": args.pred, "pairs": result.n, "folds": args.folds,
                        "before": result.before, "after_cross_fitted": result.after}
    save_map(result.cmap, args.output)
    print(render([calibration_table(labelled.name, result, args.folds, args.bootstrap)], args.format, args.digits))
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "llmbar-stats":
        labelled = load_set(args.result, "llmbar")
        preds = read_llmbar([Path(args.result)], labelled, "result")
        print(json.dumps(llmbar_statistics(labelled.items, preds), indent=2))
        return 0
    if args.command == "critique":
        return _critique(args)
    if args.command == "score" and args.write_bench:
        return _write_rmbench(args)
    if args.command == "calibrate":
        return _calibrate(args)
    if args.command == "report":
        entries = load_entries(args.set, args.pred, tuple(args.annotators), bool(args.panel), args.invalid_as == "tie")
        print(render([judges_table(entries, args.invalid_as == "tie", args.bootstrap, args.seed)], args.format,
                     args.digits))
        return 0
    cli.setup_logging(args.verbose)
    options = SetOptions(**{f.name: getattr(args, f.name) for f in dataclasses.fields(SetOptions)})
    config = run = None
    if args.command == "run":
        run = RunOptions(**{f.name: getattr(args, f.name) for f in dataclasses.fields(RunOptions)})
        config = engine_config(args, args.judge_model, args.judge_engine,
                               judge_id_for(args.judge_model, args.judge_model_id))
    result = evaluate_judge(args.set, config, verbose=True, run=run, **dataclasses.asdict(options))
    if result is None:  # a dry run
        return 0
    print(result.render(args.format, args.digits))
    return result.exit_code


def cli_main() -> None:
    sys.exit(cli.run(main))


if __name__ == "__main__":
    cli_main()
