"""N gen_judgment processes given --share on the same command and folder: wall time, calls bought, records.

    python benchmarks/shared_runs.py                           # 1, 2 and 4 workers, L = 0.5 s, --parallel 4
    python benchmarks/shared_runs.py --workers 1 8 --latency 1

The bench is the bundled demo bench answered by ``--models`` models (through the loopback server of
tests/fakeapi.py, which answers every call after exactly L seconds and counts it), judged in single mode:
27 judgments per model, one call each. For each N the judgment file is removed, N workers are launched at
once as separate processes (as N jobs on a cluster would be), and the run is timed from the first launch to
the last exit. Printed: the wall time, the floor (judgments x L / (N x --parallel)), the calls the server
answered (each judgment bought once: equal to the judgments), the records in the file and its distinct keys.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from fakeapi import FakeAPI  # noqa: E402
from fakeapi import answer_or_judge as reply  # noqa: E402
from llm_judge.jsonl import read_jsonl  # noqa: E402

KEY = "sk-bench-shared-runs"


def workers(data_dir: Path, api: FakeAPI, n: int, parallel: int) -> float:
    env = dict(os.environ, OPENAI_API_KEY=KEY, PYTHONPATH=str(REPO))
    env.pop("OPENAI_BASE_URL", None)
    cmd = [sys.executable, "-m", "llm_judge.gen_judgment", "--data-dir", str(data_dir), "--judge-model", "gpt-4",
           "--api-base", api.openai_base, "--parallel", str(parallel), "--share"]
    start = time.monotonic()
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for _ in range(n)]
    for proc in procs:
        _, err = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"a worker failed:\n{err}")
    return time.monotonic() - start


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    p.add_argument("--models", type=int, default=4, help="answering models (27 judgments each)")
    p.add_argument("--latency", type=float, default=0.5, help="seconds the server takes per call")
    p.add_argument("--parallel", type=int, default=4, help="--parallel of each worker")
    args = p.parse_args(argv)
    os.environ["OPENAI_API_KEY"] = KEY
    import llm_judge

    with tempfile.TemporaryDirectory() as tmp, FakeAPI(api_key=KEY, reply=reply) as api:
        data_dir = Path(tmp) / "data"
        (data_dir / "demo_bench").mkdir(parents=True)
        for name in ("question.jsonl", "bench.json"):
            shutil.copy(REPO / "data" / "demo_bench" / name, data_dir / "demo_bench" / name)
        for i in range(args.models):
            model = llm_judge.engine(f"openai:model-{i}", parallel=16, api_base=api.openai_base)
            llm_judge.answer("demo_bench", model, data_dir=data_dir, max_new_tokens=32)
        out = data_dir / "demo_bench" / "model_judgment" / "gpt-4_single.jsonl"
        api.latency = args.latency
        for n in args.workers:
            out.unlink(missing_ok=True)
            api.reset_stats()
            wall = workers(data_dir, api, n, args.parallel)
            rows = read_jsonl(out)
            keys = {(r["question_id"], r["model"], r["turn"]) for r in rows}
            floor = len(keys) * args.latency / (n * args.parallel)
            print(f"{n} worker(s): {wall:.1f} s (floor {floor:.1f} s), {api.stats.count(200)} calls answered, "
                  f"{len(rows)} records, {len(keys)} keys")
    return 0


if __name__ == "__main__":
    sys.exit(main())
