"""Several gen_judgment processes on one judgment file at once, as jobs sharing a results folder run them.

Real processes, the real OpenAI SDK, the loopback server (fakeapi.py), which sees every call. With --share,
2 or 4 processes started on the same command buy each judgment once (one call per single-answer key, two
per pairwise key, one per order) and leave one record per key; a worker killed with -9 in the middle has
its claimed keys finished by the others. Without it, a second run refuses in one line naming the host and
pid that hold the file, --wait waits, and the lock a killed run leaves behind is taken over.
"""
from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fakeapi import FakeAPI, use_keys
from fakeapi import answer_or_judge as reply
from llm_judge.cli import gen_model_answer
from llm_judge.jsonl import read_jsonl
from llm_judge.locks import MUTEX, SLOT

pytestmark = pytest.mark.api

KEY = "sk-test-0123456789-SECRET"
MODELS = ["gpt-3.5-turbo", "gpt-4o-mini"]
KEYS = {"single": 27 * len(MODELS), "pairwise-all": 27}  # the demo bench has 27 turns to judge per model
CALLS = {"single": KEYS["single"], "pairwise-all": 2 * KEYS["pairwise-all"]}


@pytest.fixture
def answered(data_dir, monkeypatch) -> Path:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with FakeAPI(api_key=KEY, reply=reply) as api:
        for model in MODELS:
            assert gen_model_answer.main(["--data-dir", str(data_dir), "--model-path", model, "--max-new-token", "32",
                                          "--api-base", api.openai_base, "--parallel", "8"]) == 0
    return data_dir


def output(data_dir: Path, mode: str) -> Path:
    return data_dir / "demo_bench" / "model_judgment" / f"gpt-4_{'single' if mode == 'single' else 'pair'}.jsonl"


def start(data_dir: Path, api: FakeAPI, mode: str, *flags: str) -> subprocess.Popen:
    env = dict(os.environ, OPENAI_API_KEY=KEY, PYTHONUNBUFFERED="1")
    env.pop("OPENAI_BASE_URL", None)
    cmd = [sys.executable, "-m", "llm_judge.gen_judgment", "--data-dir", str(data_dir), "--judge-model", "gpt-4",
           "--mode", mode, "--api-base", api.openai_base, "--parallel", "2", *flags]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def keys(path: Path) -> list[tuple]:
    return [(r["question_id"], r.get("model") or (r["model_1"], r["model_2"]), r["turn"]) for r in read_jsonl(path)]


def lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def await_lines(path: Path, n: int, proc: subprocess.Popen) -> None:
    """Wait until ``path`` holds ``n`` lines while ``proc`` still runs."""
    deadline = time.monotonic() + 120
    while lines(path) < n:
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.01)


def held(fd: int, at: int) -> bool:
    """Whether another process holds byte ``at`` of the lock file (a try that fails)."""
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, at)
    except OSError:
        return True
    fcntl.lockf(fd, fcntl.LOCK_UN, 1, at)
    return False


def start_together(data_dir: Path, api: FakeAPI, mode: str, n: int, *flags: str) -> list[subprocess.Popen]:
    """``n`` --share workers, released at the same moment: the test holds the lock's mutex until every one
    has taken its slot (they wait for the mutex to register), so their start-up times do not decide who works."""
    lock = output(data_dir, mode).with_name(output(data_dir, mode).name + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX, 1, MUTEX)
        procs = [start(data_dir, api, mode, "--share", *flags) for _ in range(n)]
        deadline = time.monotonic() + 120
        while not all(held(fd, SLOT + i) for i in range(n)):
            assert time.monotonic() < deadline and all(p.poll() is None for p in procs)
            time.sleep(0.05)
    finally:
        os.close(fd)  # frees the mutex
    return procs


def judged(err: str) -> int:
    """How many judgments a run wrote, from its end line ("gpt-4 on demo_bench: N judged, ...")."""
    line = next(x for x in err.splitlines() if x.startswith("gpt-4 on demo_bench:"))
    return int(line.split(": ", 1)[1].split(" judged")[0])


