"""Build judge-training data for LLaMA-Factory from published judgment datasets and our own judgments.

    python -m llm_judge.make_traindata --out-dir out/judge \\
        --source autoj=data/autoj/training/single_traindata.jsonl \\
        --source llmbar=data/llmbar \\
        --source pandalm=data/pandalm/testset-v1.json \\
        --source judgments=data/mt_bench/model_judgment/gpt-4_pair.jsonl \\
        [--swap/--no-swap] [--ref-drop 0.3] [--test-ratio 0.1] [--seed 42] [--train-steps 8]

Source kinds: autoj, llmbar, pandalm, judgments (FastChat/MT-bench judgment files and this harness's
own), judgelm, prometheus, records; options follow the path: KIND=PATH,option=value.
Writes <name>_train.json / <name>_test.json (OpenAI "messages" format), merges their entries into
dataset_info.json (other entries are kept), a LLaMA-Factory SFT YAML, the unified records, a summary,
and prints the summary per source. --train-steps N then fine-tunes the default model for N steps on
the shortest training examples and prints the loss per step.
"""
from __future__ import annotations

import argparse
import logging
from typing import Sequence

from .. import cli
from ..traindata.convert import KINDS, SourceSpec
from ..traindata.pipeline import BuildOptions, build
from ..traindata.summary import render

log = logging.getLogger("llm_judge.make_traindata")


def build_parser() -> argparse.ArgumentParser:
    kinds = "\n".join(f"  {k:11s} {what}" + "".join(f"\n  {'':11s}   ,{o}=...: {w}" for o, w in opts.items())
                      for k, (_, what, opts) in KINDS.items())
    p = argparse.ArgumentParser(prog="make_traindata", description=__doc__, epilog="source kinds:\n" + kinds,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--source", action="append", required=True, metavar="KIND=PATH[,OPT=V]",
                   help="a dataset to convert (repeat for several)")
    p.add_argument("--out-dir", required=True, help="folder for the dataset files and dataset_info.json")
    p.add_argument("--name", default="judge_sft", help="dataset name in dataset_info.json (test set: NAME_test)")
    p.add_argument("--judge-family", "--format", dest="format", default="fastchat", metavar="NAME|FILE",
                   help="judge family whose prompts and verdict syntax the examples use, as gen_judgment "
                        "--judge-family: fastchat (default; alias ours), judgelm, autoj, pandalm, prometheus, or a family file")
    p.add_argument("--lang", default="auto", help="built-in prompt language: auto (per record), en or ja")
    p.add_argument("--judge-file", default=None,
                   help="judge prompts in FastChat's judge_prompts.jsonl format, instead of the family's")
    p.add_argument("--test-ratio", type=float, default=0.1, help="share of questions held out for test (default 0.1)")
    p.add_argument("--swap", action=argparse.BooleanOptionalAction, default=True,
                   help="add every pairwise example in the other order, label swapped (default: on)")
    p.add_argument("--ref-drop", type=float, default=0.0,
                   help="share of training records with a reference answer that lose it (default 0)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--max-per-source", type=cli.positive_int, default=None, help="sample at most N records per source")
    p.add_argument("--model-path", default=None, help="model to fine-tune (YAML and --train-steps; default: the bundled model)")
    p.add_argument("--template", default=None, help="LLaMA-Factory chat template (default: smollm2 for the bundled model)")
    p.add_argument("--finetuning-type", choices=["lora", "full"], default="lora")
    p.add_argument("--cutoff-len", type=cli.positive_int, default=2048, help="LLaMA-Factory cutoff_len in the YAML")
    p.add_argument("--train-steps", type=int, default=0, help="run a short fine-tuning of N steps here (default: off)")
    p.add_argument("--train-examples", type=cli.positive_int, default=4, help="examples the short run cycles over")
    p.add_argument("--train-max-len", type=cli.positive_int, default=256, help="tokens per example in the short run")
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cli.setup_logging(args.verbose)
    specs = [SourceSpec.parse(s) for s in args.source]
    opts = BuildOptions(name=args.name, test_ratio=args.test_ratio, swap=args.swap, ref_drop=args.ref_drop,
                        seed=args.seed, max_per_source=args.max_per_source, format=args.format, language=args.lang,
                        judge_file=args.judge_file, model=args.model_path, template=args.template,
                        finetuning_type=args.finetuning_type, cutoff_len=args.cutoff_len)
    if args.model_path and not args.template:
        log.warning("no --template: the YAML says 'default'; set the LLaMA-Factory template of %s", args.model_path)
    result = build(specs, args.out_dir, opts)
    print(render(result.stats, result.notes))
    print(f"train: {len(result.train)} examples, test: {len(result.test)}")
    for what, path in result.files.items():
        print(f"wrote {what}: {path}")
    if args.train_steps > 0:
        from ..engines.weights import resolve_model_path
        from ..traindata.finetune import finetune, shortest

        examples = shortest([ex for _, ex in result.train], args.train_examples)
        run = finetune(examples, resolve_model_path(args.model_path), steps=args.train_steps,
                       max_len=args.train_max_len, lora=args.finetuning_type == "lora", seed=args.seed,
                       chat_template=result.chat_template)
        print(f"short fine-tuning ({args.finetuning_type}, {run.trainable_params} trainable parameters, "
              f"{run.examples} examples): loss " + " ".join(f"{x:.3f}" for x in run.losses))
    return 0


def cli_main() -> None:
    raise SystemExit(cli.run(main))


if __name__ == "__main__":
    cli_main()
