"""Our decode loop (hf_decode.py) and its C kernels (cpu_kernels.c) against transformers' and torch's own.

float32: the loop's answers are generate's, token for token, greedy, sampled, with a repetition penalty and
with stop strings. bfloat16: each kernel against the torch operations it replaces, and one whole decode
step against the torch path of the same loop.
"""
from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

from llm_judge.engines import decode_ops, hf_decode, kernels
from llm_judge.engines.decode_ops import attention_chunks

needs_kernels = pytest.mark.skipif(kernels.cpu_kernels() is None, reason="no C compiler here to build cpu_kernels.c")


def test_attention_chunks_are_the_cheapest_contiguous_split():
    lengths = [402, 380, 373, 286, 245, 120, 106, 101, 92, 60, 52, 44]

    def cost(split):
        return sum(200 + (end - start) * (max(lengths[start:end]) + 30) for start, end in split)

    best = None
    for cuts in itertools.product([False, True], repeat=len(lengths) - 1):
        bounds = [0] + [i + 1 for i, cut in enumerate(cuts) if cut] + [len(lengths)]
        split = list(zip(bounds, bounds[1:]))
        best = split if best is None or cost(split) < cost(best) else best
    ours = attention_chunks(lengths, 30, call_cost=200)
    assert [r for start, end in ours for r in range(start, end)] == list(range(len(lengths)))
    assert cost(ours) == cost(best)
    assert attention_chunks([50] * 6, 30) == [(0, 6)]  # one length: one call
    assert len(attention_chunks([400, 20], 0, call_cost=0)) == 2


# -- the C kernels against torch ---------------------------------------------------------------------------


def _attend(lib, q, k_new, v_new, keys, values, starts, end, scale):
    out = torch.empty(q.shape[0], q.shape[1] * q.shape[2], dtype=torch.bfloat16)
    failed = lib.attend_bf16(q.data_ptr(), q.stride(0), q.stride(1), k_new.data_ptr(), k_new.stride(0),
                             v_new.data_ptr(), v_new.stride(0), k_new.stride(1), keys.data_ptr(), values.data_ptr(),
                             keys.stride(0), keys.stride(1), starts.data_ptr(), end, q.shape[0], q.shape[1],
                             keys.shape[1], q.shape[2], scale, out.data_ptr())
    assert failed == 0
    return out


