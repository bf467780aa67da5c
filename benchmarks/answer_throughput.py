"""Generated tokens per second on the default model: one question at a time vs our engines, in one run.

    python benchmarks/answer_throughput.py                      # 20 demo questions, 64 new tokens each
    python benchmarks/answer_throughput.py --n 40 --max-new-tokens 128 --engines one,hf,vllm

Three ways to answer the same first turns of the demo bench (repeated when ``--n`` is larger than the
bench), greedy, with the same token budget, on the same machine one after the other:

* ``one``: FastChat's method on a CPU: the model in float32, ``model.generate`` called once per question;
* ``hf``: our transformers engine (batches of ``--batch-size`` prompts, sorted by length);
* ``vllm``: our vLLM engine (the CPU build here), every prompt in one ``generate`` call.

Model loading is not timed. Printed per engine: generated tokens (up to EOS), seconds, tokens/s and the
ratio to ``one``; and how many answers agree word for word with ``one``. The load average is printed
too: on a shared machine other processes' CPU use shows up as time here, so compare ratios from one run.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from llm_judge.bench import load_bench  # noqa: E402
from llm_judge.engines.base import GenRequest, GenResult  # noqa: E402


def build_requests(n: int, max_new_tokens: int) -> list[GenRequest]:
    questions = load_bench("demo_bench", str(REPO / "data")).questions
    return [GenRequest([{"role": "user", "content": questions[i % len(questions)].turns[0]}],
                       max_new_tokens=max_new_tokens, temperature=0.0) for i in range(n)]


def one_at_a_time(model, requests: list[GenRequest]) -> list[GenResult]:
    """FastChat's loop: encode one prompt, ``generate`` greedily, decode up to EOS, next question."""
    import torch

    tok, hf = model.tokenizer, model.model
    eos = model._eos_ids()
    out = []
    for req in requests:
        ids = tok(model.render(req), add_special_tokens=False, return_tensors="pt")["input_ids"]
        with torch.inference_mode():
            gen = hf.generate(ids, do_sample=False, max_new_tokens=req.max_new_tokens, temperature=None, top_p=None,
                              top_k=None, pad_token_id=tok.pad_token_id)[0, ids.shape[1]:].tolist()
        n = next((j for j, t in enumerate(gen) if t in eos), len(gen))
        out.append(GenResult(text=tok.decode(gen[:n], skip_special_tokens=True).strip(), completion_tokens=n))
    return out


def measure(label: str, run, requests: list[GenRequest], reference: list[GenResult] | None, rows: list) -> list[GenResult]:
    start = time.perf_counter()
    results = run(requests)
    seconds = time.perf_counter() - start
    errors = [r.error for r in results if r.error]
    if errors:
        sys.exit(f"{label}: {len(errors)} requests failed, e.g. {errors[0]}")
    tokens = sum(r.completion_tokens or 0 for r in results)
    same = sum(a.text == b.text for a, b in zip(results, reference)) if reference else len(results)
    rows.append((label, tokens, seconds, tokens / seconds, same))
    print(f"  {label}: {tokens} tokens in {seconds:.1f} s = {tokens / seconds:.1f} tokens/s "
          f"(load average {os.getloadavg()[0]:.1f})", file=sys.stderr, flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=20, help="questions (default: the demo bench's 20)")
    p.add_argument("--max-new-tokens", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=64, help="prompts per batch for the transformers engine")
    p.add_argument("--engines", default="one,hf,vllm", help="which to run, comma-separated (one is the baseline)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = p.parse_args(argv)
    engines = args.engines.split(",")
    requests = build_requests(args.n, args.max_new_tokens)
    rows: list[tuple[str, int, float, float, int]] = []
    reference = None

    from llm_judge.engines.hf import HFModel, HFOptions

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"{args.n} questions x {args.max_new_tokens} new tokens, greedy; torch threads {torch.get_num_threads()}, "
          f"{os.cpu_count()} CPUs", file=sys.stderr)
    if "one" in engines or "hf" in engines:
        model = HFModel(None, "default", HFOptions(dtype="float32", batch_size=args.batch_size))
        if "one" in engines:
            reference = measure("one at a time, float32", lambda r: one_at_a_time(model, r), requests, None, rows)
        if "hf" in engines:
            measure(f"transformers engine, batch {args.batch_size}", model.generate, requests, reference, rows)
        model.close()
        del model
    if "vllm" in engines:
        from llm_judge.engines.vllm import VLLMModel, VLLMOptions

        with VLLMModel(None, "default", VLLMOptions(), HFOptions(dtype="float32")) as model:
            model.generate(requests[:2])  # the first call sets up vLLM's sampler and caches: not timed
            measure("vLLM engine", model.generate, requests, reference, rows)

    base = rows[0][3] if reference is not None else None
    print(f"\n{'engine':<36} {'tokens':>7} {'seconds':>8} {'tokens/s':>9} {'x one':>7} {'same text':>10}")
    for label, tokens, seconds, rate, same in rows:
        ratio = f"{rate / base:.1f}x" if base else "-"
        print(f"{label:<36} {tokens:>7} {seconds:>8.1f} {rate:>9.1f} {ratio:>7} {same:>7}/{len(requests)}")
    if base:
        best = max(rows[1:], key=lambda r: r[3], default=None)
        if best:
            print(f"\nbest: {best[0]} at {best[3] / base:.1f}x the one-at-a-time rate (target: 15x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
