"""The transformers engine's own decode loop for Llama-style models on a CPU.

After ``hf_fast.prefill`` has put every prompt token but the last into the batch's preallocated cache,
``generate`` spends most of a decode step on work a batch of answers does not need (docs/answering.md,
Throughput). Profiled on SmolLM2-135M in bfloat16 at MT-bench's 80 first turns, a step took 142 ms inside
``generate``, against a memory floor of about 25 ms (benchmarks/decode_bound.py): attention over every
row padded to the batch's longest prompt (402 tokens, the mean being 100), weights reordered by oneDNN at
each call, and some 40 small operations per layer. The loop here:

* takes rows sorted by prompt tokens, and multiplies by one fused query/key/value matrix and one fused
  gate/up matrix per layer (the model's own projection weights become views into them), prepacked for
  oneDNN in bfloat16 when memory allows (``should_pack``);
* in bfloat16, runs attention, RMSNorm, the MLP activation and the greedy pick through cpu_kernels.c
  (``_KernelOps``; kernels.py builds it): each row's attention reads exactly its own cached positions;
* otherwise (float32, or no C compiler) runs torch's operations in the model's order (``_TorchOps``),
  attention in chunks of rows of similar length (``attention_chunks``), each over the positions its longest
  row uses;
* picks tokens as ``generate`` does (processors, then the first maximum), with the same per-row seeded
  sampler (sampling.py), stopping criteria and padding after a row's end.

In float32 the answers are ``generate``'s token for token (tests/engines/test_hf_decode.py). Models with
anything else in their layers (sliding windows, other activations or norms, MLP biases) keep ``generate``.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import torch
import torch.nn.functional as F

from .hf_fast import PreallocatedLayer

MODEL_TYPES = {"llama", "mistral", "qwen2"}
# generation_config fields that would add logits processors ``generate`` applies and this loop does not
_PROCESSOR_FIELDS = ("no_repeat_ngram_size", "bad_words_ids", "suppress_tokens", "begin_suppress_tokens",
                     "forced_bos_token_id", "forced_eos_token_id", "sequence_bias", "min_new_tokens",
                     "exponential_decay_length_penalty", "encoder_no_repeat_ngram_size")
# The cost of one attention call, in row-positions of cache read (about 30 us of call overhead against
# 35 ns per position and row at this machine's 22 GB/s): chunks are merged while that is cheaper.
CALL_COST = 800


def supported(model: Any) -> bool:
    """True for a CPU Llama-style model this loop reproduces layer for layer."""
    config = getattr(model, "config", None)
    if config is None or getattr(config, "model_type", None) not in MODEL_TYPES or model.device.type != "cpu":
        return False
    if getattr(config, "sliding_window", None) and getattr(config, "use_sliding_window", True):
        return False
    if getattr(config, "hidden_act", None) != "silu" or getattr(config, "pretraining_tp", 1) != 1:
        return False
    if getattr(config, "mlp_bias", False):
        return False
    generation = getattr(model, "generation_config", None)
    if any(getattr(generation, f, None) not in (None, 0, [], {}) for f in _PROCESSOR_FIELDS):
        return False
    if (getattr(generation, "min_length", 0) or 0) > 0:
        return False
    inner = getattr(model, "model", None)
    if not all(hasattr(inner, name) for name in ("layers", "embed_tokens", "norm", "rotary_emb")):
        return False
    if getattr(model, "hf_quantizer", None) is not None or not hasattr(inner.norm, "variance_epsilon"):
        return False  # quantized weights; a norm other than transformers' Llama RMSNorm
    projections = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
    for layer in inner.layers:  # plain Linear layers only: not LoRA-wrapped, not quantized
        modules = [getattr(layer.self_attn, n, None) for n in projections[:4]]
        modules += [getattr(layer.mlp, n, None) for n in projections[4:]]
        if any(type(m) is not torch.nn.Linear for m in modules):
            return False
    return True


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


class _Linear:
    """``F.linear`` with one weight, optionally prepacked for oneDNN (``pack``): a bfloat16 weight in
    oneDNN's blocked layout skips the reorder oneDNN otherwise does at every call."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None, pack: bool):
        self.weight, self.bias, self.packed = weight, bias, None
        if pack:
            self.packed = torch.ops.mkldnn._reorder_linear_weight(weight, 64)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.packed is None:
            return F.linear(x, self.weight, self.bias)
        return torch.ops.mkldnn._linear_pointwise(x, self.packed, self.bias, "none", [], "")


