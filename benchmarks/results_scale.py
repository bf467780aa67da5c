"""show_result at arena scale: time and peak memory over one synthetic file of pairwise judgments.

    python benchmarks/results_scale.py                       # 1,000,000 judgments (about 1.5 GB)
    python benchmarks/results_scale.py --records 300000 --ratings

The file is FastChat's pairwise format (question_id, model_1, model_2, g1_winner, g2_winner, judge,
g1/g2_user_prompt, g1/g2_judgment, turn, tstamp), written from ``numpy.random.default_rng(--seed)`` into a
temporary folder that is removed afterwards. Realistic sizes: each user prompt is FastChat's pair-v2 layout
around a question and two answers of 15-35 words drawn from a vocabulary, each judgment 15-30 words ending
in FastChat's verdict "[[A]]", "[[B]]" or "[[C]]" (about 1.5 KB a record). 12 models (66 pairs, both
orders), 80 questions, 2 turns; each model has a strength, the judge prefers the answer shown first by a
few points, and 0.5% of the games carry FastChat's "error" verdict in one order.

Each command runs as its own process; its wall time is launch to exit and its peak memory is the
resident-set maximum the kernel reports for it (``os.wait4``'s rusage; it counts what the child inherited
before exec, about 13 MiB of this script's own interpreter, so the file is written, and FastChat looked
for, by separate processes). Printed: ours (show_result
--mode pairwise-all, every table), ours with --ratings when asked, and FastChat's show_result (fschat 0.2.36,
when installed: it needs pandas) on the same file. The machine's load average is printed too: on a
shared machine, other processes' CPU use shows up as wall time.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORDS = ("the model answer explains each step clearly and gives a correct result with an example but the "
         "reasoning about edge cases is missing some detail while the other response is shorter more accurate "
         "and follows the instructions of the user question about python code history science travel "
         "writing a poem an email summary of the article with three key points").split()
PROMPT = ("[User Question]\n{q}\n\n[The Start of Assistant A's Answer]\n{a}\n[The End of Assistant A's Answer]"
          "\n\n[The Start of Assistant B's Answer]\n{b}\n[The End of Assistant B's Answer]")
VERDICT = {"model_1": "A", "model_2": "B", "tie": "C"}


def _texts(rng, count: int, low: int, high: int) -> list[str]:
    return [" ".join(rng.choice(WORDS, size=int(rng.integers(low, high)))).capitalize() + "."
            for _ in range(count)]


def write_file(path: Path, records: int, seed: int) -> int:
    """``records`` pairwise judgments into ``path``; returns its size in bytes."""
    import numpy as np

    rng = np.random.default_rng(seed)
    models = [f"model-{i:02d}" for i in range(12)]
    strength = rng.normal(0.0, 1.0, len(models))
    pairs = [(i, j) for i in range(len(models)) for j in range(len(models)) if i != j]
    questions, answers, reasons = _texts(rng, 80, 8, 20), _texts(rng, 400, 15, 35), _texts(rng, 200, 15, 30)
    with open(path, "w", encoding="utf-8") as fh:
        for start in range(0, records, 10_000):
            n = min(10_000, records - start)
            which = rng.integers(0, len(pairs), n)
            qids, turns = rng.integers(1, 81, n), rng.integers(1, 3, n)
            noise = rng.random((n, 2))
            picks = rng.integers(0, 400, (n, 2))
            why = rng.integers(0, 200, (n, 2))
            errors = rng.random(n) < 0.005
            lines = []
            for k in range(n):
                i, j = pairs[which[k]]
                p1 = 1.0 / (1.0 + np.exp(strength[j] - strength[i]))  # P(model_1 better)
                winners = []
                for g, first_bias in ((0, 0.06), (1, -0.06)):  # the first-shown answer gets a few points
                    p = min(max(p1 + first_bias, 0.0), 1.0)
                    u = noise[k, g]
                    winners.append("model_1" if u < 0.8 * p else "model_2" if u < 0.8 * p + 0.8 * (1 - p) else "tie")
                if errors[k]:
                    winners[1] = "error"
                q, a1, a2 = questions[qids[k] - 1], answers[picks[k, 0]], answers[picks[k, 1]]
                g2_letter = {"model_1": "B", "model_2": "A", "tie": "C", "error": "?"}[winners[1]]
                rec = {"question_id": int(qids[k]), "model_1": models[i], "model_2": models[j],
                       "g1_winner": winners[0], "g2_winner": winners[1], "judge": ["gpt-4", "pair-v2"],
                       "g1_user_prompt": PROMPT.format(q=q, a=a1, b=a2),
                       "g1_judgment": f"{reasons[why[k, 0]]} [[{VERDICT[winners[0]]}]]",
                       "g2_user_prompt": PROMPT.format(q=q, a=a2, b=a1),
                       "g2_judgment": f"{reasons[why[k, 1]]} [[{g2_letter}]]",
                       "turn": int(turns[k]), "tstamp": 1.7e9 + start + k}
                lines.append(json.dumps(rec))
            fh.write("\n".join(lines) + "\n")
    return path.stat().st_size


def measure(command: list[str], cwd: Path, repo: Path = REPO) -> tuple[float, float, int, str]:
    """(wall seconds, peak resident MiB, exit status, last output line) of one process, importing llm_judge
    from ``repo``."""
    env = dict(os.environ, PYTHONPATH=str(repo))
    start = time.perf_counter()
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    lines = [line for line in out.splitlines() if line.strip()]
    return wall, usage.ru_maxrss / 1024.0, proc.returncode, (lines[-1] if lines else "")[:100]


def fastchat_installed() -> bool:
    """Whether FastChat's show_result imports (asked of another process: importing pandas here would add
    its memory to every child's peak)."""
    probe = [sys.executable, "-c", "import fastchat.llm_judge.show_result, pandas"]
    return subprocess.run(probe, capture_output=True).returncode == 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--records", type=int, default=1_000_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ratings", action="store_true", help="also time show_result --ratings (--bootstrap 1000)")
    p.add_argument("--no-fastchat", action="store_true", help="skip FastChat's show_result")
    p.add_argument("--compare-with", metavar="CHECKOUT", type=Path,
                   help="also time show_result from another checkout of llm_judge (e.g. one before the streaming "
                        "reader) on the same file")
    p.add_argument("--write-to", metavar="FILE", help=argparse.SUPPRESS)  # the writer's own process
    args = p.parse_args()
    if args.write_to:
        write_file(Path(args.write_to), args.records, args.seed)
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="results_scale_"))
    try:
        path = tmp / "gpt-4_pair.jsonl"
        t0 = time.perf_counter()
        # Written by a process of its own: a child's peak memory counts what it inherited from this process
        # before exec, so this one stays small.
        subprocess.run([sys.executable, __file__, "--records", str(args.records), "--seed", str(args.seed),
                        "--write-to", str(path)], check=True)
        size = path.stat().st_size
        print(f"wrote {args.records:,} pairwise judgments, {size / 1e9:.2f} GB, in {time.perf_counter() - t0:.1f} s; "
              f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
        runs = [("ours: show_result --mode pairwise-all",
                 [sys.executable, "-m", "llm_judge.show_result", "--input-file", str(path), "--mode", "pairwise-all"])]
        if args.compare_with:
            runs.append((f"{args.compare_with.name}: show_result --mode pairwise-all", runs[0][1], args.compare_with))
        if args.ratings:
            runs.append(("ours: ... --ratings --bootstrap 1000", runs[0][1] + ["--ratings", "--bootstrap", "1000"]))
        if not args.no_fastchat and fastchat_installed():
            runs.append(("FastChat 0.2.36: show_result --mode pairwise-all",
                         [sys.executable, "-m", "fastchat.llm_judge.show_result", "--input-file", str(path),
                          "--mode", "pairwise-all"]))
        elif not args.no_fastchat:
            print("FastChat's show_result: not installed (pip install fschat==0.2.36 --no-deps; pip install pandas)")
        results: dict[str, tuple[float, float]] = {}
        for name, command, *repo in runs:
            wall, peak, status, last = measure(command, tmp, *repo)
            results[name] = (wall, peak)
            print(f"{name:<52} {wall:7.1f} s  {peak:7.0f} MiB peak  exit {status}  ({last})")
        ours = results[runs[0][0]]
        for name, (wall, peak) in list(results.items())[1:]:
            if "--ratings" not in name:
                print(f"{name.split(':')[0]} / ours: time {wall / ours[0]:.1f}x, peak memory {peak / ours[1]:.1f}x")
        print(f"load average after: {os.getloadavg()[0]:.2f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
