"""llama.cpp's own ``llama-batched-bench`` on the workload's shape, for answer_throughput.py to print beside
the llamacpp engine: the same GGUF file, sequences, new tokens, threads and batch sizes as the engine's.

The binary is built from the llama.cpp source that llama-cpp-python vendors (answer_throughput.py's
docstring has the commands); it prints a markdown table, one row per (PP, TG, B) case, read here by its
header's column names.
"""
from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

PAGE = 256  # KV cells per sequence come in pages of 256, as the engine's contexts (llamacpp_core.Context) size them
COLUMNS = {"PP": "pp", "TG": "tg", "B": "sequences", "T_PP s": "prompt_s", "S_PP t/s": "prompt_rate",
           "T_TG s": "generation_s", "S_TG t/s": "generation_rate"}


@dataclass
class BenchRow:
    """One row of llama-batched-bench's table: B sequences of PP prompt tokens each, then TG new tokens each."""

    pp: int
    tg: int
    sequences: int
    prompt_s: float
    prompt_rate: float  # S_PP: B * PP / T_PP (prompts not shared)
    generation_s: float
    generation_rate: float  # S_TG: B * TG / T_TG


def command(binary: str | Path, gguf: str | Path, *, sequences: int, prompt_tokens: int, new_tokens: int,
            threads: int) -> list[str]:
    """The llama-batched-bench call: one KV buffer per sequence of whole pages (its -c is their total),
    logical batches of 2048 tokens cut into 512 (the engine's n_batch / n_ubatch), prompts not shared."""
    cells = -(-(prompt_tokens + new_tokens) // PAGE) * PAGE
    return [str(binary), "-m", str(gguf), "-c", str(cells * sequences), "-b", "2048", "-ub", "512",
            "-npp", str(prompt_tokens), "-ntg", str(new_tokens), "-npl", str(sequences),
            "-t", str(threads), "-tb", str(threads)]


def parse(output: str) -> list[BenchRow]:
    """The rows of the markdown table in llama-batched-bench's output, by the names in its header line."""
    lines = [line.strip() for line in output.splitlines() if line.strip().startswith("|")]
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines]
    header = next((c for c in cells if "S_TG t/s" in c), None)
    if header is None or not set(COLUMNS) <= set(header):
        raise ValueError(f"llama-batched-bench printed no table with the columns {', '.join(COLUMNS)}")
    where = {field: header.index(name) for name, field in COLUMNS.items()}
    rows = []
    for c in cells:
        if len(c) == len(header) and c[0].isdigit():
            values = {field: (int if field in ("pp", "tg", "sequences") else float)(c[i]) for field, i in where.items()}
            rows.append(BenchRow(**values))
    return rows


def run(binary: str | Path, gguf: str | Path, *, sequences: int, prompt_tokens: int, new_tokens: int,
        threads: int, timeout: float = 1800) -> BenchRow:
    """Run llama-batched-bench once on one case and return its row."""
    cmd = command(binary, gguf, sequences=sequences, prompt_tokens=prompt_tokens, new_tokens=new_tokens,
                  threads=threads)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"{' '.join(cmd)} exited with {done.returncode}: {' / '.join(tail)}")
    rows = parse(done.stdout + "\n" + done.stderr)
    if len(rows) != 1:
        raise RuntimeError(f"{' '.join(cmd)} printed {len(rows)} table rows, not 1 (is -c too small?)")
    return rows[0]
