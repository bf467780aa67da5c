"""Kill gen_judgment with SIGKILL mid-run, several times, and rerun: every judgment exactly once.

gen_judgment runs as a real process against the loopback API server; it is killed at several points
of its progress (and a torn last line, as a kill in the middle of a write leaves it, is added once),
then rerun to completion. The final file must hold each key once, none lost, no error records.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fakeapi import FakeAPI
from fakeapi import answer_or_judge as reply
from llm_judge.cli import gen_model_answer
from llm_judge.jsonl import read_jsonl

pytestmark = [pytest.mark.slow, pytest.mark.api]  # kills a judging process three times and reruns it

KEY = "sk-test-0123456789-SECRET"


MODELS = ["gpt-3.5-turbo", "gpt-4o-mini", "gpt-4.1-nano"]
JUDGMENTS = 27 * len(MODELS)  # the demo bench has 27 turns to judge per model


def lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def start(data_dir: Path, api: FakeAPI) -> subprocess.Popen:
    env = dict(os.environ, OPENAI_API_KEY=KEY, PYTHONUNBUFFERED="1")
    env.pop("OPENAI_BASE_URL", None)
    cmd = [sys.executable, "-m", "llm_judge.gen_judgment", "--data-dir", str(data_dir), "--judge-model", "gpt-4",
           "--api-base", api.openai_base, "--parallel", "3"]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def kill_after(proc: subprocess.Popen, path: Path, at_least: int, limit: float = 60.0) -> tuple[int, str]:
    """SIGKILL ``proc`` as soon as ``path`` holds ``at_least`` lines; the line count then, and its stderr."""
    deadline = time.monotonic() + limit
    while lines(path) < at_least and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert proc.poll() is None, f"finished before the kill: {proc.communicate()}"
    proc.send_signal(signal.SIGKILL)
    _, err = proc.communicate()
    return lines(path), err


def test_sigkill_and_rerun_gives_each_judgment_exactly_once(data_dir, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with FakeAPI(api_key=KEY, reply=reply, latency=0.04) as api:
        for model in MODELS:
            assert gen_model_answer.main(["--data-dir", str(data_dir), "--model-path", model, "--max-new-token", "32",
                                          "--api-base", api.openai_base, "--parallel", "8"]) == 0
        out = data_dir / "demo_bench" / "model_judgment" / "gpt-4_single.jsonl"
        api.reset_stats()
        seen, errs = [], []
        for n, at_least in enumerate([1, 30, 60]):
            count, err = kill_after(start(data_dir, api), out, at_least)
            seen.append(count)
            errs.append(err)
            if n == 1:  # what a kill in the middle of writing a record leaves behind
                with open(out, "a", encoding="utf-8") as fh:
                    fh.write('{"question_id": 1, "model": "gpt-3.5-turbo", "judge": ["gpt-4", "sin')
        assert seen == sorted(seen) and seen[-1] < JUDGMENTS  # each run resumed and got further; none finished
        assert "cut a torn last line" in errs[2]  # the next run found the torn line and cut it
        assert f"{seen[1]} already in" in errs[2]
        final = start(data_dir, api)
        _, err = final.communicate(timeout=120)
        assert final.returncode == 0, err
        assert f"{JUDGMENTS} judgments (single), {seen[2]} already in" in err

    rows = read_jsonl(out)  # parses: no torn line is left
    keys = [(r["question_id"], r["model"], r["turn"]) for r in rows]
    assert len(rows) == JUDGMENTS and len(set(keys)) == JUDGMENTS
    assert {m for _, m, _ in keys} == set(MODELS)
    assert not any("error" in r for r in rows) and all(r["score"] is not None for r in rows)
    # the calls in flight at each kill were made again, nothing else was
    assert JUDGMENTS <= api.stats.count(200) <= JUDGMENTS + 3 * 3
