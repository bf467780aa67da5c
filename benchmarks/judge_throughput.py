"""How close API judging comes to the floor N·L/P: wall time of whole runs, start-up included, ours and FastChat's.

    python benchmarks/judge_throughput.py                      # N = 1600, L = 1 s, P = 64 and 256
    python benchmarks/judge_throughput.py --models 16          # N = 2560 (a multiple of both P)
    python benchmarks/judge_throughput.py --no-fastchat        # ours only (FastChat's with faults takes minutes)
    python benchmarks/judge_throughput.py --models 16 --latency 8 --latency-sigma 0.5 --parallel 256 \
        --no-faults --no-fastchat                              # a realistic latency: log-normal, median 8 s (~2 min)

The bench is MT-bench (80 questions, 2 turns, from the download cache) with the real answers of
``--models`` models, judged in single mode: N = 160 × models judgments, one call each. The judge is the
loopback server of tests/fakeapi.py, run as its own process, which answers every call after exactly
L seconds (with ``--latency-sigma S``, after L·exp(S·z), z a standard normal drawn from a hash of the
prompt: a log-normal with median L, each judgment waiting the same in every run); "faults" injects 5%
429 (Retry-After: 1 s, answered at once) and 2% 500 (after L) per attempt.
Each configuration runs as a fresh process, timed from launch to exit:

* ours: ``python -m llm_judge.gen_judgment`` (its cost preview included);
* FastChat: FastChat's method, rebuilt here (``fastchat_child``): a thread pool of ``--parallel`` threads,
  one synchronous SDK call per judgment (FastChat's chat_completion_openai), on an error a 10 s sleep and
  another try (API_RETRY_SLEEP, up to 16), each record appended by the thread that made it. The prompts
  are ours, so both send the same requests.

Printed per run: the floor (the latency served to the calls answered 200, over P: N·L/P for a fixed L),
both wall times and their ratio to it, the target, and two bounds no client can beat: ceil(N/P)·L (whole
waves of L seconds: 7 s for N = 1600 at P = 256, 1.12× the floor; with --latency-sigma, the floor or the
longest call, whichever is longer) and, with faults, that plus Retry-After + L for a call rate-limited
in the last wave. For ours, also the start-up (launch to the first request the server saw) and the span
from the first request to the last answer over the floor (the engine alone). Then the start-up broken down, each part measured in its own
fresh process (median of 3): the interpreter, our imports, the SDK's, and a ``--dry-run`` (bench,
plan and cost preview, no SDK). The load average is printed with each run: on a shared machine, other
processes' CPU use shows up as wall time, so compare the ratios of one run, not across runs.
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
KEY = "sk-benchmark-key"


def make_bench(root: Path, models: int) -> list[str]:
    """A copy of MT-bench with the answers of the first ``models`` answer files; their names."""
    sys.path.insert(0, str(REPO))
    from llm_judge.benches.cache import cached_path
    from llm_judge.errors import LlmJudgeError

    try:
        mt_bench = cached_path("mt_bench")  # filled on first use from $LLM_JUDGE_MIRROR or upstream
    except LlmJudgeError as exc:
        sys.exit(f"error: {exc}")
    bench = root / "mt_bench"
    (bench / "model_answer").mkdir(parents=True)
    shutil.copy(mt_bench / "question.jsonl", bench / "question.jsonl")
    shutil.copytree(mt_bench / "reference_answer", bench / "reference_answer")
    files = sorted((mt_bench / "model_answer").glob("*.jsonl"))[:models]
    if len(files) < models:
        sys.exit(f"error: MT-bench has only {len(files)} answer files")
    for f in files:
        shutil.copy(f, bench / "model_answer" / f.name)
    return [f.stem for f in files]


def start_server(latency: float, sigma: float, p429: float, p500: float, retry_after: float,
                 stats: Path) -> tuple[subprocess.Popen, str]:
    cmd = [sys.executable, str(REPO / "tests" / "fakeapi.py"), "--latency", str(latency), "--api-key", KEY,
           "--latency-sigma", str(sigma),
           "--p429", str(p429), "--p500", str(p500), "--retry-after", str(retry_after), "--stats-file", str(stats)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().split()
    if len(line) != 2 or line[0] != "listening":
        proc.kill()
        sys.exit(f"error: the fake server did not start: {line}")
    return proc, line[1]


TARGETS = {64: 1.10, 256: 1.15}  # issue 13: wall / floor at these P, start-up included


def client_command(kind: str, data: Path, models: list[str], parallel: int, url: str, out: Path) -> list[str]:
    if kind == "fastchat":
        return [sys.executable, str(Path(__file__).resolve()), "--fastchat-child", str(data), url, str(parallel),
                str(out), *models]
    return [sys.executable, "-m", "llm_judge.gen_judgment", "--data-dir", str(data), "--bench-name", "mt_bench",
            "--judge-model", "gpt-4", "--api-base", url + "/v1", "--parallel", str(parallel),
            "--output-file", str(out), "--model-list", *models]


def run_once(kind: str, data: Path, models: list[str], n: int, parallel: int, latency: float, faults: bool,
             retry_after: float, sigma: float = 0.0) -> dict:
    """One whole run of ``kind`` ("ours" or "fastchat") as a fresh process against a fresh server."""
    stats_file = data / "server-stats.json"
    server, url = start_server(latency, sigma, 0.05 if faults else 0.0, 0.02 if faults else 0.0, retry_after,
                               stats_file)
    out = data / f"judgments-{kind}-p{parallel}-{'faults' if faults else 'clean'}.jsonl"
    out.unlink(missing_ok=True)
    env = dict(os.environ, OPENAI_API_KEY=KEY, PYTHONPATH=str(REPO))
    env.pop("OPENAI_BASE_URL", None)
    launched = time.time()
    t0 = time.perf_counter()
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(client_command(kind, data, models, parallel, url, out), env=env, capture_output=True,
                          text=True, cwd=REPO)
    wall = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    server.send_signal(signal.SIGTERM)
    server.wait(30)
    if proc.returncode != 0:
        sys.exit(f"error: {kind} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    stats = json.loads(stats_file.read_text())
    records = [json.loads(line) for line in out.read_text().splitlines()]
    failed = sum(1 for r in records if r.get("error"))
    if len(records) != n or failed:
        sys.exit(f"error: {kind}: expected {n} good records, got {len(records)} ({failed} failed)")
    floor = stats["slept"] / parallel  # N·L/P for a fixed latency
    # no client beats whole waves of L, or with varied latencies the floor and the longest call
    waves = math.ceil(n / parallel) * latency if not sigma else max(floor, stats["longest"])
    return {"wall": wall, "floor": floor, "ratio": wall / floor, "startup": stats["first_request"] - launched,
            "span": stats["last_response"] - stats["first_request"], "waves": waves, "longest": stats["longest"],
            "bound": waves + (retry_after + latency if faults else 0.0), "load": os.getloadavg()[0],
            "client_cpu": cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime,
            "requests": stats["requests"], "429": stats["by_status"].get("429", 0),
            "500": stats["by_status"].get("500", 0), "max_in_flight": stats["max_in_flight"]}


def fastchat_child(argv: list[str]) -> int:
    """FastChat's judging loop (llm_judge/gen_judgment.py + common.py of lm-sys/FastChat), rebuilt on the
    current openai SDK: threads, one blocking call per judgment, 10 s sleeps on errors, a record per line."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import openai  # FastChat's common.py imports it at the top

    from llm_judge.bench import load_bench
    from llm_judge.judging.bench_run import JudgeOptions, plan
    from llm_judge.judging.families import load_family

    data, url, parallel, out, *models = argv
    bench = load_bench("mt_bench", data)
    match_plan = plan(bench, load_family(None), JudgeOptions(model_list=models))
    local = threading.local()  # FastChat's openai 0.28 kept one HTTP session per thread

    def judge(match) -> None:
        if not hasattr(local, "client"):
            local.client = openai.OpenAI(base_url=url + "/v1", max_retries=0)
        messages = match.games()[0]
        text = "$ERROR$"
        for _ in range(16):  # API_MAX_RETRY
            try:
                reply = local.client.chat.completions.create(model="gpt-4", messages=messages, n=1, temperature=0,
                                                             max_tokens=2048)
                text = reply.choices[0].message.content
                break
            except openai.OpenAIError:
                time.sleep(10)  # API_RETRY_SLEEP
        record = {"question_id": match.question.question_id, "model": match.models[0], "turn": match.turn,
                  "judgment": text, "tstamp": time.time()}
        with open(out, "a") as fout:
            fout.write(json.dumps(record) + "\n")

    with ThreadPoolExecutor(int(parallel)) as executor:
        for _ in executor.map(judge, match_plan.matches):
            pass
    return 0


