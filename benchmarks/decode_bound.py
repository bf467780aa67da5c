"""What bounds a decode step on the default model here: memory, and how close each decode path comes to it.

    python benchmarks/decode_bound.py                 # rows 20 and 80, bfloat16, torch's threads

A decode step reads every weight once and every row's cached keys and values once; on a CPU that reading
is the floor under the step's time. This prints, in one run:

* the memory's read bandwidth (a sum over 1 GiB, torch's threads) and the bytes one step must read
  (bfloat16 weights, and the cache for ``--positions`` positions per row), hence the floor per step;
* one bare decode step of transformers' forward pass (the model's own attention and a dynamic cache, no
  ``generate`` around it), which an earlier version of this file took for the bound;
* one step of our decode loop (llm_judge/engines/hf_decode.py) with its C kernels, as the engine runs it;

each with the tokens/s it allows at that many rows and the ratio to ``--baseline`` (FastChat's
one-at-a-time tokens/s from benchmarks/answer_throughput.py). Prefill, model load and everything else a
run does come on top, so no engine on this model and machine beats the floor's tokens/s.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from llm_judge.engines.hf_decode import Decoder, should_pack  # noqa: E402
from llm_judge.engines.hf_fast import preallocated_cache, use_gqa_attention  # noqa: E402
from llm_judge.engines.weights import resolve_model_path  # noqa: E402


def read_bandwidth() -> float:
    """Bytes per second torch's threads read from memory (1 GiB, far past the caches)."""
    x = torch.ones(256 * 1024 * 1024)
    x.sum()
    start = time.perf_counter()
    for _ in range(5):
        x.sum()
    return 5 * x.numel() * 4 / (time.perf_counter() - start)


def step_bytes(model, rows: int, positions: int) -> int:
    """What one decode step reads: every weight but the embedding table (one row per token), and the cache."""
    config = model.config
    weights = sum(p.numel() * p.element_size() for name, p in model.named_parameters() if "embed_tokens" not in name)
    if config.tie_word_embeddings:  # the output layer is the embedding table, read whole
        weights += model.model.embed_tokens.weight.numel() * model.dtype.itemsize
    dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    cache = rows * positions * config.num_hidden_layers * 2 * config.num_key_value_heads * dim * model.dtype.itemsize
    return weights + cache


def transformers_step(model, ids: torch.Tensor, steps: int) -> float:
    """Seconds per step of the model's own forward pass, dynamic cache, after a prefill of ``ids``."""
    with torch.inference_mode():
        out = model(ids, use_cache=True, logits_to_keep=1)
        cache, token = out.past_key_values, out.logits[:, -1].argmax(-1, keepdim=True)
        for i in range(steps + 3):  # three warm-up steps, untimed
            if i == 3:
                start = time.perf_counter()
            out = model(token, past_key_values=cache, use_cache=True)
            token = out.logits[:, -1].argmax(-1, keepdim=True)
    return (time.perf_counter() - start) / steps


def our_step(model, decoder: Decoder, ids: torch.Tensor, steps: int) -> float:
    """Seconds per step of our decode loop's step (kernels where they build), after a prefill of ``ids``."""
    rows, width = ids.shape
    cache = preallocated_cache(model, width + steps + 4)
    lengths = torch.full((rows,), width)
    with torch.inference_mode():
        model(ids[:, :-1], past_key_values=cache, use_cache=True, logits_to_keep=1)
        ops = decoder.ops_for(lengths, width, steps + 4, model.dtype)
        token, positions = ids[:, -1:], (lengths - 1).unsqueeze(1)
        for i in range(steps + 3):
            if i == 3:
                start = time.perf_counter()
            ops.begin(width + i)
            logits = decoder.step(token, positions, cache, ops)
            token = (ops.argmax(logits) if hasattr(ops, "argmax") else logits.argmax(-1)).unsqueeze(1)
            positions = positions + 1
    return (time.perf_counter() - start) / steps


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, nargs="+", default=[20, 80])
    p.add_argument("--positions", type=int, default=170,
                   help="cached positions per row (MT-bench's mean prompt, 100, plus half of 128 new tokens)")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--baseline", type=float, default=27.9, help="FastChat's one-at-a-time tokens/s to compare with")
    args = p.parse_args()
    path = resolve_model_path(None)
    from transformers import AutoModelForCausalLM

    theirs = AutoModelForCausalLM.from_pretrained(path, dtype=torch.bfloat16).eval()
    ours = AutoModelForCausalLM.from_pretrained(path, dtype=torch.bfloat16).eval()
    use_gqa_attention(ours)
    decoder = Decoder(ours, pack=should_pack(ours))
    bandwidth = read_bandwidth()
    print(f"memory read bandwidth: {bandwidth / 1e9:.1f} GB/s ({torch.get_num_threads()} threads); bfloat16; "
          f"{args.positions} cached positions per row; baseline {args.baseline} tokens/s")
    for rows in args.rows:
        ids = torch.randint(100, 4000, (rows, args.positions), generator=torch.Generator().manual_seed(rows))
        floor = step_bytes(ours, rows, args.positions) / bandwidth
        measured = [("memory floor", floor), ("transformers forward step", transformers_step(theirs, ids, args.steps)),
                    ("our decode step", our_step(ours, decoder, ids, args.steps))]
        for label, seconds in measured:
            rate = rows / seconds
            print(f"rows {rows:3d}  {label:26s} {seconds * 1000:6.1f} ms  at most {rate:5.0f} tokens/s "
                  f"= {rate / args.baseline:4.1f}x  ({floor / seconds:.0%} of the floor's speed)")


if __name__ == "__main__":
    main()
