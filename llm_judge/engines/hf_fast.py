"""CPU fast paths for the transformers engine's decode step, measured in benchmarks/answer_throughput.py.

Profiled on SmolLM2-135M in bfloat16 (docs/answering.md, Throughput), a decode step at 64 rows spent
about a quarter of its time copying key/value heads: transformers' SDPA path repeats each grouped KV
head for every query head it serves (``repeat_kv``) whenever there is a padding mask, and the default
cache concatenates the whole cache onto a new tensor at every step. Two changes remove both copies and
leave the arithmetic as it was:

* ``gqa_sdpa``: the same scaled-dot-product attention, told that heads are grouped (``enable_gqa``), so
  torch's CPU kernel reads each KV head in place. transformers only does this on CPU without a mask.
* ``PreallocatedLayer``: a cache layer that allocates the room for prompt + new tokens once and writes
  each step's keys and values into it, handing attention a view of the filled part.

And one that cuts arithmetic: ``prefill`` runs the prompts through the model in groups of similar length,
each padded only to its own longest prompt, and places their keys and values left-padded in the batch's
one cache, so ``generate`` (or our decode loop, hf_decode.py) starts from the last prompt token. MT-bench's
80 first turns are 7,988 tokens, but 32,160 once padded to the longest (402), which a one-batch prefill
computes in full.
"""
from __future__ import annotations

from typing import Any, Iterator

import torch
import torch.nn.functional as F
from transformers import AttentionInterface
from transformers.cache_utils import Cache, DynamicCache, DynamicLayer
from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

ATTENTION = "llm_judge_gqa_sdpa"


def gqa_sdpa(module: Any, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
             attention_mask: torch.Tensor | None, dropout: float = 0.0, scaling: float | None = None,
             is_causal: bool | None = None, **kwargs: Any) -> tuple[torch.Tensor, None]:
    """transformers' ``sdpa`` attention (same mask, same causal rule) with grouped KV heads read in place."""
    causal = getattr(module, "is_causal", True) if is_causal is None else is_causal
    causal = query.shape[2] > 1 and attention_mask is None and causal
    out = F.scaled_dot_product_attention(query, key, value, attn_mask=attention_mask, dropout_p=dropout,
                                         scale=scaling, is_causal=causal, enable_gqa=key.shape[1] != query.shape[1])
    return out.transpose(1, 2).contiguous(), None


AttentionInterface.register(ATTENTION, gqa_sdpa)
AttentionMaskInterface.register(ATTENTION, sdpa_mask)  # the masks sdpa gets, unchanged


def use_gqa_attention(model: Any) -> bool:
    """Switch a CPU model from transformers' ``sdpa`` to ``gqa_sdpa``; False (model untouched) when the model
    runs another attention or cannot switch. On a GPU, SDPA with a mask and grouped heads falls back to a
    slow kernel, so only CPU models are switched."""
    config = getattr(model, "config", None)
    if getattr(config, "_attn_implementation", None) != "sdpa" or model.device.type != "cpu":
        return False
    try:
        model.set_attn_implementation(ATTENTION)
    except (ValueError, AttributeError, NotImplementedError):
        return False
    return config._attn_implementation == ATTENTION


class PreallocatedLayer(DynamicLayer):
    """A DynamicLayer whose keys and values live in one buffer of ``capacity`` positions, allocated at the
    first update: no per-step concatenation. Attention sees the filled positions, as with DynamicLayer."""

    def __init__(self, capacity: int):
        super().__init__()
        self.capacity, self.length = capacity, 0

    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor, rows: int = 0) -> None:
        self.dtype, self.device = key_states.dtype, key_states.device
        rows, heads = rows or key_states.shape[0], key_states.shape[1]
        # Zeros, not empty: a padding position is masked out, but softmax weight 0 times a NaN is still NaN.
        self.key_buffer = key_states.new_zeros(rows, heads, self.capacity, key_states.shape[-1])
        self.value_buffer = value_states.new_zeros(rows, heads, self.capacity, value_states.shape[-1])
        self.keys, self.values = self.key_buffer[:, :, :0], self.value_buffer[:, :, :0]
        self.is_initialized = True

    def place(self, rows: slice | torch.Tensor, end: int, key_states: torch.Tensor, value_states: torch.Tensor,
              total_rows: int) -> None:
        """Write a group's prefill into ``rows`` (a slice, or row indices), right-aligned to end at position
        ``end`` (left padding)."""
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states, total_rows)
        start = end - key_states.shape[-2]
        self.key_buffer[rows, :, start:end] = key_states
        self.value_buffer[rows, :, start:end] = value_states
        self.length = end
        self.keys, self.values = self.key_buffer[:, :, :end], self.value_buffer[:, :, :end]

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any,
               **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        end = self.length + key_states.shape[-2]
        if end > self.capacity:  # a caller that asked for more tokens than it said: grow once, as DynamicLayer would
            self.capacity = max(end, 2 * self.capacity)
            self.key_buffer = _grown(self.key_buffer, self.length, self.capacity)
            self.value_buffer = _grown(self.value_buffer, self.length, self.capacity)
        self.key_buffer[:, :, self.length:end] = key_states
        self.value_buffer[:, :, self.length:end] = value_states
        self.length = end
        self.keys, self.values = self.key_buffer[:, :, :end], self.value_buffer[:, :, :end]
        return self.keys, self.values

    def advance(self, n: int) -> None:
        """Count ``n`` more positions as filled: a caller wrote them into the buffers itself (cpu_kernels.c)."""
        end = self.length + n
        if end > self.capacity:
            raise ValueError(f"cache of {self.capacity} positions cannot hold {end}")
        self.length = end
        self.keys, self.values = self.key_buffer[:, :, :end], self.value_buffer[:, :, :end]

    def get_seq_length(self) -> int:
        return self.length if self.is_initialized else 0


