"""Generated tokens per second on the default model: FastChat's one-at-a-time loop vs our engines, in one run.

    python benchmarks/answer_throughput.py                      # both workloads below, every engine
    python benchmarks/answer_throughput.py --workload mt_bench --engines one,hf-bf16

Two workloads, each its own table with its own baseline:

* ``demo``: the 20 first turns of data/demo_bench, 64 new tokens each;
* ``mt_bench``: the 80 first turns of MT-bench (from the download cache, filled on first use), 128
  new tokens each: the workload issue 16's 25x goal names.

``--n`` takes the first n questions (repeated when n is larger than the bench); ``--baseline-n`` lets ``one``
answer only the first of them: it answers one question after the other, so its tokens/s hardly depends on
how many it answers, and it is by far the slowest. Greedy, with the same token budget, answered on the same
machine one engine after the other:

* ``one``: FastChat's method on a CPU: the model loaded in float32, ``model.generate`` called once per
  question, decoded up to EOS;
* ``hf-fp32`` / ``hf-bf16``: our transformers engine in float32 / bfloat16 (``model.generate`` on batches of
  ``--batch-size`` prompts, sorted by length; by default every question in one batch);
* ``vllm-fp32`` / ``vllm-bf16``: our vLLM engine (the CPU build here) in float32 / bfloat16, every prompt in
  one ``generate`` call (continuous batching); a dtype the build cannot run is reported and skipped;
* ``llamacpp``: our llama.cpp engine on the bundled GGUF file as it is (Q4_1), ``--batch-size`` rows decoded
  together (by default every question);
* ``llamacpp-server``: llama-cpp-python's OpenAI-compatible server on the same file, started here (its start
  counts as load) and called through our OpenAI engine, ``--parallel`` requests in flight (it answers one at a
  time).

Each engine's time is wall time from loading the model to the last answer (libraries are imported first,
untimed, for all of them). Printed per engine: generated tokens (up to EOS), load and total seconds,
CPU seconds of the process (all its threads), tokens/s over the total, the ratio to ``one``, how many
answers are word for word those of ``one`` (over the questions ``one`` answered), and for the others where
they part: the earliest and the median first differing token. The load average is
printed too: on a shared machine other processes' CPU use shows up as time here, so compare ratios from
one run.

``--llama-batched-bench PATH`` runs llama.cpp's own benchmark right after the llamacpp engine, on the same
GGUF file with as many sequences as the engine's batch (80 for ``mt_bench``, 20 for ``demo``), the
workload's mean prompt length (``-npp``) and new tokens (``-ntg``), the engine's threads, n_batch 2048 and
n_ubatch 512, and prints its S_PP and S_TG beside the engine's prompt and generation-only rates, with
their ratio. It needs ``llamacpp`` in ``--engines``. Build the binary from the llama.cpp source that the
installed llama-cpp-python vendors, as pip builds it (GGML_NATIVE), e.g. for 0.3.36:

    pip download --no-deps --no-binary :all: llama-cpp-python==0.3.36 && tar xzf llama_cpp_python-0.3.36.tar.gz
    cmake -S llama_cpp_python-0.3.36/vendor/llama.cpp -B lcbuild -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON \
          -DBUILD_SHARED_LIBS=OFF -DLLAMA_OPENSSL=OFF
    cmake --build lcbuild --target llama-batched-bench -j
    python benchmarks/answer_throughput.py --workload mt_bench --engines llamacpp \
           --llama-batched-bench lcbuild/bin/llama-batched-bench
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]
os.environ.setdefault("VLLM_LOGGING_LEVEL", "ERROR")  # vLLM's per-weight warnings would bury the table

from llm_judge.bench import load_bench  # noqa: E402
from llm_judge.benches.cache import cached_path  # noqa: E402
from llm_judge.errors import LlmJudgeError  # noqa: E402
from llm_judge.engines.base import ChatModel, GenRequest, GenResult  # noqa: E402
from llm_judge.engines.config import HFOptions, VLLMOptions  # noqa: E402

import batched_bench  # noqa: E402  (benchmarks/, this script's folder)
from batched_bench import BenchRow  # noqa: E402

ENGINES = ("one", "hf-fp32", "hf-bf16", "vllm-fp32", "vllm-bf16", "llamacpp", "llamacpp-server")
LABELS = {"one": "one at a time, float32 (FastChat)", "hf-fp32": "transformers engine, float32",
          "hf-bf16": "transformers engine, bfloat16", "vllm-fp32": "vLLM engine, float32",
          "vllm-bf16": "vLLM engine, bfloat16", "llamacpp": "llama.cpp engine, GGUF Q4_1",
          "llamacpp-server": "llama.cpp server (OpenAI API), Q4_1"}


@dataclass
class Row:
    label: str
    results: list[GenResult]
    load_s: float
    total_s: float
    cpu_s: float  # this process's CPU time (all threads): on a shared CPU, wall time minus others' share

    @property
    def tokens(self) -> int:
        return sum(r.completion_tokens or 0 for r in self.results)

    @property
    def rate(self) -> float:
        return self.tokens / self.total_s


# name -> (bench folder, questions, new tokens); MT-bench's folder is the download cache's, filled on first use
WORKLOADS = {"demo": (lambda: REPO / "data" / "demo_bench", 20, 64),
             "mt_bench": (lambda: cached_path("mt_bench"), 80, 128)}


def build_requests(bench: Path, n: int, max_new_tokens: int) -> list[GenRequest]:
    questions = load_bench(str(bench)).questions
    return [GenRequest([{"role": "user", "content": questions[i % len(questions)].turns[0]}],
                       max_new_tokens=max_new_tokens, temperature=0.0) for i in range(n)]


def one_at_a_time(model, requests: list[GenRequest]) -> list[GenResult]:
    """FastChat's loop: encode one prompt, ``generate`` greedily, decode up to EOS, next question."""
    import torch

    tok, hf = model.tokenizer, model.model
    hf.set_attn_implementation("sdpa")  # transformers' default, as FastChat loads it
    eos = model._eos_ids()
    out = []
    for req in requests:
        ids = tok(model.render(req), add_special_tokens=False, return_tensors="pt")["input_ids"]
        with torch.inference_mode():
            gen = hf.generate(ids, do_sample=False, max_new_tokens=req.max_new_tokens, temperature=None, top_p=None,
                              top_k=None, pad_token_id=tok.pad_token_id)[0, ids.shape[1]:].tolist()
        n = next((j for j, t in enumerate(gen) if t in eos), len(gen))
        out.append(GenResult(text=tok.decode(gen[:n], skip_special_tokens=True).strip(), completion_tokens=n))
    return out


