"""How close API judging comes to the floor N·L/P: wall time of whole gen_judgment runs, start-up included.

    python benchmarks/judge_throughput.py                      # N = 1600, L = 0.5 s, P = 64 and 256
    python benchmarks/judge_throughput.py --models 16          # N = 2560 (a multiple of both P)

The bench is MT-bench (80 questions, 2 turns, from ../shared/data/mt_bench) with the real answers of
``--models`` models, judged in single mode: N = 160 × models judgments, one call each. The judge is the
loopback server of tests/fakeapi.py, run as its own process, which answers every call after exactly
L seconds; "faults" injects 5% 429 (Retry-After: 1 s) and 2% 500 per attempt. Each configuration runs
``python -m llm_judge.gen_judgment`` as a fresh process and times it from launch to exit.

Printed per run: wall time, the floor N·L/P, wall / floor (targets: 1.15 without faults, 1.25 with),
the start-up (launch to the first request the server saw: interpreter, imports, bench, cost preview,
SDK), the span from the first request to the last answer and its ratio to the floor (the engine alone),
and two bounds no client can beat: ceil(N/P)·L (whole waves of L seconds) and, with faults, that plus
Retry-After + L for a call rate-limited in the last wave. The machine's load average is printed too:
on a shared machine, other processes' CPU use shows up as wall time.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MT_BENCH = REPO.parent / "shared" / "data" / "mt_bench"
KEY = "sk-benchmark-key"


def make_bench(root: Path, models: int) -> list[str]:
    """A copy of MT-bench with the answers of the first ``models`` answer files; their names."""
    if not (MT_BENCH / "question.jsonl").exists():
        sys.exit(f"error: needs the public MT-bench data at {MT_BENCH}")
    bench = root / "mt_bench"
    (bench / "model_answer").mkdir(parents=True)
    shutil.copy(MT_BENCH / "question.jsonl", bench / "question.jsonl")
    shutil.copytree(MT_BENCH / "reference_answer", bench / "reference_answer")
    files = sorted((MT_BENCH / "model_answer").glob("*.jsonl"))[:models]
    if len(files) < models:
        sys.exit(f"error: MT-bench has only {len(files)} answer files")
    for f in files:
        shutil.copy(f, bench / "model_answer" / f.name)
    return [f.stem for f in files]


def start_server(latency: float, p429: float, p500: float, retry_after: float, stats: Path) -> tuple[subprocess.Popen, str]:
    cmd = [sys.executable, str(REPO / "tests" / "fakeapi.py"), "--latency", str(latency), "--api-key", KEY,
           "--p429", str(p429), "--p500", str(p500), "--retry-after", str(retry_after), "--stats-file", str(stats)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().split()
    if len(line) != 2 or line[0] != "listening":
        proc.kill()
        sys.exit(f"error: the fake server did not start: {line}")
    return proc, line[1]


def run_once(data: Path, models: list[str], n: int, parallel: int, latency: float, faults: bool,
             retry_after: float) -> dict:
    stats_file = data / "server-stats.json"
    server, url = start_server(latency, 0.05 if faults else 0.0, 0.02 if faults else 0.0, retry_after, stats_file)
    out = data / f"judgments-p{parallel}-{'faults' if faults else 'clean'}.jsonl"
    out.unlink(missing_ok=True)
    env = dict(os.environ, OPENAI_API_KEY=KEY)
    env.pop("OPENAI_BASE_URL", None)
    cmd = [sys.executable, "-m", "llm_judge.gen_judgment", "--data-dir", str(data), "--bench-name", "mt_bench",
           "--judge-model", "gpt-4", "--api-base", url + "/v1", "--parallel", str(parallel),
           "--output-file", str(out), "--model-list", *models]
    launched = time.time()
    t0 = time.perf_counter()
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=REPO)
    wall = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    server.send_signal(signal.SIGTERM)
    server.wait(30)
    if proc.returncode != 0:
        sys.exit(f"error: gen_judgment failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    stats = json.loads(stats_file.read_text())
    records = [json.loads(line) for line in out.read_text().splitlines()]
    failed = sum(1 for r in records if r.get("error"))
    if len(records) != n or failed:
        sys.exit(f"error: expected {n} good records, got {len(records)} ({failed} failed)")
    floor = n * latency / parallel
    waves = math.ceil(n / parallel) * latency
    return {"P": parallel, "faults": faults, "wall": wall, "floor": floor, "ratio": wall / floor,
            "startup": stats["first_request"] - launched, "waves": waves,
            "span": stats["last_response"] - stats["first_request"],
            "bound": waves + (retry_after + latency if faults else 0.0),
            "client_cpu": cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime,
            "server_cpu": stats["cpu_seconds"], "requests": stats["requests"], "429": stats["by_status"].get("429", 0),
            "500": stats["by_status"].get("500", 0), "max_in_flight": stats["max_in_flight"]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", type=int, default=10, help="answer files to judge: N = 160 x models (default 10)")
    p.add_argument("--latency", type=float, default=0.5, help="the server's latency L in seconds (default 0.5)")
    p.add_argument("--parallel", type=int, nargs="+", default=[64, 256])
    p.add_argument("--retry-after", type=float, default=1.0, help="Retry-After of the injected 429s (default 1)")
    p.add_argument("--no-faults", action="store_true", help="only the runs without injected faults")
    args = p.parse_args(argv)
    n = 160 * args.models
    with tempfile.TemporaryDirectory(prefix="judge-throughput-") as tmp:
        data = Path(tmp)
        models = make_bench(data, args.models)
        print(f"N = {n} judgments (MT-bench single, {args.models} models), L = {args.latency:g} s, "
              f"faults: 5% 429 (Retry-After {args.retry_after:g} s) + 2% 500; client: gen_judgment as a process; "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
        print(f"{'P':>4} {'faults':>6} {'wall s':>7} {'floor s':>7} {'wall/floor':>10} {'target':>6} "
              f"{'start-up s':>10} {'span s':>6} {'span/floor':>10} {'waves s':>7} {'bound s':>7} {'calls':>6} "
              f"{'429':>4} {'500':>4} {'in flight':>9} {'client cpu s':>12} {'server cpu s':>12}")
        for faults in ([False] if args.no_faults else [False, True]):
            for parallel in args.parallel:
                r = run_once(data, models, n, parallel, args.latency, faults, args.retry_after)
                target = 1.25 if faults else 1.15
                print(f"{r['P']:>4} {'yes' if faults else 'no':>6} {r['wall']:7.2f} {r['floor']:7.2f} "
                      f"{r['ratio']:9.3f}x {target:5.2f}x {r['startup']:10.2f} {r['span']:6.2f} "
                      f"{r['span'] / r['floor']:9.3f}x {r['waves']:7.2f} {r['bound']:7.2f} "
                      f"{r['requests']:>6} {r['429']:>4} {r['500']:>4} {r['max_in_flight']:>9} "
                      f"{r['client_cpu']:12.2f} {r['server_cpu']:12.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