def _grown(buffer: torch.Tensor, filled: int, capacity: int) -> torch.Tensor:
    out = buffer.new_empty(*buffer.shape[:2], capacity, buffer.shape[-1])
    out[:, :, :filled] = buffer[:, :, :filled]
    return out


def preallocated_cache(model: Any, capacity: int) -> Cache | None:
    """A cache of PreallocatedLayers for ``capacity`` positions, or None (generate's own cache) for a model
    whose layers are not all plain full attention (sliding windows, linear attention, encoder-decoder)."""
    config = getattr(model, "config", None)
    layers = getattr(config, "num_hidden_layers", None)
    if not layers or getattr(config, "is_encoder_decoder", False) or getattr(config, "sliding_window", None):
        return None
    if any(kind != "full_attention" for kind in getattr(config, "layer_types", None) or ()):
        return None
    return Cache(layers=[PreallocatedLayer(capacity) for _ in range(layers)])


def length_groups(lengths: list[int], max_waste: float = 0.2, max_tokens: int = 8192) -> list[list[int]]:
    """Row indices in groups of similar prompt length, longest first: a group grows while its padded size
    stays within ``max_waste`` of its real tokens and under ``max_tokens`` (activation memory)."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    groups: list[list[int]] = []
    real = 0
    for i in order:
        if groups:
            group = groups[-1]
            width = lengths[group[0]]
            padded = width * (len(group) + 1)
            if padded <= (1 + max_waste) * (real + lengths[i]) and padded <= max_tokens:
                group.append(i)
                real += lengths[i]
                continue
        groups.append([i])
        real = lengths[i]
    return groups


def prompt_groups(input_ids: torch.Tensor, attention_mask: torch.Tensor, groups: list[list[int]]
                  ) -> Iterator[tuple[slice | torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Per length group with anything to prefill: its rows (a slice when they are a range, as rows sorted by
    length make them, else their indices), and its ids and mask sliced to its own width without the last
    token. Rows are left-padded, so a group's tokens end the row."""
    lengths = attention_mask.sum(dim=1).tolist()
    width = input_ids.shape[1]
    for group in groups:
        wide = max(lengths[i] for i in group)
        if wide < 2:
            continue
        index = torch.tensor(group, device=input_ids.device)
        where = slice(group[0], group[-1] + 1) if group == list(range(group[0], group[-1] + 1)) else index
        yield (where, input_ids.index_select(0, index)[:, width - wide:-1],
               attention_mask.index_select(0, index)[:, width - wide:-1])


def prefill(model: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor, cache: Cache,
            always: bool = False) -> bool:
    """Fill ``cache`` with every prompt token but the last, in length groups (see ``length_groups``), so
    that ``generate(input_ids, attention_mask, past_key_values=cache)`` goes on from the last token.
    Rows are left-padded to the batch's width; the cache holds zeros where the mask holds 0.
    False (cache untouched) when grouping would not save padding: one row, or prompts of one length; with
    ``always`` (the caller decodes by itself, hf_decode.py) it fills the cache then too."""
    rows, width = input_ids.shape
    groups = length_groups(attention_mask.sum(dim=1).tolist())
    if width < 2 or (len(groups) == 1 and not always):
        return always
    for where, ids, mask in prompt_groups(input_ids, attention_mask, groups):
        positions = (mask.cumsum(dim=1) - 1).clamp_(min=0)  # as generate numbers a left-padded row
        part = DynamicCache()
        model(input_ids=ids, attention_mask=mask, position_ids=positions, past_key_values=part, use_cache=True,
              logits_to_keep=1)
        for layer, source in zip(cache.layers, part.layers):
            layer.place(where, width - 1, source.keys, source.values, rows)
    return True