class _Layer:
    """One decoder layer's weights, with query/key/value and gate/up fused."""

    def __init__(self, layer: Any, config: Any, pack: bool):
        attn, mlp = layer.self_attn, layer.mlp
        self.input_norm, self.post_norm = layer.input_layernorm, layer.post_attention_layernorm
        self.head_dim = attn.head_dim
        self.scaling = attn.scaling
        self.q_size = config.num_attention_heads * self.head_dim
        self.kv_size = config.num_key_value_heads * self.head_dim
        self.qkv = _Linear(*_fuse([attn.q_proj, attn.k_proj, attn.v_proj]), pack)
        self.gate_up = _Linear(*_fuse([mlp.gate_proj, mlp.up_proj]), pack)
        self.o_proj = _Linear(attn.o_proj.weight.detach(), _detached(attn.o_proj.bias), pack)
        self.down_proj = _Linear(mlp.down_proj.weight.detach(), None, pack)
        self.intermediate = mlp.gate_proj.out_features


def _detached(t: torch.Tensor | None) -> torch.Tensor | None:
    return None if t is None else t.detach()


def _fuse(linears: list[Any]) -> tuple[torch.Tensor, torch.Tensor | None]:
    """One weight for several Linear layers of one input; each layer's weight becomes a view into it."""
    weight = torch.cat([lin.weight.detach() for lin in linears])
    bias = None
    if linears[0].bias is not None:
        bias = torch.cat([lin.bias.detach() for lin in linears])
    start = 0
    for lin in linears:
        rows = lin.weight.shape[0]
        lin.weight = torch.nn.Parameter(weight[start:start + rows], requires_grad=False)
        if bias is not None:
            lin.bias = torch.nn.Parameter(bias[start:start + rows], requires_grad=False)
        start += rows
    return weight, bias


def _norm(norm: Any, x: torch.Tensor) -> torch.Tensor:
    """The model's RMSNorm module (float32 inside, back to x's dtype, times the weight) in three kernels
    instead of eight; bit for bit the same in float32 and bfloat16 (tests/engines/test_hf_decode.py)."""
    return F.rms_norm(x.float(), (x.shape[-1],), None, norm.variance_epsilon).to(x.dtype) * norm.weight


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class _TorchOps:
    """A step's attention, RMSNorm and activation through torch. Attention runs per chunk of rows of
    similar length (``attention_chunks``), each chunk over the positions its longest row uses, with a mask
    for the shorter rows' padding. In float32 this is the model's own arithmetic."""

    norm = staticmethod(_norm)

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


class _KernelOps:
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


