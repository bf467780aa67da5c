"""What ``gen_judgment --stop-at-verdict`` saves: generated tokens on a real judge's outputs, and wall time here.

    python benchmarks/stop_at_verdict.py              # both parts (the second runs the default model)
    python benchmarks/stop_at_verdict.py --no-run     # the first part only

1. **A real judge's judgments** (no model run): PandaLM-7B's 999 released judgments of PandaLM's test set
   (``pandalm/pandalm-7b-testset-v1.json`` in the download cache), written out as PandaLM writes them (the verdict
   line, then ``### Reason:`` and ``### Reference:``), cut where the ``pandalm`` family's stop string
   ends the verdict. Printed: generated tokens per judgment in full and cut (the default model's
   tokenizer), the share saved, and how many cut judgments still parse to the full one's verdict. Decoding
   time grows with generated tokens, so the share is what a decode-bound run saves.
2. **Wall time here** (``--run``): ``gen_judgment`` on the demo bench's answers from the default model, with
   the default model as a ``judgelm``-family judge (verdict on the first line), once without and once with
   ``--stop-at-verdict``: seconds, tokens out, and judged / failed counts. The 135M model does not write
   JudgeLM's score line, so its judgments fail with or without the flag: this part shows the stop acting
   on wall time, part 1 what it saves on a judge that writes verdicts.
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
PANDALM = ("pandalm", "pandalm-7b-testset-v1.json")  # in the download cache, filled on first use


def cut(text: str, stops: list[str]) -> str:
    """The text as an engine stopping at the first completed stop string leaves it (the stop kept)."""
    ends = [text.find(s) + len(s) for s in stops if s in text]
    return text[:min(ends)] if ends else text


def real_judge() -> None:
    from llm_judge.engines.hf import HFOptions, load_tokenizer
    from llm_judge.engines.weights import resolve_model_path
    from llm_judge.judging.families import load_family
    from llm_judge.judging.verdicts import pair_parser

    family = load_family("pandalm")
    stops = family.stop_strings(pairwise=True)
    formats = {p.output_format for p in family.prompts.values() if p.type == "pairwise"}
    parse = pair_parser(formats.pop())
    tokenizer = load_tokenizer(resolve_model_path(None), HFOptions())
    full_tokens, cut_tokens, same = [], [], 0
    from llm_judge.benches.cache import cached_path

    rows = json.loads(cached_path(*PANDALM).read_text(encoding="utf-8"))
    for row in rows:
        verdict = {0: "Tie"}.get(row["pandalm_result"], row["pandalm_result"])  # the release writes a tie as 0
        text = (f"{verdict}\n\n### Reason: {row['pandalm_reason']}\n\n"
                f"### Reference: {row['pandalm_reference']}")
        short = cut(text, stops)
        full_tokens.append(len(tokenizer(text, add_special_tokens=False)["input_ids"]))
        cut_tokens.append(len(tokenizer(short, add_special_tokens=False)["input_ids"]))
        same += parse(short) == parse(text)
    total, kept = sum(full_tokens), sum(cut_tokens)
    print(f"PandaLM-7B, {len(rows)} released judgments, cut at the pandalm family's stop {stops!r}:")
    print(f"  tokens per judgment: {statistics.mean(full_tokens):.1f} in full, {statistics.mean(cut_tokens):.1f} cut "
          f"-> {1 - kept / total:.1%} of generated tokens saved ({total / kept:.1f}x fewer)")
    print(f"  cut judgments that parse to the full judgment's verdict: {same}/{len(rows)}")


def timed_run(first_n: int, budget: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        bench = data / "demo_bench"
        bench.mkdir()
        for name in ("question.jsonl", "bench.json"):
            source = REPO / "data" / "demo_bench" / name
            if source.exists():
                (bench / name).write_bytes(source.read_bytes())
        base = [sys.executable, "-m", "llm_judge"]
        subprocess.run(base + ["gen_model_answer", "--data-dir", tmp, "--bench-name", "demo_bench", "--model-path",
                               "default", "--model-id", "smol", "--max-new-token", "128", "--question-end", str(first_n)],
                       check=True, capture_output=True, cwd=REPO)
        times: dict[bool, float] = {}
        for flag in ([], ["--stop-at-verdict"]):
            out = data / f"judgelm{'-stop' if flag else ''}.jsonl"
            start = time.perf_counter()
            done = subprocess.run(base + ["gen_judgment", "--data-dir", tmp, "--bench-name", "demo_bench",
                                          "--judge-model", "default", "--judge-family", "judgelm", "--mode", "single",
                                          "--model-list", "smol", "--judge-max-new-token", str(budget),
                                          "--output-file", str(out), *flag],
                                  capture_output=True, text=True, cwd=REPO)  # exit 1: judgments failed
            times[bool(flag)] = time.perf_counter() - start
            summary = [line for line in done.stdout.splitlines() + done.stderr.splitlines() if " judged, " in line]
            counts = re.sub(r" -> .*", "", summary[-1]) if summary else "(no summary line)"
            print(f"  judgelm family, default model, {'with' if flag else 'without'} --stop-at-verdict: "
                  f"{times[bool(flag)]:.1f} s; {counts} (exit {done.returncode})")
        print(f"  wall time with the flag: {times[True] / times[False]:.2f}x the time without")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--no-run", action="store_true", help="skip part 2 (the default model's timed runs)")
    p.add_argument("--first-n", type=int, default=10, help="part 2: demo questions judged")
    p.add_argument("--budget", type=int, default=256, help="part 2: --judge-max-new-token")
    args = p.parse_args()
    from llm_judge.benches.cache import cached_path
    from llm_judge.errors import LlmJudgeError

    try:
        cached_path(*PANDALM)
    except LlmJudgeError as exc:
        print(f"error: part 1 needs PandaLM's published judgments: {exc}", file=sys.stderr)
        return 2
    real_judge()
    if not args.no_run:
        print(f"default model on the demo bench ({args.first_n} questions, budget {args.budget} tokens):")
        timed_run(args.first_n, args.budget)
    return 0


if __name__ == "__main__":
    sys.exit(main())