@needs_kernels
@pytest.mark.parametrize("heads,kv_heads,dim", [(9, 3, 64), (8, 8, 128), (32, 2, 64), (6, 3, 32)])
def test_attention_kernel_matches_torch_over_each_rows_positions(heads, kv_heads, dim):
    # (9, 3, 64) is SmolLM2's; (32, 2, 64) has 16 heads per group and (6, 3, 32) an odd size: the generic path
    lib = kernels.cpu_kernels()
    g = torch.Generator().manual_seed(heads * dim)
    rows, capacity, end = 5, 300, 260
    keys = torch.randn(rows, kv_heads, capacity, dim, generator=g).bfloat16()
    values = torch.randn(rows, kv_heads, capacity, dim, generator=g).bfloat16()
    qkv = torch.randn(rows, heads + 2 * kv_heads, dim, generator=g).bfloat16() * 2
    q, k_new, v_new = qkv[:, :heads], qkv[:, heads:heads + kv_heads], qkv[:, heads + kv_heads:]
    starts = torch.tensor([0, 10, 130, 200, 259], dtype=torch.int32)  # the last row: its new token alone
    out = _attend(lib, q, k_new, v_new, keys, values, starts, end, dim ** -0.5).view(rows, heads, dim)
    assert torch.equal(keys[:, :, end - 1], k_new) and torch.equal(values[:, :, end - 1], v_new)
    for r in range(rows):
        first = int(starts[r])
        ref = F.scaled_dot_product_attention(q[r:r + 1, :, None].float(), keys[r:r + 1, :, first:end].float(),
                                             values[r:r + 1, :, first:end].float(), enable_gqa=True)[0, :, 0]
        torch.testing.assert_close(out[r].float(), ref, rtol=0, atol=2e-2)  # bfloat16 output: 8 bits
    torch.testing.assert_close(out[-1].float(), v_new[-1].repeat_interleave(heads // kv_heads, 0).float())


@needs_kernels
def test_norm_activation_and_pick_kernels_round_where_transformers_rounds():
    from transformers.models.llama.modeling_llama import LlamaRMSNorm

    lib = kernels.cpu_kernels()
    g = torch.Generator().manual_seed(7)
    norm = LlamaRMSNorm(576, eps=1e-5).to(torch.bfloat16)
    norm.weight.data = torch.randn(576, generator=g).bfloat16()
    x = (torch.randn(80, 1, 576, generator=g) * 3).bfloat16()
    ours = torch.empty_like(x)
    lib.rms_norm_bf16(x.data_ptr(), norm.weight.data_ptr(), 80, 576, 1e-5, ours.data_ptr())
    theirs = norm(x)
    # the sum of squares is added in another order: at most one bfloat16 step apart, and rarely
    assert (ours.float() - theirs.float()).abs().max() <= theirs.float().abs().max() * 2 ** -7
    assert (ours != theirs).float().mean() < 0.01

    gate_up = (torch.randn(80, 1, 2 * 1536, generator=g) * 4).bfloat16()
    act = torch.empty(80, 1, 1536, dtype=torch.bfloat16)
    lib.silu_mul_bf16(gate_up.data_ptr(), 80, 1536, act.data_ptr())
    gate, up = gate_up.split(1536, dim=-1)
    expected = F.silu(gate) * up
    assert (act != expected).float().mean() < 0.01
    torch.testing.assert_close(act.float(), expected.float(), rtol=2 ** -7, atol=1e-3)

    logits = torch.randn(6, 49152, generator=g).bfloat16()
    logits[2, 100] = logits[2, 4000] = 50.0  # a tie: the first index, as torch.argmax
    picks = torch.empty(6, dtype=torch.int64)
    lib.argmax_bf16(logits.data_ptr(), 6, 49152, picks.data_ptr())
    assert picks.tolist() == logits.float().argmax(dim=-1).tolist() and picks[2] == 100


def test_a_failed_build_is_one_error_and_the_loop_keeps_torchs_operations(tmp_path, monkeypatch):
    monkeypatch.setenv("LLM_JUDGE_KERNEL_DIR", str(tmp_path / "kernels"))
    with pytest.raises(RuntimeError, match="cannot run the C compiler"):
        kernels.build(compiler=str(tmp_path / "no-such-cc"))
    bad = tmp_path / "broken.c"
    bad.write_text("this is not C\n")
    with pytest.raises(RuntimeError, match="failed on broken.c"):
        kernels.build(bad)
    assert not list((tmp_path / "kernels").iterdir())  # nothing half-written
    monkeypatch.setattr(kernels, "cpu_kernels", lambda: None)
    decoder = object.__new__(hf_decode.Decoder)  # ops_for reads nothing of the model
    ops = decoder.ops_for(torch.tensor([5, 3]), 5, 4, torch.bfloat16)
    assert isinstance(ops, decode_ops.TorchOps)


# -- the loop against generate, on the default model -------------------------------------------------------

PROMPTS = ["What is 17 times 6?", "Name three rivers in Europe and say which is longest.", "日本の首都はどこですか？",
           "Write a haiku about autumn rain, please, in English.", "Explain recursion to a child in two sentences."]


def _answers(model, monkeypatch, use_loop: bool, **request):
    from llm_judge.engines.base import GenRequest

    if not use_loop:
        monkeypatch.setattr(hf_decode, "decoder_for", lambda m: None)
    requests = [GenRequest([{"role": "user", "content": p}], seed=i, **request) for i, p in enumerate(PROMPTS)]
    results = model.generate(requests)
    monkeypatch.undo()
    return [(r.text, r.completion_tokens, r.finish_reason) for r in results]


@pytest.mark.parametrize("request_kwargs", [
    {"max_new_tokens": 40, "temperature": 0.0},
    {"max_new_tokens": 40, "temperature": 0.8, "top_p": 0.9},
    {"max_new_tokens": 40, "temperature": 0.0, "repetition_penalty": 1.3},
    {"max_new_tokens": 40, "temperature": 0.0, "stop": [".", "\n"]},
], ids=["greedy", "sampled", "repetition-penalty", "stop-strings"])
def test_float32_answers_are_generates_token_for_token(default_model_path, monkeypatch, request_kwargs):
    from llm_judge.engines.hf import HFModel, HFOptions

    model = HFModel(default_model_path, "default", HFOptions(batch_size=8, dtype="float32"))
    theirs = _answers(model, monkeypatch, False, **request_kwargs)
    ours = _answers(model, monkeypatch, True, **request_kwargs)
    assert model.model._llm_judge_decoder is not None  # the loop ran
    assert ours == theirs
    assert sum(tokens for _, tokens, _ in ours) > 20
    model.close()


@needs_kernels
def test_bfloat16_prefill_and_step_with_kernels_match_the_torch_path(default_model_path):
    # the reference: transformers' own forward pass fills the cache, the loop's torch operations decode
    from llm_judge.engines.base import GenRequest
    from llm_judge.engines.hf import HFModel, HFOptions
    from llm_judge.engines.hf_fast import preallocated_cache, prefill

    model = HFModel(default_model_path, "default", HFOptions(dtype="bfloat16"))
    decoder = hf_decode.decoder_for(model.model)
    enc = model._encode([model.render(GenRequest([{"role": "user", "content": p}])) for p in PROMPTS])
    ids, mask = enc["input_ids"], enc["attention_mask"]
    lengths, width = mask.sum(dim=1), ids.shape[1]
    kernel_ops = decode_ops.KernelOps(kernels.cpu_kernels(), lengths, width)
    runs = {"reference": (lambda c: prefill(model.model, ids, mask, c, always=True),
                          decode_ops.TorchOps(lengths, width, 8, torch.bfloat16, width + 8)),
            "kernel step": (lambda c: prefill(model.model, ids, mask, c, always=True), kernel_ops),
            "kernel prefill and step": (lambda c: decoder.prefill(ids, mask, c), kernel_ops)}
    logits, caches = {}, {}
    for name, (fill, ops) in runs.items():
        cache = preallocated_cache(model.model, width + 8)
        with torch.inference_mode():
            fill(cache)
            assert cache.layers[0].get_seq_length() == width - 1
            caches[name] = [(layer.keys.clone(), layer.values.clone()) for layer in cache.layers]
            ops.begin(width)
            logits[name] = decoder.step(ids[:, -1:], (lengths - 1).unsqueeze(1), cache, ops).float()
        assert cache.layers[0].get_seq_length() == width
    reference = logits["reference"]
    top = reference.max(dim=-1).values
    ulp = torch.exp2(torch.floor(torch.log2(top.abs())) - 7)  # one bfloat16 step at the top logit
    for name in ("kernel step", "kernel prefill and step"):
        picks = logits[name].argmax(dim=-1)
        same = picks == reference.argmax(dim=-1)
        assert int(same.sum()) >= len(PROMPTS) - 1, name
        # where the pick differs it was a near-tie: the reference holds our pick within two steps of its top
        assert bool((reference.gather(1, picks[:, None])[:, 0] >= top - 2 * ulp).all()), name
        assert (logits[name] - reference).abs().max() < 0.05 * reference.abs().max(), name
    # the prefilled keys and values, at each row's own positions, in every layer
    for (ours_k, ours_v), (ref_k, ref_v) in zip(caches["kernel prefill and step"], caches["reference"]):
        for row, n in enumerate(lengths.tolist()):
            span = slice(width - n, width - 1)
            for ours, ref in ((ours_k, ref_k), (ours_v, ref_v)):
                error = (ours[row, :, span].float() - ref[row, :, span].float()).abs().max()
                assert error <= 0.05 * ref[row, :, span].float().abs().max() + 0.05
    model.close()


# -- other Llama-style architectures, on tiny random models ----------------------------------------------------


def _tiny(model_type: str):
    import transformers

    kinds = {"llama": ("LlamaConfig", "LlamaForCausalLM"), "qwen2": ("Qwen2Config", "Qwen2ForCausalLM"),
             "mistral": ("MistralConfig", "MistralForCausalLM")}
    config_name, model_name = kinds[model_type]
    config = getattr(transformers, config_name)(vocab_size=300, hidden_size=64, intermediate_size=128,
                                                num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                                                max_position_embeddings=256, sliding_window=None)
    torch.manual_seed(0)
    model = getattr(transformers, model_name)(config).eval()
    with torch.no_grad():
        for module in model.modules():  # initialised to zero: random, so that a dropped bias shows
            if isinstance(module, torch.nn.Linear) and module.bias is not None:
                module.bias.normal_(0, 0.5)
    return model


@pytest.mark.parametrize("model_type", ["llama", "qwen2", "mistral"])  # qwen2: biases on q, k and v
def test_float32_loop_equals_generate_on_other_llama_style_models(model_type):
    from llm_judge.engines.hf_fast import preallocated_cache, prefill

    model = _tiny(model_type)
    assert hf_decode.supported(model)
    g = torch.Generator().manual_seed(1)
    lengths = [12, 9, 9, 4]
    ids = torch.zeros(4, 12, dtype=torch.long)
    mask = torch.zeros(4, 12, dtype=torch.long)
    for row, n in enumerate(lengths):  # left-padded, as the engine encodes
        ids[row, 12 - n:] = torch.randint(3, 300, (n,), generator=g)
        mask[row, 12 - n:] = 1
    with torch.inference_mode():
        theirs = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=10, do_sample=False,
                                pad_token_id=0, eos_token_id=None)
    decoder = hf_decode.decoder_for(model)
    cache = preallocated_cache(model, 12 + 10)
    with torch.inference_mode():
        prefill(model, ids, mask, cache, always=True)
        ours = decoder.generate(ids, mask, cache, 10, pad_token_id=0, eos_ids=set())
    assert torch.equal(ours, theirs)


def test_models_the_loop_cannot_reproduce_keep_generate():
    model = _tiny("llama")

    class Wrapped(torch.nn.Linear):  # what an adapter library puts in a projection's place
        pass

    layer = model.model.layers[1].self_attn
    layer.q_proj = Wrapped(64, 64, bias=False)
    assert not hf_decode.supported(model)
    model = _tiny("llama")
    model.config.hidden_act = "gelu"
    assert not hf_decode.supported(model)
    model = _tiny("mistral")
    model.config.sliding_window = 8
    assert not hf_decode.supported(model)
