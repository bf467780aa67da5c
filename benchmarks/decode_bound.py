"""The ceiling on answer throughput for the default model: one bare decode step, nothing else.

    python benchmarks/decode_bound.py                 # rows 20 and 80, bfloat16, torch's threads

Runs the model's forward pass alone (no ``generate``, no sampling, no padding mask, a cache of 100 prompt
positions) one token at a time and prints the time per step and the tokens/s it allows. A real run also
prefills the prompts, loads the model and picks tokens over the whole vocabulary, so no engine on this
model and machine beats these numbers; benchmarks/answer_throughput.py prints what the engines reach.
"""
from __future__ import annotations

import argparse
import time

import torch
from transformers import AutoModelForCausalLM

from llm_judge.engines.weights import resolve_model_path


def step_time(model, rows: int, prompt: int, steps: int) -> float:
    """Seconds per decode step at ``rows`` rows after a prompt of ``prompt`` random tokens."""
    ids = torch.randint(100, 4000, (rows, prompt), generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        out = model(ids, use_cache=True, logits_to_keep=1)
        cache, token = out.past_key_values, out.logits[:, -1].argmax(-1, keepdim=True)
        for i in range(steps + 3):  # three warm-up steps, untimed
            if i == 3:
                start = time.perf_counter()
            out = model(token, past_key_values=cache, use_cache=True)
            token = out.logits[:, -1].argmax(-1, keepdim=True)
    return (time.perf_counter() - start) / steps


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, nargs="+", default=[20, 80])
    p.add_argument("--dtype", choices=["bfloat16", "float32"], default="bfloat16")
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--baseline", type=float, default=27.8, help="FastChat's one-at-a-time tokens/s to compare with")
    args = p.parse_args()
    model = AutoModelForCausalLM.from_pretrained(resolve_model_path(None), dtype=getattr(torch, args.dtype)).eval()
    for rows in args.rows:
        dt = step_time(model, rows, 100, args.steps)
        print(f"rows {rows}: {dt * 1000:.1f} ms per decode step ({args.dtype}, {torch.get_num_threads()} threads) "
              f"= at most {rows / dt:.0f} tokens/s = {rows / dt / args.baseline:.1f}x {args.baseline} tokens/s")


if __name__ == "__main__":
    main()
