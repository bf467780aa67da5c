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
  (``KernelOps``; kernels.py builds it): each row's attention reads exactly its own cached positions;
* otherwise (float32, or no C compiler) runs torch's operations in the model's order (``TorchOps``),
  attention in chunks of rows of similar length (``decode_ops.attention_chunks``), each over the positions its longest
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

from .decode_ops import KernelOps, TorchOps, rotate_half
from .hf_fast import PreallocatedLayer, length_groups, prefill, prompt_groups
from . import kernels

MODEL_TYPES = {"llama", "mistral", "qwen2"}
# generation_config fields that would add logits processors ``generate`` applies and this loop does not
_PROCESSOR_FIELDS = ("no_repeat_ngram_size", "bad_words_ids", "suppress_tokens", "begin_suppress_tokens",
                     "forced_bos_token_id", "forced_eos_token_id", "sequence_bias", "min_new_tokens",
                     "exponential_decay_length_penalty", "encoder_no_repeat_ngram_size")


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

        ``tokens`` and ``positions`` are ``(rows, 1)``; ``ops`` is a TorchOps or a KernelOps, begun for
        this step.
        """
        rows, dim, heads = tokens.shape[0], self.head_dim, self.q_heads + self.kv_heads
        hidden = self.embed(tokens)
        cos, sin = self.rotary(hidden, positions)  # (rows, 1, head_dim): one position per row
        for index, layer in enumerate(self.layers):
            residual = hidden
            qkv = layer.qkv(ops.norm(layer.input_norm, hidden)).view(rows, -1, dim)
            qk = qkv[:, :heads]  # queries and keys rotated together: the same elementwise arithmetic
            qk = (qk * cos) + (rotate_half(qk) * sin)
            out = ops.attend(qk[:, :self.q_heads], qk[:, self.q_heads:], qkv[:, heads:], cache.layers[index],
                             layer.scaling)
            hidden = residual + layer.o_proj(out)
            residual = hidden
            act = ops.act(layer.gate_up(ops.norm(layer.post_norm, hidden)), layer.intermediate)
            hidden = residual + layer.down_proj(act)
        return self.lm_head(ops.norm(self.norm, hidden[:, -1]))

    def prefill(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, cache: Any) -> None:
        """Every prompt token but the last into ``cache``, in groups of similar length (hf_fast.length_groups).

        bfloat16 with the kernels: through this decoder's fused, prepacked layers and kernel norms, each
        group's keys and values written straight into the cache; the model's own forward pass otherwise
        (hf_fast.prefill), which keeps float32 answers generate's."""
        rows, width = input_ids.shape
        lib = kernels.cpu_kernels() if self.model.dtype == torch.bfloat16 and width > 1 else None
        if lib is None:
            prefill(self.model, input_ids, attention_mask, cache, always=True)
            return
        lengths = attention_mask.sum(dim=1)
        ops = KernelOps(lib, lengths, width)
        for where, ids, mask in prompt_groups(input_ids, attention_mask, length_groups(lengths.tolist())):
            keys, values = self._prefill_group(ids, mask.bool(), ops)
            for layer, k, v in zip(cache.layers, keys, values):
                layer.place(where, width - 1, k, v, rows)

    def _prefill_group(self, ids: torch.Tensor, mask: torch.Tensor, ops: Any) -> tuple[list, list]:
        """Keys and values of every layer for one left-padded group of prompts."""
        rows, length, dim, heads = ids.shape[0], ids.shape[1], self.head_dim, self.q_heads + self.kv_heads
        positions = (mask.long().cumsum(dim=1) - 1).clamp_(min=0)  # as generate numbers a left-padded row
        # causal, over the row's own tokens; a padding position sees itself, so no row of weights is empty
        allowed = torch.ones(length, length, dtype=torch.bool).tril_()[None] & mask[:, None, :]
        allowed |= torch.eye(length, dtype=torch.bool)[None]
        allowed = allowed[:, None]
        hidden = self.embed(ids)
        cos, sin = self.rotary(hidden, positions)
        cos, sin = cos[:, :, None], sin[:, :, None]  # (rows, length, 1, head_dim)
        keys, values = [], []
        for layer in self.layers:
            residual = hidden
            qkv = layer.qkv(ops.norm(layer.input_norm, hidden)).view(rows, length, -1, dim)
            qk = qkv[:, :, :heads]
            qk = (qk * cos) + (rotate_half(qk) * sin)
            q = qk[:, :, :self.q_heads].transpose(1, 2)
            k = qk[:, :, self.q_heads:].transpose(1, 2)
            v = qkv[:, :, heads:].transpose(1, 2)
            keys.append(k)
            values.append(v)
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed, scale=layer.scaling, enable_gqa=True)
            hidden = residual + layer.o_proj(out.transpose(1, 2).reshape(rows, length, -1))
            residual = hidden
            hidden = residual + layer.down_proj(ops.act(layer.gate_up(ops.norm(layer.post_norm, hidden)),
                                                        layer.intermediate))
        return keys, values

    def ops_for(self, lengths: torch.Tensor, width: int, max_new_tokens: int, dtype: torch.dtype) -> Any:
        """The C kernels for a bfloat16 model where they build here; torch otherwise (float32 included: its
        answers are then generate's, token for token)."""
        if dtype == torch.bfloat16:
            lib = kernels.cpu_kernels()
            if lib is not None and width > 1:  # width 1: nothing prefilled, the cache is not allocated yet
                return KernelOps(lib, lengths, width)
        return TorchOps(lengths, width, max_new_tokens // 2, dtype, width + max_new_tokens)

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
