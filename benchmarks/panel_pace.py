"""Does a panel of API judges take as long as one judge? Wall time of gen_judgment with 1 and with 3 judges.

    python benchmarks/panel_pace.py                    # L = 0.2 s per call, --parallel 4, single mode
    python benchmarks/panel_pace.py --latency 0.5 --parallel 8

The demo bench (20 questions, 27 turns) answered by two scripted models gives 54 single judgments, one
call each, per judge. The judges are API models on the loopback server of tests/fakeapi.py, which answers
every call after exactly L seconds. One judge's floor is ceil(54 / P) x L; three judges run one after
another would take three times that, three at once (judging/panel_run.py) about the same as one. Printed:
each run's wall time (llm_judge.judge in this process, start-up included), the floor, and the ratio of
the three-judge run to the one-judge run (target: close to 1, against 3 for judges in turn). Both runs are
measured in one process, one after the other, after an untimed warm-up run (imports, the SDK, tiktoken's
vocabulary for the cost preview); on a shared machine other processes' load shows as noise.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

import llm_judge  # noqa: E402
from fakeapi import FakeAPI  # noqa: E402

KEY = "sk-benchmark-key"
JUDGES = ["gpt-4o", "gpt-4o-mini", "gpt-4.1"]


def answered_bench(root: Path) -> Path:
    """A data dir with the demo bench answered by two scripted models."""
    bench = root / "data" / "demo_bench"
    bench.mkdir(parents=True)
    for name in ("question.jsonl", "bench.json"):
        shutil.copy(REPO / "data" / "demo_bench" / name, bench / name)
    for model in ("alpha", "beta"):
        script = root / f"{model}.jsonl"
        script.write_text(json.dumps({"reply": f"{model} says hello"}) + "\n", encoding="utf-8")
        llm_judge.answer("demo_bench", f"mock:{script}", data_dir=root / "data")
    return root / "data"


def timed_run(api: FakeAPI, judges: list[str], parallel: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        data = answered_bench(Path(tmp))
        configs = [llm_judge.engine(judge, parallel=parallel, api_base=api.openai_base) for judge in judges]
        start = time.perf_counter()
        run = llm_judge.judge("demo_bench", configs, data_dir=data)
        wall = time.perf_counter() - start
    if run.failed:
        sys.exit(f"error: {run.failed} judgments failed")
    return wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--latency", type=float, default=0.2, help="seconds per call (default: 0.2)")
    ap.add_argument("--parallel", type=int, default=4, help="calls in flight per judge (default: 4)")
    args = ap.parse_args()
    os.environ["OPENAI_API_KEY"] = KEY
    floor = math.ceil(54 / args.parallel) * args.latency
    with FakeAPI(api_key=KEY, latency=args.latency) as api:
        timed_run(api, JUDGES[:1], args.parallel)  # warm-up: imports, the SDK, tiktoken's vocabulary, once
        api.reset_stats()
        one = timed_run(api, JUDGES[:1], args.parallel)
        three = timed_run(api, JUDGES, args.parallel)
        calls, most = api.stats.count(200), api.stats.max_in_flight
    print(f"54 judgments per judge, L = {args.latency:g} s, --parallel {args.parallel}: floor per judge "
          f"{floor:.2f} s; load average {os.getloadavg()[0]:.2f}")
    print(f"1 judge:  {one:6.2f} s")
    print(f"3 judges: {three:6.2f} s  ({calls} calls answered in all, at most {most} in flight)")
    print(f"ratio 3 judges / 1 judge: {three / one:.2f} (judges in turn would take about 3)")


if __name__ == "__main__":
    main()