class Decoder:
    """Decodes a prefilled batch on a Llama-style model; built once per model (``decoder_for``)."""

    def __init__(self, model: Any, pack: bool = False):
        self.model = model
        inner = model.model
        self.embed, self.norm, self.rotary = inner.embed_tokens, inner.norm, inner.rotary_emb
        self.lm_head = _Linear(model.lm_head.weight.detach(), _detached(model.lm_head.bias), pack)
        self.layers = [_Layer(layer, model.config, pack) for layer in inner.layers]
        self.q_heads, self.kv_heads = model.config.num_attention_heads, model.config.num_key_value_heads
        self.head_dim = self.layers[0].head_dim

    def step(self, tokens: torch.Tensor, positions: torch.Tensor, cache: Any, ops: Any) -> torch.Tensor:
        """Logits of the next token for each row (the model's dtype), after its keys and values go to ``cache``.

        ``tokens`` and ``positions`` are ``(rows, 1)``; ``ops`` is a _TorchOps or a _KernelOps, begun for
        this step.
        """
        rows, dim, heads = tokens.shape[0], self.head_dim, self.q_heads + self.kv_heads
        hidden = self.embed(tokens)
        cos, sin = self.rotary(hidden, positions)  # (rows, 1, head_dim): one position per row
        for index, layer in enumerate(self.layers):
            residual = hidden
            qkv = layer.qkv(ops.norm(layer.input_norm, hidden)).view(rows, -1, dim)
            qk = qkv[:, :heads]  # queries and keys rotated together: the same elementwise arithmetic
            qk = (qk * cos) + (_rotate_half(qk) * sin)
            out = ops.attend(qk[:, :self.q_heads], qk[:, self.q_heads:], qkv[:, heads:], cache.layers[index],
                             layer.scaling)
            hidden = residual + layer.o_proj(out)
            residual = hidden
            act = ops.act(layer.gate_up(ops.norm(layer.post_norm, hidden)), layer.intermediate)
            hidden = residual + layer.down_proj(act)
        return self.lm_head(ops.norm(self.norm, hidden[:, -1]))

    def ops_for(self, lengths: torch.Tensor, width: int, max_new_tokens: int, dtype: torch.dtype) -> Any:
        """The C kernels for a bfloat16 model where they build here; torch otherwise (float32 included: its
        answers are then generate's, token for token)."""
        if dtype == torch.bfloat16:
            from .kernels import cpu_kernels

            lib = cpu_kernels()
            if lib is not None and width > 1:  # width 1: nothing prefilled, the cache is not allocated yet
                return _KernelOps(lib, lengths, width)
        return _TorchOps(lengths, width, max_new_tokens // 2, dtype, width + max_new_tokens)

    def generate(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, cache: Any, max_new_tokens: int,
                 pad_token_id: int, eos_ids: set[int], processors: Sequence[Callable] = (),
                 stopping: Sequence[Callable] = ()) -> torch.Tensor:
        """``generate``'s output for a greedy (or row-sampled) batch whose cache ``hf_fast.prefill`` filled:
        prompt ids, then new tokens, ``pad_token_id`` after a row's end, as long as the longest answer."""
        rows, width = input_ids.shape
        layer = cache.layers[0]
        if not isinstance(layer, PreallocatedLayer) or layer.get_seq_length() != width - 1:
            raise ValueError("the cache must hold every prompt token but the last (hf_fast.prefill)")
        lengths = attention_mask.sum(dim=1)
        positions = (lengths - 1).unsqueeze(1)
        ids = torch.full((rows, width + max_new_tokens), pad_token_id, dtype=input_ids.dtype)
        ids[:, :width] = input_ids
        ops = self.ops_for(lengths, width, max_new_tokens, layer.key_buffer.dtype)
        eos = torch.tensor(sorted(eos_ids), dtype=input_ids.dtype)
        done = torch.zeros(rows, dtype=torch.bool)
        tokens = input_ids[:, -1:]
        steps = 0
        for t in range(max_new_tokens):
            end = width + t  # positions in the cache after this step
            ops.begin(end)
            scores = self.step(tokens, positions, cache, ops)
            if processors or not hasattr(ops, "argmax"):
                scores = scores.float()  # as generate: processors and the pick on float32 logits
                for processor in processors:
                    scores = processor(ids[:, :end], scores)
                nxt = scores.max(dim=-1).indices  # argmax's first maximum, about 2.5x faster here
            else:  # greedy on the bfloat16 logits themselves: the same pick, without the float32 copy
                nxt = ops.argmax(scores)
            nxt = torch.where(done, torch.full_like(nxt, pad_token_id), nxt)
            ids[:, end] = nxt
            steps = t + 1
            finished = torch.isin(nxt, eos)
            for criterion in stopping:
                finished |= criterion(ids[:, :end + 1], scores)
            done |= finished
            if bool(done.all()):
                break
            tokens, positions = nxt.unsqueeze(1), positions + 1
        return ids[:, :width + steps]


def should_pack(model: Any) -> bool:
    """Prepack a bfloat16 model's weights for oneDNN when they take under a quarter of the free memory: the
    packed copy sits beside the model's own (prefill still uses those). About 10% off a decode step here."""
    if model.dtype != torch.bfloat16 or not torch.backends.mkldnn.is_available():
        return False
    if not hasattr(torch.ops.mkldnn, "_reorder_linear_weight"):
        return False
    from .batch_rows import free_memory

    free = free_memory("cpu")
    size = sum(p.numel() * p.element_size() for p in model.parameters())
    return free is not None and size <= free // 4


def decoder_for(model: Any) -> Decoder | None:
    """The model's Decoder, built at the first call (it fuses the weights in place); None if unsupported."""
    decoder = getattr(model, "_llm_judge_decoder", None)
    if decoder is None and supported(model):
        with torch.no_grad():
            decoder = Decoder(model, pack=should_pack(model))
        model._llm_judge_decoder = decoder
    return decoder
