"""Which float type a local model runs in: ``--dtype auto`` resolved by what the device supports, and a
check, before any weights load, that the chosen type computes on this device.

On a GPU ``auto`` is bfloat16 (as it always was). On a CPU it is bfloat16 only where the CPU computes in
it natively, with AVX-512 bf16 or AMX tiles (their flags in /proc/cpuinfo): there bfloat16 matmuls run
faster than float32. Elsewhere (an AVX2-only CPU, say) bfloat16 is emulated and slower than float32, so
``auto`` stays float32; an explicit ``--dtype bfloat16`` still runs there, slowly. One rule for the
transformers engine (answers, generated judging, distribution scoring) and vLLM's CPU build.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from ..errors import ConfigError

DTYPES = ("float32", "float16", "bfloat16")
DTYPE_CHOICES = ("auto", *DTYPES)  # what --dtype offers
# /proc/cpuinfo flags of a CPU with native bfloat16 arithmetic (Cooper Lake and later, Zen 4 and later).
BF16_CPU_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})
CPUINFO = "/proc/cpuinfo"


def cpuinfo_flags(path: str | None = None) -> frozenset[str]:
    """The first CPU's feature flags as Linux lists them (``CPUINFO``); empty where the file does not exist
    (macOS, Windows): such a CPU counts as one without native bfloat16."""
    try:
        with Path(path or CPUINFO).open() as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def cpu_has_bf16(flags: Iterable[str] | None = None) -> bool:
    """Whether this CPU does bfloat16 arithmetic natively: from ``flags`` when given, else /proc/cpuinfo.
    (Linux lists the AMX flags only where the kernel lets programs use AMX's tile state.)"""
    return bool(BF16_CPU_FLAGS & set(cpuinfo_flags() if flags is None else flags))


def resolve_dtype(name: str, device: str, flags: Iterable[str] | None = None) -> str:
    """The dtype name a model on ``device`` ("cpu", "cuda", "cuda:1", ...) loads in for ``--dtype name``."""
    if name in DTYPES:
        return name
    if name != "auto":
        raise ConfigError(f"--dtype must be {', '.join(DTYPE_CHOICES[:-1])} or {DTYPE_CHOICES[-1]}, not {name!r}")
    if device.split(":")[0] != "cpu":
        return "bfloat16"
    return "bfloat16" if cpu_has_bf16(flags) else "float32"


def torch_dtype(torch: Any, name: str) -> Any:
    """The torch dtype for a resolved name."""
    return {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[name]


def check_dtype_runs(torch: Any, name: str, device: str) -> None:
    """Refuse (ConfigError, one line) a dtype this torch cannot compute in on ``device``, before a model
    loads: the operations a decoder step is made of, on a few numbers. Without it, such a dtype fails at
    the first batch and every answer becomes an error record."""
    dtype = torch_dtype(torch, name)
    try:
        with torch.inference_mode():
            x = torch.linspace(-1, 1, 64, device=device).reshape(2, 1, 4, 8).to(dtype)
            w = torch.linspace(-1, 1, 64, device=device).reshape(8, 8).to(dtype)
            h = torch.nn.functional.linear(x, w)
            h = torch.nn.functional.scaled_dot_product_attention(h, h, h, is_causal=True)
            h = torch.nn.functional.silu(h) * torch.rsqrt(h.float().pow(2).mean(-1, keepdim=True) + 1e-6).to(dtype)
            torch.softmax(h.float(), dim=-1).argmax(dim=-1).tolist()
    except (RuntimeError, NotImplementedError, TypeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"--dtype {name}: torch cannot compute in {name} on {device} here ({first}); "
                          "use --dtype float32") from None