class ServerEngine(ChatModel):
    """llama-cpp-python's OpenAI-compatible server on the bundled GGUF, called through our OpenAI engine."""

    def __init__(self, parallel: int, threads: int | None):
        from contextlib import ExitStack

        from llm_judge.engines.config import APIOptions
        from llm_judge.engines.registry import open_engine, resolve
        from llm_judge.engines.weights import bundled_gguf
        from servers import running_server  # tests/servers.py

        def command(port: int) -> list[str]:
            cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(bundled_gguf()), "--model_alias", "smol",
                   "--port", str(port), "--n_ctx", "4096", "--verbose", "false"]
            return cmd + (["--n_threads", str(threads), "--n_threads_batch", str(threads)] if threads else [])

        self.stack = ExitStack()
        base = self.stack.enter_context(running_server("llama.cpp", command, "/v1/models", 600, poll_s=0.5))
        os.environ.setdefault("OPENAI_API_KEY", "sk-local")
        self.api = open_engine(resolve("smol", api=APIOptions(api_base=base, parallel=parallel)))

    def stream(self, requests):
        return self.api.stream(requests)

    def close(self) -> None:
        self.api.close()
        self.stack.close()


def loader(engine: str, batch_size: int, threads: int | None = None) -> tuple[Callable[[], ChatModel], Callable]:
    """(build the engine, answer with it) for one of ENGINES."""
    dtype = "bfloat16" if engine.endswith("bf16") else "float32"
    if engine == "llamacpp":
        from llm_judge.engines.llamacpp import LlamaCppModel

        opts = HFOptions(batch_size=batch_size, threads=threads)
        return lambda: LlamaCppModel(None, "default", opts), lambda m, r: m.generate(r)
    if engine == "llamacpp-server":
        return lambda: ServerEngine(4, threads), lambda m, r: m.generate(r)
    if engine.startswith("vllm"):
        from llm_judge.engines.vllm import VLLMModel

        return lambda: VLLMModel(None, "default", VLLMOptions(), HFOptions(dtype=dtype)), lambda m, r: m.generate(r)
    from llm_judge.engines.hf import HFModel

    build = lambda: HFModel(None, "default", HFOptions(dtype=dtype, batch_size=batch_size))  # noqa: E731
    return build, (one_at_a_time if engine == "one" else lambda m, r: m.generate(r))