@pytest.mark.parametrize("workers, mode", [(2, "single"), (4, "single"), (2, "pairwise-all"), (4, "pairwise-all")])
def test_share_workers_buy_each_key_once(answered, workers, mode):
    with FakeAPI(api_key=KEY, reply=reply, latency=0.05) as api:
        procs = start_together(answered, api, mode, workers)
        results = [p.communicate(timeout=300) for p in procs]
    for proc, (_, err) in zip(procs, results):
        assert proc.returncode == 0, err
    got = keys(output(answered, mode))
    assert len(got) == len(set(got)) == KEYS[mode]  # one record per key
    assert api.stats.count(200) == api.stats.requests == CALLS[mode]  # one call per key and order...
    assert len(set(api.stats.prompts)) == CALLS[mode]  # ...each for a different prompt: none bought twice
    shares = [judged(err) for _, err in results]
    assert sum(shares) == KEYS[mode] and sum(1 for s in shares if s) >= 2  # the work was divided
    folder = output(answered, mode).parent
    assert not list(folder.glob("*.claims"))  # the last worker out removed the claims
    assert output(answered, mode).with_name(output(answered, mode).name + ".lock").read_text() == ""


def test_share_worker_killed_mid_way_is_finished_by_the_others(answered):
    out = output(answered, "single")
    with FakeAPI(api_key=KEY, reply=reply, latency=0.15) as api:
        procs = start_together(answered, api, "single", 3)
        victim = procs[0]
        await_lines(out, 12, victim)
        victim.send_signal(signal.SIGKILL)
        victim.communicate()
        written = set(keys(out))
        claims = [json.loads(x) for x in out.with_name(out.name + ".claims").read_text().splitlines()]
        dead = f"{socket.gethostname()} {victim.pid} "
        orphaned = {tuple(json.loads(c["key"])[1:]) for c in claims if c["by"].startswith(dead)}
        orphaned = {(q, m, t) for q, m, t in orphaned if (q, m, t) not in written}
        assert orphaned  # killed while it held keys it had not written
        results = [p.communicate(timeout=300) for p in procs[1:]]
    for proc, (_, err) in zip(procs[1:], results):
        assert proc.returncode == 0, err
    got = keys(out)
    assert len(got) == len(set(got)) == KEYS["single"] and orphaned <= set(got)
    assert not any(r.get("error") for r in read_jsonl(out))
    # every prompt bought; again only those of keys the victim had claimed and not written (its calls in flight,
    # and replies it had received and not yet written): at most its one claim of 4 x --parallel keys
    assert len(set(api.stats.prompts)) == KEYS["single"]
    assert KEYS["single"] <= api.stats.count(200) <= KEYS["single"] + len(orphaned) <= KEYS["single"] + 8


def test_second_run_refuses_in_one_line_and_wait_waits(answered):
    out = output(answered, "single")
    with FakeAPI(api_key=KEY, reply=reply, latency=0.1) as api:
        first = start(answered, api, "single")
        await_lines(out, 1, first)
        second = start(answered, api, "single")
        _, err = second.communicate(timeout=120)
        assert second.returncode == 2
        assert err.strip().splitlines() == [
            f"error: {out} is being written by host {socket.gethostname()} pid {first.pid}; rerun with --wait to wait "
            "for it, or give --share to every run writing it to divide the work"]
        waiting = start(answered, api, "single", "--wait")
        _, first_err = first.communicate(timeout=300)
        _, wait_err = waiting.communicate(timeout=300)
    assert first.returncode == 0 and waiting.returncode == 0, (first_err, wait_err)
    assert f"waiting for host {socket.gethostname()} pid {first.pid} to finish" in wait_err
    assert f"{KEYS['single']} already in" in wait_err  # it waited, then found everything done
    assert api.stats.count(200) == KEYS["single"] and len(keys(out)) == KEYS["single"]


def test_lock_of_a_killed_run_is_taken_over(answered):
    out = output(answered, "single")
    with FakeAPI(api_key=KEY, reply=reply, latency=0.1) as api:
        victim = start(answered, api, "single")
        await_lines(out, 5, victim)
        victim.send_signal(signal.SIGKILL)
        victim.communicate()
        left = json.loads(out.with_name(out.name + ".lock").read_text())
        assert (left["host"], left["pid"]) == (socket.gethostname(), victim.pid)  # the lock's text names the dead run
        rerun = start(answered, api, "single")
        _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    assert f"took over the lock left by host {socket.gethostname()} pid {victim.pid} (no longer running)" in err
    got = keys(out)
    assert len(got) == len(set(got)) == KEYS["single"]


