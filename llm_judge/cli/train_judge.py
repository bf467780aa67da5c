"""Train a judge on make_traindata's output, measured on its test split before and after.

    python -m llm_judge.train_judge --data-dir out/judge --output-dir out/judge-raft \\
        --objective raft [--steps 100] [--batch-size 2] [--grad-accum 4] [--finetuning-type lora|full]

Objectives: sft (cross-entropy on the assistant turn), raft (squared error between the target score and
the expected score under the model's probabilities of the judge family's labels at the verdict; pairwise:
the expected preference, A = 1, tie = 0.5, B = 0), raft+ce (raft + --ce-weight x sft). The output folder
is the judge, usable as `gen_judgment --judge-model OUT --judge-family F [--judge-method distribution]`;
its eval.json holds the before/after measurement. --resume continues from the last checkpoint.
"""
from __future__ import annotations

import argparse
import time
from typing import Sequence

from .. import cli
from ..training.raft import DEFAULT_CE_WEIGHT, OBJECTIVES


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="train_judge", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", required=True, help="make_traindata's --out-dir")
    p.add_argument("--name", default=None, help="which dataset in it (default: the only NAME_train.json)")
    p.add_argument("--output-dir", required=True, help="where the trained judge, checkpoints and eval.json go")
    p.add_argument("--model-path", default=None, help="model to train (default: the bundled SmolLM2-135M-Instruct)")
    p.add_argument("--judge-family", default=None,
                   help="family whose labels RAFT and the evaluation read (default: the one the data was made for)")
    p.add_argument("--objective", choices=OBJECTIVES, default="sft")
    p.add_argument("--ce-weight", type=float, default=DEFAULT_CE_WEIGHT,
                   help=f"raft+ce: weight of the cross-entropy term (default {DEFAULT_CE_WEIGHT:g})")
    p.add_argument("--finetuning-type", choices=["lora", "full"], default="lora")
    p.add_argument("--lora-rank", type=cli.positive_int, default=8)
    p.add_argument("--lora-alpha", type=cli.positive_int, default=16)
    p.add_argument("--steps", type=cli.positive_int, default=100, help="optimizer steps (default 100)")
    p.add_argument("--batch-size", type=cli.positive_int, default=2, help="examples per micro-batch")
    p.add_argument("--grad-accum", type=cli.positive_int, default=4, help="micro-batches per optimizer step")
    p.add_argument("--learning-rate", type=float, default=None, help="default 2e-4 (LoRA), 1e-5 (full)")
    p.add_argument("--max-len", type=cli.int_at_least(8), default=1024, help="tokens per example (default 1024)")
    p.add_argument("--max-examples", type=cli.positive_int, default=None, help="train on a random sample of N")
    p.add_argument("--eval-examples", type=cli.positive_int, default=None,
                   help="evaluate on the first N test questions (a pair's two orders count once)")
    p.add_argument("--no-eval", dest="evaluate", action="store_false", help="skip the before/after measurement")
    p.add_argument("--eval-batch-size", type=cli.positive_int, default=2)
    p.add_argument("--verdict-only", action="store_true",
                   help="train on the verdict alone (prefill, label, suffix), the rationale cut, as distribution "
                        "judging reads it")
    p.add_argument("--padding-side", choices=["right", "left"], default="right")
    p.add_argument("--bf16", action="store_true", help="bfloat16 autocast (GPU, or a CPU with AMX / AVX-512 bf16)")
    p.add_argument("--threads", type=cli.positive_int, default=None, help="torch CPU threads")
    p.add_argument("--device", choices=["cpu", "cuda"], default=None, help="default: cuda when available")
    p.add_argument("--save-steps", type=cli.positive_int, default=50, help="checkpoint every N steps")
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint in --output-dir")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from ..training.run import EVAL_FILE, TrainConfig, train_judge

    args = build_parser().parse_args(argv)
    cli.setup_logging(args.verbose)
    config = TrainConfig(
        data_dir=args.data_dir, output_dir=args.output_dir, name=args.name, model_path=args.model_path,
        family=args.judge_family, objective=args.objective, ce_weight=args.ce_weight,
        lora=args.finetuning_type == "lora", lora_rank=args.lora_rank, lora_alpha=args.lora_alpha,
        steps=args.steps, batch_size=args.batch_size, grad_accum=args.grad_accum, learning_rate=args.learning_rate,
        max_len=args.max_len, max_examples=args.max_examples, eval_examples=args.eval_examples,
        verdict_only=args.verdict_only, bf16=args.bf16, threads=args.threads, seed=args.seed, resume=args.resume,
        save_steps=args.save_steps, padding_side=args.padding_side, evaluate=args.evaluate,
        eval_batch_size=args.eval_batch_size, device=args.device)
    start = time.perf_counter()
    result = train_judge(config)
    print(f"{args.objective}: {len(result.losses)} steps on {result.train_examples} examples "
          f"({result.scored_examples} with a scored verdict), loss {result.losses[0]:.4f} -> {result.losses[-1]:.4f}, "
          f"{time.perf_counter() - start:.0f} s")
    if result.table:
        print(result.table)
        print(f"wrote {args.output_dir}/{EVAL_FILE}")
    print(f"judge saved in {args.output_dir}")
    return 0


def cli_main() -> None:
    raise SystemExit(cli.run(main))


if __name__ == "__main__":
    cli_main()