def measure(engine: str, requests: list[GenRequest], batch_size: int, threads: int | None = None) -> Row | None:
    build, answer = loader(engine, batch_size, threads)
    start, cpu = time.perf_counter(), time.process_time()
    try:
        model = build()
    except Exception as exc:  # e.g. a dtype vLLM's CPU build cannot run: reported, the others still measured
        print(f"  {LABELS[engine]}: cannot load: {type(exc).__name__}: {str(exc)[:300]}", file=sys.stderr)
        return None
    loaded = time.perf_counter()
    with model:
        results = answer(model, requests)
    end = time.perf_counter()
    errors = [r.error for r in results if r.error]
    if errors:
        sys.exit(f"{engine}: {len(errors)} requests failed, e.g. {errors[0]}")
    row = Row(LABELS[engine], results, loaded - start, end - start, time.process_time() - cpu)
    print(f"  {row.label}: {row.tokens} tokens in {row.total_s:.1f} s (load {row.load_s:.1f} s, CPU {row.cpu_s:.1f} s) "
          f"= {row.rate:.1f} "
          f"tokens/s (load average {os.getloadavg()[0]:.1f})", file=sys.stderr, flush=True)
    return row


def generation_only(row: Row, requests: list[GenRequest], batch_size: int,
                    threads: int | None) -> tuple[float, float, int] | None:
    """The llama.cpp engine's prompt and generation rates without load, as llama-batched-bench's S_PP and S_TG
    count them: a second run with one new token each gives the prompts' time (its total less its load);
    generation is the first run's tokens over its total less the second's. Returns (prompt tokens/s,
    generation tokens/s, mean prompt tokens)."""
    short = [dataclasses.replace(r, max_new_tokens=1) for r in requests]
    first = measure("llamacpp", short, batch_size, threads)
    if first is None:
        return None
    rate = (row.tokens - first.tokens) / (row.total_s - first.total_s)
    prompt_tokens = sum(r.prompt_tokens or 0 for r in first.results)
    prompt_rate = prompt_tokens / (first.total_s - first.load_s)
    print(f"  llama.cpp engine, generation only: {rate:.1f} tokens/s (prompts and load: {first.total_s:.1f} s; "
          f"prompts {prompt_rate:.1f} tokens/s)", file=sys.stderr, flush=True)
    return prompt_rate, rate, round(prompt_tokens / len(first.results))


def beside_batched_bench(binary: str, engine: tuple[float, float, int], sequences: int, new_tokens: int,
                         threads: int) -> tuple[float, float, BenchRow]:
    """llama-batched-bench on the workload's shape (its mean prompt length), run now."""
    from llm_judge.engines.weights import bundled_gguf

    bench = batched_bench.run(binary, bundled_gguf(), sequences=sequences, prompt_tokens=engine[2],
                              new_tokens=new_tokens, threads=threads)
    print(f"  llama-batched-bench: prompts {bench.prompt_rate:.1f} tokens/s, generation {bench.generation_rate:.1f} "
          f"tokens/s (load average {os.getloadavg()[0]:.1f})", file=sys.stderr, flush=True)
    return engine[0], engine[1], bench


def report_batched_bench(engine_prompt: float, engine_gen: float, bench: BenchRow, threads: int) -> None:
    print(f"\nllama.cpp engine beside llama-batched-bench: {bench.sequences} sequences, {threads} threads; "
          f"batched-bench: {bench.pp} prompt tokens each (the workload's mean), {bench.tg} new tokens each")
    print(f"{'':<36} {'prompt tokens/s':>16} {'generation tokens/s':>20}")
    print(f"{'llama.cpp engine':<36} {engine_prompt:>16.1f} {engine_gen:>20.1f}")
    print(f"{'llama-batched-bench':<36} {bench.prompt_rate:>16.1f} {bench.generation_rate:>20.1f}")
    print(f"{'engine / batched-bench':<36} {engine_prompt / bench.prompt_rate:>16.2f} "
          f"{engine_gen / bench.generation_rate:>20.2f}")


def first_differences(tokenizer, results: list[GenResult], reference: list[GenResult]) -> list[int]:
    """For each answer that differs from the reference, the index of the first token where they part."""
    out = []
    for a, b in zip(results, reference):
        if a.text == b.text:
            continue
        x, y = (tokenizer(t, add_special_tokens=False)["input_ids"] for t in (a.text, b.text))
        out.append(next((i for i, (s, t) in enumerate(zip(x, y)) if s != t), min(len(x), len(y))))
    return out