def median_seconds(cmd: list[str], env: dict[str, str], times: int = 3) -> tuple[float, float]:
    """Median wall and CPU seconds of ``cmd`` as a fresh process; CPU time barely moves with the machine's load."""
    runs = []
    for _ in range(times):
        cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, cwd=REPO, check=True, capture_output=True)
        cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        runs.append((time.perf_counter() - t0, cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime))
    return (sorted(w for w, _ in runs)[len(runs) // 2], sorted(c for _, c in runs)[len(runs) // 2])


def startup_breakdown(data: Path, models: list[str]) -> list[tuple[str, float, float]]:
    """Each part of the start-up (name, wall s, CPU s), measured as differences of fresh processes."""
    env = dict(os.environ, OPENAI_API_KEY=KEY, PYTHONPATH=str(REPO))
    py = sys.executable
    bare = median_seconds([py, "-c", "pass"], env)
    ours = median_seconds([py, "-c", "import llm_judge.cli.gen_judgment"], env)
    sdk = median_seconds([py, "-c", "import openai, aiohttp"], env)
    dry = median_seconds(client_command("ours", data, models, 64, "http://127.0.0.1:9", data / "dry.jsonl")
                         + ["--dry-run"], env)
    parts = [("interpreter (python -c pass)", bare, (0.0, 0.0)),
             ("our imports (llm_judge.cli.gen_judgment)", ours, bare),
             ("SDK imports (openai, aiohttp), with their teardown", sdk, bare),
             ("bench, plan and cost preview (--dry-run minus our imports)", dry, ours)]
    return [(name, a[0] - b[0], a[1] - b[1]) for name, a, b in parts]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--fastchat-child"]:
        return fastchat_child(argv[1:])
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", type=int, default=10, help="answer files to judge: N = 160 x models (default 10)")
    p.add_argument("--latency", type=float, default=1.0, help="the server's latency L in seconds (default 1)")
    p.add_argument("--latency-sigma", type=float, default=0.0,
                   help="log-normal latencies with median L: sigma of their log (default 0: every call L)")
    p.add_argument("--parallel", type=int, nargs="+", default=[64, 256])
    p.add_argument("--retry-after", type=float, default=1.0, help="Retry-After of the injected 429s (default 1)")
    p.add_argument("--no-faults", action="store_true", help="only the runs without injected faults")
    p.add_argument("--no-fastchat", action="store_true", help="ours only")
    args = p.parse_args(argv)
    n = 160 * args.models
    with tempfile.TemporaryDirectory(prefix="judge-throughput-") as tmp:
        data = Path(tmp)
        models = make_bench(data, args.models)
        spread = f" (log-normal median, sigma {args.latency_sigma:g})" if args.latency_sigma else ""
        print(f"N = {n} judgments (MT-bench single, {args.models} models), L = {args.latency:g} s{spread}, "
              f"faults: 5% 429 (Retry-After {args.retry_after:g} s) + 2% 500; each client a fresh process; "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
        print(f"{'P':>4} {'faults':>6} {'floor s':>7} | {'ours s':>6} {'ours/floor':>10} {'target':>6} | "
              f"{'FastChat s':>10} {'FC/floor':>8} | {'waves s':>7} {'bound s':>7} | {'start-up s':>10} "
              f"{'span/floor':>10} {'calls':>5} {'429':>3} {'500':>3} {'cpu s':>5} {'load':>4}")
        startups = {}
        for faults in ([False] if args.no_faults else [False, True]):
            for parallel in args.parallel:
                r = run_once("ours", data, models, n, parallel, args.latency, faults, args.retry_after,
                             args.latency_sigma)
                startups[(parallel, faults)] = r["startup"]
                fc = None if args.no_fastchat else run_once("fastchat", data, models, n, parallel, args.latency,
                                                            faults, args.retry_after, args.latency_sigma)
                fc_cols = f"{'-':>10} {'-':>8}" if fc is None else f"{fc['wall']:10.2f} {fc['ratio']:7.3f}x"
                target = f"{TARGETS[parallel]:5.2f}x" if parallel in TARGETS else f"{'-':>6}"
                print(f"{parallel:>4} {'yes' if faults else 'no':>6} {r['floor']:7.2f} | {r['wall']:6.2f} "
                      f"{r['ratio']:9.3f}x {target} | {fc_cols} | {r['waves']:7.2f} {r['bound']:7.2f} | "
                      f"{r['startup']:10.2f} {r['span'] / r['floor']:9.3f}x {r['requests']:>5} {r['429']:>3} "
                      f"{r['500']:>3} {r['client_cpu']:5.2f} {r['load']:4.1f}", flush=True)
        print(f"\nstart-up, each part from fresh processes (median of 3; load average {os.getloadavg()[0]:.1f}):")
        print(f"  {'wall s':>6} {'CPU s':>6}")
        for name, wall, cpu in startup_breakdown(data, models):
            print(f"  {wall:6.3f} {cpu:6.3f}  {name}")
        for (parallel, faults), seconds in startups.items():
            print(f"  {seconds:6.3f} {'':>6}  observed: launch to the first request, P = {parallel}"
                  f"{' with faults' if faults else ''} (the above but the cost preview, plus the client and P requests)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
