"""Judgments per second of a local judge on the default model: batched vs one at a time, in one run.

    python benchmarks/local_judge_throughput.py                       # ours, single, distribution, 24 judgments
    python benchmarks/local_judge_throughput.py --family prometheus --mode pairwise-all --n 12
    python benchmarks/local_judge_throughput.py --method generate --max-new-tokens 32 --n 8

The judge is the bundled default model (SmolLM2-135M-Instruct) through the transformers engine; the
judgments are the first ``--n`` matches of the demo bench (the bench's prompts or the family's). The
answers they judge are written first, untimed, into a copy of the bench in a temporary folder: the
default model answers as many questions as ``--n`` matches need, twice (as it is, and told to be
brief), greedily, in at most ``--answer-tokens`` tokens a turn, so a fresh clone needs nothing else and
every run judges the same answers. "batched" hands every request to the engine at once (``--batch-size`` per forward pass,
and for score distributions one shared KV prefix per prompt group); "one at a time" calls the engine
once per request, as a loop over judgments would. Both runs use the same loaded model, one after the
other, and the verdicts are compared. Both are run with the weights in float32 and in bfloat16
(``--dtypes``), one model loaded at a time, and the bfloat16 verdicts are compared with the float32 ones
(bfloat16 runs on AMX / AVX-512 bf16 where the CPU has them). A pairwise judgment is two judge calls (both orders).

Also printed: prompt tokens per judgment and tokens/s, torch threads and the load average, since on a
shared machine other processes' CPU use shows up as time here.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from llm_judge.bench import Bench, load_bench  # noqa: E402
from llm_judge.judging.families import load_family  # noqa: E402
from llm_judge.judging.matches import plan_matches  # noqa: E402
from llm_judge.judging.run import distribution_request  # noqa: E402
from llm_judge.engines.base import GenRequest, GenResult  # noqa: E402


TERSE = "Answer in one or two short sentences."


def answer_demo_bench(root: Path, n: int, answer_tokens: int) -> Bench:
    """A copy of the demo bench under ``root`` with two answer files for its first ``n`` questions."""
    from llm_judge.answering.run import AnswerSettings, answer_questions, answer_store
    from llm_judge.engines.hf import HFModel, HFOptions

    folder = root / "demo_bench"
    folder.mkdir(parents=True)
    for name in ("question.jsonl", "bench.json"):
        shutil.copy(REPO / "data" / "demo_bench" / name, folder / name)
    bench = load_bench(str(folder))
    model = HFModel(None, "default", HFOptions(batch_size=16))
    start = time.perf_counter()
    for model_id, system in (("smollm2-135m-instruct", None), ("smollm2-135m-instruct-terse", TERSE)):
        settings = AnswerSettings(max_new_tokens=answer_tokens, temperature=0.0, system_prompt=system)
        with answer_store(bench.answer_dir / f"{model_id}.jsonl") as store:
            summary = answer_questions(model, bench, bench.questions[:n], model_id, store, settings)
        if summary.failed:
            raise SystemExit(f"{model_id}: {summary.failed} answers failed; nothing to judge")
    model.close()
    print(f"answered the first {len(bench.questions[:n])} demo questions twice (<= {answer_tokens} tokens a "
          f"turn) in {time.perf_counter() - start:.0f} s (not timed below)", flush=True)
    return bench


def build_requests(args: argparse.Namespace, bench: Bench) -> tuple[list[GenRequest], int]:
    family = load_family(args.family)
    family.check_mode(args.mode)
    models = sorted(bench.answer_files())
    answers = bench.load_answers(models)
    prompts = family.prompt_set(None, bench.config.judge_prompts, bench.language, bench.path,
                                bench.config.prompt_names)
    matches = plan_matches(bench, args.mode, models, answers, prompts, baseline=models[0]).matches[:args.n]
    requests = []
    for m in matches:
        for messages in m.games():
            if args.method == "distribution":
                requests.append(distribution_request(m, messages, bench.language, family))
            else:
                requests.append(family.request(messages, args.max_new_tokens))
    return requests, len(matches)


def timed(judge, batches: list[list[GenRequest]]) -> tuple[float, list[GenResult]]:
    start = time.perf_counter()
    results: list[GenResult] = []
    for batch in batches:
        results += judge.generate(batch)
    return time.perf_counter() - start, results


def verdict_agreement(a: list[GenResult], b: list[GenResult], distribution: bool) -> str:
    """How often two runs give the same verdict text, and (score distributions) their largest probability gap."""
    same = sum(x.text == y.text for x, y in zip(a, b))
    line = f"{same}/{len(a)} same verdicts"
    if distribution:
        diffs = [abs(x.distribution[k] - y.distribution[k]) for x, y in zip(a, b)
                 if x.distribution and y.distribution for k in x.distribution]
        line += f", largest probability difference {max(diffs, default=0.0):.1e}"
    return line


def run_dtype(dtype: str, args: argparse.Namespace, requests: list[GenRequest], n: int, tokens_of) -> dict:
    """Batched, then one at a time, on one model loaded in ``dtype``; prints a line for each."""
    from llm_judge.engines.hf import HFModel, HFOptions

    family = load_family(args.family)
    judge = HFModel(None, "default", HFOptions(batch_size=args.batch_size, dtype=dtype,
                                               chat_template=family.chat_template()))
    judge.generate(requests[:1])  # warm-up: first-call allocations are not throughput
    tokens = tokens_of(judge)
    out = {}
    for label, batches in (("batched", [requests]), ("one at a time", [[r] for r in requests])):
        seconds, results = timed(judge, batches)
        out[label] = (seconds, results)
        print(f"{dtype:8s}  {label:13s}: {seconds:7.1f} s  {n / seconds:6.2f} judgments/s  "
              f"{tokens / seconds:7.0f} prompt tokens/s  ({sum(1 for r in results if r.error)} errors)", flush=True)
    judge.close()
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--family", default="fastchat")
    p.add_argument("--mode", default="single", choices=["single", "pairwise-baseline", "pairwise-all"])
    p.add_argument("--method", default="distribution", choices=["distribution", "generate"])
    p.add_argument("--n", type=int, default=24, help="judgments (matches) to time")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--max-new-tokens", type=int, default=32, help="generate only")
    p.add_argument("--answer-tokens", type=int, default=32, help="most tokens a turn of the judged answers")
    p.add_argument("--dtypes", nargs="+", default=["float32", "bfloat16"], choices=["float32", "bfloat16"],
                   help="weights' dtypes to time, each batched and one at a time (default: both)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = p.parse_args(argv)

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    # Each question gives a single match per model and turn, a pairwise match per turn: enough for --n.
    questions = args.n if args.mode != "single" else (args.n + 1) // 2
    with tempfile.TemporaryDirectory(prefix="judge-throughput-") as tmp:
        requests, n = build_requests(args, answer_demo_bench(Path(tmp), questions, args.answer_tokens))
    counted: list[int] = []

    def tokens_of(judge) -> int:
        if not counted:
            counted.append(sum(len(judge.tokenizer(judge.render(r), add_special_tokens=False)["input_ids"])
                               for r in requests))
            print(f"{n} judgments ({len(requests)} judge calls): family {args.family}, {args.mode}, {args.method}; "
                  f"{counted[0] / n:.0f} prompt tokens per judgment; torch threads {torch.get_num_threads()}, "
                  f"load average {os.getloadavg()[0]:.2f}", flush=True)
        return counted[0]

    runs = {dtype: run_dtype(dtype, args, requests, n, tokens_of) for dtype in args.dtypes}
    distribution = args.method == "distribution"
    for dtype, out in runs.items():
        (batched_s, batched), (single_s, single) = out["batched"], out["one at a time"]
        print(f"{dtype}: batched / one at a time {single_s / batched_s:.2f}x; "
              f"batched vs one at a time: {verdict_agreement(batched, single, distribution)}")
    if len(runs) == 2:
        (f32_s, f32), (bf16_s, bf16) = runs["float32"]["batched"], runs["bfloat16"]["batched"]
        print(f"bfloat16 / float32 (batched): {f32_s / bf16_s:.2f}x; bfloat16 vs float32: "
              f"{verdict_agreement(f32, bf16, distribution)}")
    print(f"load average now {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