def report(rows: list[Row], reference: Row | None, tokenizer) -> None:
    base = reference.rate if reference else None
    print(f"\n{'engine':<36} {'tokens':>7} {'load s':>7} {'total s':>8} {'cpu s':>7} {'tokens/s':>9} "
          f"{'x one':>7} "
          f"{'same text':>10} {'first diff token':>17}")
    for row in rows:
        ratio = f"{row.rate / base:.1f}x" if base else "-"
        same, parted = "-", "-"
        if reference and row is not reference:
            diffs = first_differences(tokenizer, row.results, reference.results)
            compared = len(reference.results)
            same = f"{compared - len(diffs)}/{compared}"
            parted = f"{min(diffs)} / {statistics.median(diffs):g}" if diffs else "none"
        print(f"{row.label:<36} {row.tokens:>7} {row.load_s:>7.1f} {row.total_s:>8.1f} {row.cpu_s:>7.1f} "
              f"{row.rate:>9.1f} {ratio:>7} "
              f"{same:>10} {parted:>17}")
    if base:
        best = max((r for r in rows if r is not reference), key=lambda r: r.rate, default=None)
        if best:
            print(f"\nbest: {best.label} at {best.rate / base:.1f}x FastChat's one-at-a-time rate (target: 25x)")
        print("first diff token: earliest / median position, among answers that differ from one-at-a-time float32")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workload", choices=[*WORKLOADS, "both"], default="both")
    p.add_argument("--n", type=int, default=None, help="questions (default: the workload's 20 or 80)")
    p.add_argument("--max-new-tokens", type=int, default=None, help="default: the workload's 64 or 128")
    p.add_argument("--batch-size", type=int, default=None,
                   help="prompts per batch for the transformers engine (default: every question in one batch)")
    p.add_argument("--engines", default=",".join(ENGINES), help=f"comma-separated, of {', '.join(ENGINES)} "
                   "(one is the baseline)")
    p.add_argument("--baseline-n", type=int, default=None,
                   help="questions the one-at-a-time baseline answers: the first of the n (default: all n)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads, and llama.cpp's (default: torch's; llama.cpp: every CPU)")
    p.add_argument("--llama-batched-bench", metavar="PATH", default=None,
                   help="llama.cpp's llama-batched-bench binary: run it on the workload's shape after the llamacpp "
                   "engine and print both rates side by side (needs llamacpp in --engines)")
    args = p.parse_args(argv)
    engines = args.engines.split(",")
    if unknown := set(engines) - set(ENGINES):
        p.error(f"unknown engines: {', '.join(sorted(unknown))}")
    if args.llama_batched_bench and "llamacpp" not in engines:
        p.error("--llama-batched-bench is compared with the llamacpp engine: add llamacpp to --engines")
    if args.llama_batched_bench and not os.access(args.llama_batched_bench, os.X_OK):
        p.error(f"--llama-batched-bench: {args.llama_batched_bench} is not an executable file")
    workloads = list(WORKLOADS) if args.workload == "both" else [args.workload]
    folders = {}
    for name in workloads:
        try:
            folders[name] = WORKLOADS[name][0]()
        except LlmJudgeError as exc:
            p.error(f"{name}: {exc}")

    import torch
    import transformers  # noqa: F401  (imported before any timer starts, as vllm below)

    from llm_judge.engines.hf import load_tokenizer
    from llm_judge.engines.pool import local_cores
    from llm_judge.engines.precision import resolve_dtype
    from llm_judge.engines.weights import resolve_model_path

    if any(e.startswith("vllm") for e in engines):
        import vllm  # noqa: F401
    if args.threads:
        torch.set_num_threads(args.threads)
    tokenizer = load_tokenizer(resolve_model_path(None), HFOptions())
    threads = args.threads or local_cores()  # llama.cpp's, in the engine and in llama-batched-bench
    for name in workloads:
        bench, (_, n, new_tokens) = folders[name], WORKLOADS[name]
        n, new_tokens = args.n or n, args.max_new_tokens or new_tokens
        requests = build_requests(bench, n, new_tokens)
        print(f"\n{name}: {n} questions x {new_tokens} new tokens, greedy; torch threads {torch.get_num_threads()}, "
              f"{os.cpu_count()} CPUs; --dtype auto here: {resolve_dtype('auto', 'cpu')}", file=sys.stderr)
        rows = {}
        size = args.batch_size or n
        for e in engines:
            asked = requests[:args.baseline_n] if e == "one" and args.baseline_n else requests
            if (row := measure(e, asked, size, args.threads)) is not None:
                rows[e] = row
        beside = None
        if "llamacpp" in rows and (rates := generation_only(rows["llamacpp"], requests, size, args.threads)):
            if args.llama_batched_bench:
                beside = beside_batched_bench(args.llama_batched_bench, rates, size, new_tokens, threads)
        print(f"\n{name}: {n} questions x {new_tokens} new tokens (load average {os.getloadavg()[0]:.1f})")
        report(list(rows.values()), rows.get("one"), tokenizer)
        if beside:
            report_batched_bench(*beside, threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
