"""SFT against RAFT on the default model, the same data and the same number of steps, measured before and after.

    python benchmarks/train_judge.py                          # Auto-J single scores, 40 steps of 4, bf16
    python benchmarks/train_judge.py --steps 20 --train-examples 80 --learning-rate 1e-3 --no-bf16

The data is Auto-J's single-score training set from the download cache (``--per-source`` records, split by
question, ``--test-ratio`` held out), made by make_traindata for our judge family. Both objectives train
a LoRA adapter on the same ``--train-examples`` (the answer cut to its verdict, ``Rating: [[N]]``, as
distribution judging reads it) for ``--steps`` steps; the base model is measured once on the test split,
then each trained judge: Pearson, Spearman, Kendall and MSE of the expected and the greedy score against
the label. Printed: the before/after table of each, the loss at the first and last step, and the wall
time of each part with the load average, since on a shared machine other processes' CPU time shows here.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from llm_judge.benches.cache import cached_path  # noqa: E402
from llm_judge.cli import make_traindata  # noqa: E402
from llm_judge.errors import LlmJudgeError  # noqa: E402
from llm_judge.training import evaluate, examples, run  # noqa: E402
from llm_judge.training.report import table  # noqa: E402

AUTOJ = ("autoj", "training", "single_traindata.jsonl")  # in the download cache, filled on first use


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--per-source", type=int, default=400, help="Auto-J records read (default 400)")
    p.add_argument("--test-ratio", type=float, default=0.15)
    p.add_argument("--train-examples", type=int, default=160)
    p.add_argument("--test-questions", type=int, default=40)
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--max-len", type=int, default=384)
    p.add_argument("--learning-rate", type=float, default=5e-4)
    p.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=True)
    # one thread: on a shared machine two OpenMP threads spin-wait for each other (67 s a step against 14 s)
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    return p.parse_args()


def measure_base(config: run.TrainConfig) -> tuple[dict, int]:
    """The base model on the test split, once for both objectives."""
    import torch
    from transformers import AutoTokenizer

    from llm_judge.engines.weights import resolve_model_path
    from llm_judge.judging.families import load_family

    if config.threads:
        torch.set_num_threads(config.threads)
    data = examples.load(config.data_dir)
    family = load_family(data.family)
    scales = {p: run._scales(family, p) for p in (False, True)}
    cases = evaluate.cases(data.test, scales, config.eval_examples)
    path = resolve_model_path(None)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = run.load_model(run.TrainConfig(data_dir="", output_dir="", lora=False), path, torch)
    probs = evaluate.label_probabilities(model, tokenizer, cases, family.chat_template(), config.eval_batch_size,
                                         config.bf16)
    return evaluate.measure(cases, probs), len(cases)


def main() -> int:
    args = parse_args()
    try:
        autoj = cached_path(*AUTOJ)
    except LlmJudgeError as exc:
        print(f"error: needs Auto-J's training data: {exc}", file=sys.stderr)
        return 2
    root = Path(tempfile.mkdtemp(prefix="train_judge_bench_"))
    data = root / "data"
    make_traindata.main(["--out-dir", str(data), "--source", f"autoj={autoj}", "--max-per-source",
                         str(args.per_source), "--test-ratio", str(args.test_ratio)])
    base = dict(data_dir=str(data), steps=args.steps, batch_size=args.batch_size, grad_accum=1,
                learning_rate=args.learning_rate, max_len=args.max_len, max_examples=args.train_examples,
                eval_examples=args.test_questions, verdict_only=True, bf16=args.bf16, threads=args.threads,
                eval_batch_size=4, save_steps=10_000)
    start = time.perf_counter()
    before, n = measure_base(run.TrainConfig(output_dir="", **base))
    print(f"\nbase model measured on {n} test examples in {time.perf_counter() - start:.0f} s")
    results = {}
    for objective in ("sft", "raft"):
        start = time.perf_counter()
        config = run.TrainConfig(output_dir=str(root / objective), objective=objective, **base)
        results[objective] = run.train_judge(config, before=before)
        r = results[objective]
        print(f"\n{objective}: {len(r.losses)} steps x {args.batch_size} examples (of {r.train_examples}), loss "
              f"{r.losses[0]:.3f} -> {r.losses[-1]:.3f}, {time.perf_counter() - start:.0f} s with its measurement, "
              f"load average {os.getloadavg()[0]:.1f}")
    for objective, r in results.items():
        print(f"\n{objective} ({args.steps} steps, LoRA, lr {args.learning_rate:g}, bf16 {args.bf16})")
        print(r.table)
    print("\n" + table(results["sft"].after, results["raft"].after, columns=("sft", "raft")).replace(
        "change", "raft-sft"))
    print(f"\nthreads {__import__('torch').get_num_threads()}, outputs in {root}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
