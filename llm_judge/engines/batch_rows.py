"""How many prompts the transformers engine generates at once when ``--batch-size auto`` (the answers' default).

A decode step's cost grows far slower than its rows on this kind of model (each step reads all the weights,
however many rows share them; benchmarks/answer_throughput.py measures it), so the most rows that fit
give the most tokens per second. What grows with the rows is memory: each row's KV cache for its prompt
and new tokens, plus the logits of its last position. ``auto_rows`` takes as many rows as fit in a quarter
of the memory free now (the GPU's on CUDA, else the machine's), between 1 and ``MAX_ROWS``.
"""
from __future__ import annotations

from typing import Any

MAX_ROWS = 128  # past this a step is compute-bound: rows cost time in proportion, and a failure loses more
SHARE = 0.25  # of the free memory, leaving room for activations, the sampler and other processes


def row_bytes(config: Any, element_bytes: int, tokens: int) -> int:
    """One row's KV cache for ``tokens`` positions and its float32 logits, from a transformers model config."""
    text = getattr(config, "text_config", None) or config
    layers = getattr(text, "num_hidden_layers", None) or 32
    heads = getattr(text, "num_attention_heads", None) or 32
    kv_heads = getattr(text, "num_key_value_heads", None) or heads
    head_dim = getattr(text, "head_dim", None) or (getattr(text, "hidden_size", 4096) // heads)
    vocab = getattr(text, "vocab_size", None) or 32000
    return 2 * layers * kv_heads * head_dim * tokens * element_bytes + 4 * vocab


def free_memory(device: str) -> int | None:
    """Bytes free now on ``device`` (CUDA: the current GPU; else the machine's MemAvailable); None if unknown."""
    if device.startswith("cuda"):
        import torch

        return int(torch.cuda.mem_get_info()[0])
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def auto_rows(config: Any, element_bytes: int, tokens: int, device: str, free: int | None = None) -> int:
    """The rows to generate at once for prompts of at most ``tokens`` positions with their new tokens."""
    free = free_memory(device) if free is None else free
    if free is None:
        return 16  # the fixed default before --batch-size auto
    return max(1, min(MAX_ROWS, int(free * SHARE) // max(1, row_bytes(config, element_bytes, tokens))))
