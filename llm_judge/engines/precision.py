"""Which float type a local model runs in: ``--dtype auto`` resolved by what the device supports.

On a GPU ``auto`` is bfloat16 (as it always was). On a CPU it is bfloat16 only where the CPU computes in
it natively, with AVX-512 bf16 or AMX tiles: oneDNN then runs bfloat16 matmuls 2-3x faster than float32
(see benchmarks/answer_throughput.py). Elsewhere bfloat16 is emulated and slower than float32, so ``auto``
stays float32. One rule for the transformers engine (answers, generated judging, distribution scoring)
and vLLM's CPU build.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from ..errors import ConfigError

DTYPES = ("float32", "float16", "bfloat16")
# /proc/cpuinfo flags of a CPU with native bfloat16 arithmetic (Cooper Lake and later, Zen 4 and later).
BF16_CPU_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


def cpuinfo_flags(path: str = "/proc/cpuinfo") -> frozenset[str]:
    """The first CPU's feature flags as Linux lists them; empty where the file does not exist."""
    try:
        with Path(path).open() as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def _torch_probe() -> bool | None:
    """torch's own answer (the cpuinfo library, which also checks that the OS enabled AMX's tile state,
    something /proc/cpuinfo flags do not show), or None on a torch without these probes."""
    try:
        import torch.cpu as cpu
    except ImportError:
        return None
    probes = [getattr(cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    if not any(probes):
        return None
    return any(bool(probe()) for probe in probes if probe is not None)


def cpu_has_bf16(flags: Iterable[str] | None = None) -> bool:
    """Whether this CPU does bfloat16 arithmetic natively: from ``flags`` when given (tests simulate a CPU
    with them), else torch's probe, else /proc/cpuinfo."""
    if flags is not None:
        return bool(BF16_CPU_FLAGS & set(flags))
    probed = _torch_probe()
    return probed if probed is not None else bool(BF16_CPU_FLAGS & cpuinfo_flags())


def resolve_dtype(name: str, device: str, flags: Iterable[str] | None = None) -> str:
    """The dtype name a model on ``device`` ("cpu", "cuda", "cuda:1", ...) loads in for ``--dtype name``."""
    if name in DTYPES:
        return name
    if name != "auto":
        raise ConfigError(f"--dtype must be auto, {', '.join(DTYPES[:-1])} or {DTYPES[-1]}, not {name!r}")
    if device.split(":")[0] != "cpu":
        return "bfloat16"
    return "bfloat16" if cpu_has_bf16(flags) else "float32"


def torch_dtype(torch: Any, name: str) -> Any:
    """The torch dtype for a resolved name."""
    return {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[name]
