"""C kernels the transformers engine builds for this machine at first use, and loads with ctypes.

Today one file, ``cpu_kernels.c``: attention of one new token per row over a bfloat16 cache, and the
RMSNorm and MLP activation of a Llama layer in bfloat16 (why, in the file). It is compiled with the system's C compiler for the CPU it runs on (``-O3 -march=native -fopenmp``)
into ``~/.cache/llm_judge/kernels/`` (``LLM_JUDGE_KERNEL_DIR``), under a name that hashes the source, the
flags and the CPU, so a change of any of them builds again. The library links the OpenMP runtime torch has
loaded already (the same ``libgomp.so.1``), so its threads are torch's threads.

Without a compiler, or when the build fails, ``cpu_kernels()`` returns None once, with one log line, and
the engine attends with torch's kernel instead: slower, same answers up to rounding.
"""
from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

log = logging.getLogger(__name__)

SOURCE = Path(__file__).with_name("cpu_kernels.c")
FLAGS = ["-O3", "-march=native", "-mprefer-vector-width=512", "-fopenmp", "-shared", "-fPIC", "-std=c11"]
_P = ctypes.c_void_p
_I = ctypes.c_int64


def kernel_dir() -> Path:
    return Path(os.environ.get("LLM_JUDGE_KERNEL_DIR") or Path.home() / ".cache" / "llm_judge" / "kernels")


def _cpu_signature() -> str:
    """The CPU's model name and flags: ``-march=native`` code is only valid on a CPU that has them."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    wanted = [line for line in text.splitlines() if line.startswith(("model name", "flags"))]
    return "\n".join(sorted(set(wanted)))


def build(source: Path = SOURCE, compiler: str | None = None) -> Path:
    """Compile ``source`` into the kernel directory (once per source, flags and CPU) and return the library.

    Raises RuntimeError with the compiler's message when there is no compiler or the build fails.
    """
    compiler = compiler or os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not compiler:
        raise RuntimeError("no C compiler (cc or gcc) on PATH")
    code = source.read_bytes()
    digest = hashlib.sha256(code + " ".join(FLAGS).encode() + _cpu_signature().encode()).hexdigest()[:16]
    target = kernel_dir() / f"{source.stem}-{digest}.so"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Built under a temporary name and renamed: a second process (a Ray worker) never loads half a file.
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=target.parent)
    os.close(fd)
    try:
        try:
            done = subprocess.run([compiler, *FLAGS, str(source), "-o", tmp, "-lm"], capture_output=True,
                                  text=True, timeout=120)
        except OSError as exc:
            raise RuntimeError(f"cannot run the C compiler {compiler}: {exc}") from exc
        if done.returncode != 0:
            raise RuntimeError(f"{compiler} failed on {source.name}: {done.stderr.strip()[-500:]}")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


@lru_cache(maxsize=1)
def cpu_kernels() -> ctypes.CDLL | None:
    """The loaded kernel library, or None (logged once) when it cannot be built or loaded here."""
    if os.environ.get("LLM_JUDGE_NO_KERNELS"):
        return None
    import torch  # noqa: F401  (its libgomp is the one the library links)

    try:
        lib = ctypes.CDLL(str(build()))
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        log.warning("CPU kernels unavailable, decoding with torch's operations: %s", exc)
        return None
    lib.attend_bf16.restype = ctypes.c_int
    lib.attend_bf16.argtypes = [_P, _I, _I, _P, _I, _P, _I, _I, _P, _P, _I, _I, _P, _I, _I, _I, _I, _I, ctypes.c_float,
                                _P]
    lib.argmax_bf16.restype = None
    lib.argmax_bf16.argtypes = [_P, _I, _I, _P]
    lib.rms_norm_bf16.restype = None
    lib.rms_norm_bf16.argtypes = [_P, _P, _I, _I, ctypes.c_float, _P]
    lib.silu_mul_bf16.restype = None
    lib.silu_mul_bf16.argtypes = [_P, _I, _I, _P]
    return lib
