"""The operations of one decode step (hf_decode.py) that run either through torch or through our C kernels.

``TorchOps`` runs torch's operations in the model's order (float32, or anywhere the kernels do not build);
``KernelOps`` runs cpu_kernels.c (kernels.py) for bfloat16. Both take the same calls: ``begin(end)`` once
per step, then per layer ``norm``, ``attend`` (which also writes the step's keys and values to the cache)
and ``act``.
"""
from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn.functional as F

from .hf_fast import PreallocatedLayer

# The cost of one attention call, in row-positions of cache read (about 30 us of call overhead against
# 35 ns per position and row at this machine's 22 GB/s): chunks are merged while that is cheaper.
CALL_COST = 800


def attention_chunks(lengths: Sequence[int], extra: int, call_cost: int = CALL_COST) -> list[tuple[int, int]]:
    """Contiguous row ranges ``[(start, end), ...]`` that cost least to attend over, chunk by chunk.

    A chunk reads ``rows x (its longest prompt + extra)`` positions (``extra``: the new tokens on average)
    plus ``call_cost`` for the call itself. Exact over contiguous splits (dynamic programming, n^2 for
    n rows); rows sorted by length give the useful splits.
    """
    n = len(lengths)
    best = [0.0] + [float("inf")] * n
    cut = [0] * (n + 1)
    for end in range(1, n + 1):
        longest = 0
        for start in range(end - 1, -1, -1):
            longest = max(longest, lengths[start])
            cost = best[start] + call_cost + (end - start) * (longest + extra)
            if cost < best[end]:
                best[end], cut[end] = cost, start
    out, end = [], n
    while end:
        out.append((cut[end], end))
        end = cut[end]
    return out[::-1]


def torch_norm(norm: Any, x: torch.Tensor) -> torch.Tensor:
    """The model's RMSNorm module (float32 inside, back to x's dtype, times the weight) in three kernels
    instead of eight; bit for bit the same in float32 and bfloat16 (tests/engines/test_hf_decode.py)."""
    return F.rms_norm(x.float(), (x.shape[-1],), None, norm.variance_epsilon).to(x.dtype) * norm.weight


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class TorchOps:
    """A step's attention, RMSNorm and activation through torch. Attention runs per chunk of rows of
    similar length (``attention_chunks``), each chunk over the positions its longest row uses, with a mask
    for the shorter rows' padding. In float32 this is the model's own arithmetic."""

    norm = staticmethod(torch_norm)

    @staticmethod
    def act(gate_up: torch.Tensor, width: int) -> torch.Tensor:
        gate, up = gate_up.split(width, dim=-1)
        return F.silu(gate) * up

    def __init__(self, lengths: torch.Tensor, width: int, extra: int, dtype: torch.dtype, total: int):
        self.plan = attention_chunks(lengths.tolist(), extra)
        self.firsts = [width - int(lengths[start:stop].max()) for start, stop in self.plan]
        self.valid = torch.arange(total)[None, :] >= (width - lengths)[:, None]  # (rows, positions)
        self.dtype = dtype

    def begin(self, end: int) -> None:
        """Masks for a step whose cache ends at ``end``: 0 where a row attends, -inf on its padding, built
        once per step and chunk (a boolean mask is converted again in every layer)."""
        self.chunks = []
        for (start, stop), first in zip(self.plan, self.firsts):
            part = self.valid[start:stop, first:end]
            mask = None
            if not bool(part.all()):
                mask = torch.zeros(part.shape, dtype=self.dtype).masked_fill_(~part, float("-inf"))[:, None, None]
            self.chunks.append((start, stop, first, mask))

    def attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, layer: PreallocatedLayer,
               scaling: float) -> torch.Tensor:
        keys, values = layer.update(k.unsqueeze(2), v.unsqueeze(2))
        q = q.unsqueeze(2)  # (rows, heads, 1, head_dim), as the model's attention has it
        parts = [F.scaled_dot_product_attention(q[start:stop], keys[start:stop, :, first:],
                                                values[start:stop, :, first:], attn_mask=mask, scale=scaling,
                                                enable_gqa=True)
                 for start, stop, first, mask in self.chunks]
        out = parts[0] if len(parts) == 1 else torch.cat(parts)
        return out.transpose(1, 2).reshape(q.shape[0], 1, -1)


class KernelOps:
    """A step's attention, RMSNorm and activation through cpu_kernels.c (kernels.py), for bfloat16: each
    row's attention reads exactly its own positions."""

    def __init__(self, lib: Any, lengths: torch.Tensor, width: int):
        self.lib = lib
        self.starts = (width - lengths).to(torch.int32).contiguous()

    def begin(self, end: int) -> None:
        self.end = end

    def norm(self, module: Any, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous()
        out = torch.empty_like(x)
        self.lib.rms_norm_bf16(x.data_ptr(), module.weight.data_ptr(), x.numel() // x.shape[-1], x.shape[-1],
                               module.variance_epsilon, out.data_ptr())
        return out

    def act(self, gate_up: torch.Tensor, width: int) -> torch.Tensor:
        out = gate_up.new_empty(*gate_up.shape[:-1], width)
        self.lib.silu_mul_bf16(gate_up.data_ptr(), gate_up.numel() // (2 * width), width, out.data_ptr())
        return out

    def attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, layer: PreallocatedLayer,
               scaling: float) -> torch.Tensor:
        rows, heads, dim = q.shape
        keys, values = layer.key_buffer, layer.value_buffer
        if (q.stride(2) != 1 or k.stride(2) != 1 or v.stride(2) != 1 or k.stride(1) != v.stride(1)
                or keys.stride(2) != dim or keys.stride(3) != 1 or values.stride() != keys.stride()):
            raise ValueError("decode attention needs rows of contiguous head vectors")
        out = torch.empty(rows, 1, heads * dim, dtype=q.dtype)
        failed = self.lib.attend_bf16(q.data_ptr(), q.stride(0), q.stride(1), k.data_ptr(), k.stride(0), v.data_ptr(),
                                      v.stride(0), k.stride(1), keys.data_ptr(), values.data_ptr(), keys.stride(0),
                                      keys.stride(1), self.starts.data_ptr(), self.end, rows, heads, keys.shape[1],
                                      dim, scaling, out.data_ptr())
        if failed:
            raise ValueError(f"decode attention cannot run {heads} heads over {keys.shape[1]} of size {dim}")
        layer.advance(1)
        return out

    def argmax(self, logits: torch.Tensor) -> torch.Tensor:
        logits = logits.contiguous()
        out = torch.empty(logits.shape[0], dtype=torch.int64)
        self.lib.argmax_bf16(logits.data_ptr(), logits.shape[0], logits.shape[1], out.data_ptr())
        return out
