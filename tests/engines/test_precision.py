"""--dtype auto: bfloat16 on a GPU or a CPU with native bf16 (AMX / AVX-512 bf16), float32 elsewhere."""
from __future__ import annotations

import pytest

from llm_judge.engines import precision
from llm_judge.engines.precision import BF16_CPU_FLAGS, cpu_has_bf16, cpuinfo_flags, resolve_dtype
from llm_judge.errors import ConfigError

# Flags of two real CPUs: an AVX2-only Skylake client and a Sapphire Rapids server (this project's machine).
AVX2_ONLY = {"sse4_2", "avx", "avx2", "fma", "f16c"}
SAPPHIRE_RAPIDS = AVX2_ONLY | {"avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_bf16",
                               "amx_tile", "amx_int8"}


def test_auto_follows_the_cpu_flags():
    assert resolve_dtype("auto", "cpu", SAPPHIRE_RAPIDS) == "bfloat16"
    assert resolve_dtype("auto", "cpu", AVX2_ONLY) == "float32"
    # AVX-512 without its bf16 extension (Skylake-SP) only emulates bfloat16: float32 is faster there.
    assert resolve_dtype("auto", "cpu", AVX2_ONLY | {"avx512f", "avx512bw"}) == "float32"
    assert resolve_dtype("auto", "cpu", AVX2_ONLY | {"avx512_bf16"}) == "bfloat16"


def test_gpus_and_explicit_names_are_unchanged():
    assert resolve_dtype("auto", "cuda", AVX2_ONLY) == resolve_dtype("auto", "cuda:1") == "bfloat16"
    for name in ("float32", "float16", "bfloat16"):
        assert resolve_dtype(name, "cpu", SAPPHIRE_RAPIDS) == resolve_dtype(name, "cpu", AVX2_ONLY) == name
    with pytest.raises(ConfigError, match="--dtype must be auto, float32, float16 or bfloat16, not 'half'"):
        resolve_dtype("half", "cpu")


def test_torch_probe_agrees_with_proc_cpuinfo():
    flags = cpuinfo_flags()
    if not flags:
        pytest.skip("no /proc/cpuinfo on this system")
    if precision._torch_probe() is None:
        pytest.skip("this torch has no torch.cpu bf16 probes")
    assert cpu_has_bf16() == bool(BF16_CPU_FLAGS & flags)


def test_auto_picks_bfloat16_on_this_cpu_and_float32_without_bf16(monkeypatch):
    if not BF16_CPU_FLAGS & cpuinfo_flags():
        pytest.skip("this CPU has neither avx512_bf16 nor amx_bf16")
    assert resolve_dtype("auto", "cpu") == "bfloat16"
    # A CPU without bf16, simulated at torch's probe, then with no torch probe and /proc/cpuinfo's flags.
    monkeypatch.setattr(precision, "_torch_probe", lambda: False)
    assert resolve_dtype("auto", "cpu") == "float32"
    monkeypatch.setattr(precision, "_torch_probe", lambda: None)
    assert resolve_dtype("auto", "cpu") == "bfloat16"
    monkeypatch.setattr(precision, "cpuinfo_flags", lambda: frozenset(AVX2_ONLY))
    assert resolve_dtype("auto", "cpu") == "float32"


def test_the_engine_loads_and_records_the_resolved_dtype(monkeypatch, default_model_path):
    import torch

    from llm_judge.engines.hf import HFModel, HFOptions

    if not cpu_has_bf16():
        pytest.skip("this CPU has no native bfloat16")
    with HFModel(default_model_path, "smol", HFOptions(device="cpu")) as model:
        assert next(model.model.parameters()).dtype == torch.bfloat16
        assert model.describe()["dtype"] == "bfloat16"
    monkeypatch.setattr(precision, "_torch_probe", lambda: False)
    with HFModel(default_model_path, "smol", HFOptions(device="cpu")) as model:
        assert next(model.model.parameters()).dtype == torch.float32
        assert model.describe()["dtype"] == "float32"