def test_share_batch_worker_killed_its_batch_is_polled_by_the_others(data_dir, monkeypatch):
    """--batch --share: the batch a killed worker created is in the shared state file, and the worker that
    takes its keys polls that batch instead of buying them again."""
    use_keys(monkeypatch, KEY)
    with FakeAPI(api_key=KEY, reply=reply) as api:
        assert gen_model_answer.main(["--data-dir", str(data_dir), "--model-path", MODELS[0], "--max-new-token", "32",
                                      "--api-base", api.openai_base]) == 0
        out = data_dir / "single.jsonl"
        state = out.with_name(out.name + ".batches.json")
        flags = ["--output-file", str(out), "--batch", "--batch-poll", "0.05"]
        api.batches.delay = 3600  # in progress until the test says otherwise
        victim = start(data_dir, api, "single", "--share", *flags)
        deadline = time.monotonic() + 120
        while not (state.exists() and '"batch_0001"' in state.read_text()):
            assert time.monotonic() < deadline and victim.poll() is None
            time.sleep(0.02)
        victim.send_signal(signal.SIGKILL)
        victim.communicate()
        api.batches.delay = 0
        others = [start(data_dir, api, "single", "--share", *flags) for _ in range(2)]
        results = [p.communicate(timeout=300) for p in others]
    for proc, (_, err) in zip(others, results):
        assert proc.returncode == 0, err
    assert api.batches.created == ["batch_0001"]  # polled by the worker that took the keys, never resubmitted
    got = keys(out)
    assert len(got) == len(set(got)) == 27 and not any(r.get("error") for r in read_jsonl(out))
    lock = state.with_name(state.name + ".lock")
    assert not state.exists() and not lock.exists()  # nothing left: the state is settled


def test_share_answer_runs_answer_each_question_once(data_dir):
    """gen_model_answer --share: two processes on one answer file answer each question once (27 turns, 27 calls)."""
    out = data_dir / "demo_bench" / "model_answer" / "gpt-4o-mini.jsonl"
    env = dict(os.environ, OPENAI_API_KEY=KEY, PYTHONUNBUFFERED="1")
    env.pop("OPENAI_BASE_URL", None)
    with FakeAPI(api_key=KEY, reply=reply, latency=0.05) as api:
        cmd = [sys.executable, "-m", "llm_judge.gen_model_answer", "--data-dir", str(data_dir), "--model-path",
               "gpt-4o-mini", "--max-new-token", "32", "--api-base", api.openai_base, "--parallel", "2", "--share"]
        procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
        results = [p.communicate(timeout=300) for p in procs]
    for proc, (_, err) in zip(procs, results):
        assert proc.returncode == 0, err
    ids = [r["question_id"] for r in read_jsonl(out)]
    assert len(ids) == len(set(ids)) == 20 and ids == sorted(ids)  # the last one out sorted the file
    assert api.stats.count(200) == len(set(api.stats.prompts)) == 27


def test_share_workers_on_the_ja_vicuna_layout(answered):
    """The per-pair files of ja-vicuna-qa-benchmark's layout: each has its own lock and claims; two --share
    workers judge each key once into them."""
    with FakeAPI(api_key=KEY, reply=reply, latency=0.05) as api:
        procs = [start(answered, api, "pairwise-all", "--share", "--judgment-layout", "ja-vicuna") for _ in range(2)]
        results = [p.communicate(timeout=300) for p in procs]
    for proc, (_, err) in zip(procs, results):
        assert proc.returncode == 0, err
    folder = answered / "demo_bench" / "model_judgment" / "pairwise" / "gpt-4"
    rows = read_jsonl(folder / f"pairwise:{MODELS[0]}_{MODELS[1]}.jsonl")
    got = [(r["question_id"], r.get("turn", 1)) for r in rows]
    assert len(got) == len(set(got)) == KEYS["pairwise-all"]
    assert api.stats.count(200) == len(set(api.stats.prompts)) == CALLS["pairwise-all"]
    assert not list(folder.glob("*.claims"))
