"""--dtype auto: bfloat16 on a GPU or a CPU with native bf16 (AMX / AVX-512 bf16), float32 elsewhere; and
every dtype either computes on this CPU or is refused in one line before a model loads."""
from __future__ import annotations

import pytest

from llm_judge.engines import precision
from llm_judge.engines.precision import DTYPES, check_dtype_runs, cpu_has_bf16, cpuinfo_flags, resolve_dtype
from llm_judge.errors import ConfigError

# The flags line of two real CPUs, as /proc/cpuinfo prints it: an AVX2-only AMD EPYC (Zen 2) and an Intel
# Sapphire Rapids server (AVX-512 bf16 and AMX).
EPYC_ZEN2 = ("fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ht "
             "syscall nx mmxext fxsr_opt pdpe1gb rdtscp lm constant_tsc rep_good nopl pni pclmulqdq ssse3 fma cx16 "
             "sse4_1 sse4_2 x2apic movbe popcnt aes xsave avx f16c rdrand hypervisor lahf_lm abm sse4a bmi1 avx2 "
             "smep bmi2 rdseed adx smap clflushopt clwb sha_ni xsaveopt xsavec xgetbv1 clzero arat umip rdpid")
SAPPHIRE_RAPIDS = ("fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse "
                   "sse2 ss ht syscall nx pdpe1gb rdtscp lm constant_tsc pni pclmulqdq ssse3 fma cx16 pcid sse4_1 "
                   "sse4_2 x2apic movbe popcnt aes xsave avx f16c rdrand hypervisor lahf_lm abm avx2 bmi1 bmi2 "
                   "avx512f avx512dq avx512cd avx512bw avx512vl avx512_bf16 avx512_fp16 avx512_vnni avx_vnni "
                   "amx_bf16 amx_tile amx_int8 arch_capabilities")


def simulated_cpu(tmp_path, monkeypatch, flags: str) -> None:
    """Point the precision rule at a /proc/cpuinfo of another CPU (two processors, as Linux lists them)."""
    info = tmp_path / "cpuinfo"
    block = "processor\t: {n}\nvendor_id\t: X\nmodel name\t: X\nflags\t\t: " + flags + "\n\n"
    info.write_text(block.format(n=0) + block.format(n=1))
    monkeypatch.setattr(precision, "CPUINFO", str(info))


def test_auto_follows_the_cpu_flags():
    assert resolve_dtype("auto", "cpu", SAPPHIRE_RAPIDS.split()) == "bfloat16"
    assert resolve_dtype("auto", "cpu", EPYC_ZEN2.split()) == "float32"
    # AVX-512 without its bf16 extension (Skylake-SP) only emulates bfloat16: float32 is faster there.
    assert resolve_dtype("auto", "cpu", EPYC_ZEN2.split() + ["avx512f", "avx512bw"]) == "float32"
    assert resolve_dtype("auto", "cpu", EPYC_ZEN2.split() + ["avx512_bf16"]) == "bfloat16"


@pytest.mark.parametrize("flags, want", [(EPYC_ZEN2, "float32"), (SAPPHIRE_RAPIDS, "bfloat16")])
def test_auto_on_a_simulated_cpu_reads_its_cpuinfo(tmp_path, monkeypatch, flags, want):
    simulated_cpu(tmp_path, monkeypatch, flags)
    assert cpuinfo_flags() == frozenset(flags.split())
    assert cpu_has_bf16() is (want == "bfloat16")
    assert resolve_dtype("auto", "cpu") == want
    assert resolve_dtype("auto", "cuda") == "bfloat16"


def test_no_cpuinfo_counts_as_no_native_bf16(tmp_path, monkeypatch):
    monkeypatch.setattr(precision, "CPUINFO", str(tmp_path / "missing"))
    assert cpuinfo_flags() == frozenset()
    assert resolve_dtype("auto", "cpu") == "float32"


def test_gpus_and_explicit_names_are_unchanged():
    assert resolve_dtype("auto", "cuda", EPYC_ZEN2.split()) == resolve_dtype("auto", "cuda:1") == "bfloat16"
    for name in DTYPES:
        assert resolve_dtype(name, "cpu", SAPPHIRE_RAPIDS.split()) == resolve_dtype(name, "cpu", []) == name
    with pytest.raises(ConfigError, match="--dtype must be auto, float32, float16 or bfloat16, not 'half'"):
        resolve_dtype("half", "cpu")


@pytest.mark.parametrize("name", DTYPES)
def test_every_dtype_computes_on_this_cpu(name):
    import torch

    check_dtype_runs(torch, name, "cpu")  # raises ConfigError where it cannot


def test_a_dtype_the_device_cannot_run_is_refused_in_one_line():
    import torch

    # The meta device holds shapes, not numbers: reading a result back fails as an unsupported device would.
    with pytest.raises(ConfigError) as err:
        check_dtype_runs(torch, "float16", "meta")
    message = str(err.value)
    assert message.startswith("--dtype float16: torch cannot compute in float16 on meta here (")
    assert message.endswith("); use --dtype float32") and "\n" not in message


@pytest.mark.model
def test_the_engine_loads_and_records_the_resolved_dtype(tmp_path, monkeypatch, default_model_path):
    import torch

    from llm_judge.engines.hf import HFModel, HFOptions

    for flags, dtype in ((SAPPHIRE_RAPIDS, torch.bfloat16), (EPYC_ZEN2, torch.float32)):
        simulated_cpu(tmp_path, monkeypatch, flags)
        with HFModel(default_model_path, "smol", HFOptions(device="cpu")) as model:
            assert next(model.model.parameters()).dtype == dtype
            assert model.describe()["dtype"] == str(dtype).removeprefix("torch.")
