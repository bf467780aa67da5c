"""Kill gen_judgment --batch with SIGKILL while it polls, rerun: the same batch is resumed, never resubmitted.

gen_judgment runs as a real process against the loopback server (in this process, so the server
outlives the kill and counts every batch created). The kill comes once the batch is saved in
``<output>.batches.json``; the rerun must poll that batch (the server sees one create), write each
key exactly once, and leave no state file behind; a third run submits nothing.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fakeapi import FakeAPI, use_keys
from fakeapi import answer_or_judge as reply
from llm_judge.cli import gen_judgment, gen_model_answer
from llm_judge.jsonl import read_jsonl

pytestmark = pytest.mark.api

KEY = "sk-test-0123456789-SECRET"
MODELS = ["gpt-3.5-turbo", "gpt-4o-mini"]
TURNS_SINGLE = 27  # single judgments of one model on the demo bench
MATCHES = 27  # pairwise-all over two models on the demo bench: 27 turns, two games each


def saved_batch(path: Path) -> bool:
    """The state file names a created batch (OpenAI's file first holds only the uploaded input file's id)."""
    try:
        return any(b.get("id") for b in json.loads(path.read_text(encoding="utf-8"))["batches"])
    except (OSError, ValueError, KeyError):
        return False


def wait_for(path: Path, proc: subprocess.Popen, limit: float = 120.0) -> None:
    deadline = time.monotonic() + limit
    while not saved_batch(path) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert saved_batch(path), f"no batch saved: {proc.communicate() if proc.poll() is not None else 'timed out'}"


def answered_for_gpt4(data_dir: Path, api: FakeAPI, *extra: str) -> tuple[Path, Path, list[str]]:
    """One model's answers, and gen_judgment's arguments for single --batch judgments of them by gpt-4:
    (judgment file, its batch state file, arguments)."""
    assert gen_model_answer.main(["--data-dir", str(data_dir), "--model-path", MODELS[0], "--max-new-token", "32",
                                  "--api-base", api.openai_base]) == 0
    out = data_dir / "single.jsonl"
    args = ["--data-dir", str(data_dir), "--judge-model", "gpt-4", "--output-file", str(out),
            "--api-base", api.openai_base, "--batch", "--batch-poll", "0.02", *extra]
    return out, Path(str(out) + ".batches.json"), args


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_sigkill_while_polling_resumes_the_same_batch(data_dir, monkeypatch, provider):
    use_keys(monkeypatch, KEY)
    with FakeAPI(api_key=KEY, reply=reply) as api:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", api.url)
        judge = ["--judge-model", "gpt-4", "--api-base", api.openai_base] if provider == "openai" else \
            ["--judge-model", "claude-3-haiku-20240307"]
        for model in MODELS:
            assert gen_model_answer.main(["--data-dir", str(data_dir), "--model-path", model, "--max-new-token", "32",
                                          "--api-base", api.openai_base]) == 0
        out = data_dir / "pairs.jsonl"
        state = Path(str(out) + ".batches.json")
        args = ["--data-dir", str(data_dir), *judge, "--mode", "pairwise-all", "--output-file", str(out),
                "--batch", "--batch-poll", "0.05"]
        api.batches.delay = 3600  # the batch stays in progress until the test says otherwise
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        proc = subprocess.Popen([sys.executable, "-m", "llm_judge.gen_judgment", *args], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for(state, proc)
        time.sleep(0.3)  # let it poll a few times
        assert proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate()
        saved = json.loads(state.read_text())["batches"]
        first = "batch_0001" if provider == "openai" else "msgbatch_0001"
        assert [b["id"] for b in saved] == api.batches.created == [first]
        assert len(saved[0]["requests"]) == 2 * MATCHES
        assert f"{first} in_progress" in err and not out.exists()

        api.batches.delay = 0  # the batch has finished meanwhile
        assert gen_judgment.main(args) == 0
        assert api.batches.created == [first]  # polled again, never resubmitted
        rows = read_jsonl(out)
        keys = [(r["question_id"], r["model_1"], r["model_2"], r["turn"]) for r in rows]
        assert len(keys) == len(set(keys)) == MATCHES and not any(r.get("error") for r in rows)
        assert all(r["g1_winner"] and r["g2_winner"] for r in rows)
        assert not state.exists()

        assert gen_judgment.main(args) == 0  # everything judged: nothing submitted, nothing written
        assert api.batches.created == [first] and len(read_jsonl(out)) == MATCHES
        for f in data_dir.rglob("*"):
            if f.is_file():
                assert KEY not in f.read_text(encoding="utf-8", errors="replace"), f
        assert KEY not in err


def test_a_changed_request_is_not_answered_by_a_saved_batch(data_dir, monkeypatch):
    """A saved batch answers only the very request it holds: another judge budget means a new batch."""
    use_keys(monkeypatch, KEY)
    with FakeAPI(api_key=KEY, reply=reply) as api:
        out, state, args = answered_for_gpt4(data_dir, api, "--first-n", "3")
        api.batches.delay = 3600
        proc = subprocess.Popen([sys.executable, "-m", "llm_judge.gen_judgment", *args, "--judge-max-new-token", "100"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for(state, proc)
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        api.batches.delay = 0
        assert gen_judgment.main(args + ["--judge-max-new-token", "200"]) == 0
        assert api.batches.created == ["batch_0001", "batch_0002"]
        bodies = [json.loads(x)["body"] for x in api.batches.uploads[1].decode().splitlines()]
        assert {b["max_tokens"] for b in bodies} == {200}  # a --api-base server gets max_tokens
        # the first batch answers other requests than this run's: it stays saved for a run that asks for them
        assert [b["id"] for b in json.loads(state.read_text())["batches"]] == ["batch_0001"]


def test_answers_killed_in_turn_two_resume_both_turns_batches(data_dir, monkeypatch):
    """Turn 2's batch waits on turn 1's answers: a kill while turn 2 runs costs neither batch again."""
    use_keys(monkeypatch, KEY)
    with FakeAPI(api_key=KEY, reply=reply) as api:
        args = ["--data-dir", str(data_dir), "--model-path", "gpt-4o-mini", "--max-new-token", "32",
                "--api-base", api.openai_base]
        live, batch = data_dir / "live.jsonl", data_dir / "batch.jsonl"
        state = Path(str(batch) + ".batches.json")
        assert gen_model_answer.main(args + ["--answer-file", str(live)]) == 0
        api.batches.delay = lambda number: 0 if number == 1 else 3600  # turn 1 done at once, turn 2 hangs
        cmd = [sys.executable, "-m", "llm_judge.gen_model_answer", *args, "--answer-file", str(batch), "--batch",
               "--batch-poll", "0.05"]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while len(api.batches.created) < 2 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        assert len(json.loads(state.read_text())["batches"]) == 2 and not batch.exists()
        api.batches.delay = 0
        assert gen_model_answer.main(args + ["--answer-file", str(batch), "--batch", "--batch-poll", "0.05"]) == 0
        assert api.batches.created == ["batch_0001", "batch_0002"]
        strip = lambda rows: [{k: v for k, v in r.items() if k not in ("answer_id", "tstamp")} for r in rows]
        assert strip(read_jsonl(batch)) == strip(read_jsonl(live)) and not state.exists()


def test_killed_during_the_create_call_finds_the_batch_by_its_input_file(data_dir, monkeypatch):
    """OpenAI: the input file id is saved before the create call; a kill before its answer arrives loses nothing."""
    use_keys(monkeypatch, KEY)
    with FakeAPI(api_key=KEY, reply=reply) as api:
        out, state, args = answered_for_gpt4(data_dir, api)
        api.batches.stall_create = True  # the batch is created, but its creator never hears back
        proc = subprocess.Popen([sys.executable, "-m", "llm_judge.gen_judgment", *args],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while not api.batches.created and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        saved = json.loads(state.read_text())["batches"]
        assert [(b["id"], b["status"], b["input_file"]) for b in saved] == [("", "creating", "file-1")]
        api.batches.stall_create = False
        assert gen_judgment.main(args) == 0
        assert api.batches.created == ["batch_0001"] and len(read_jsonl(out)) == TURNS_SINGLE
        assert not state.exists()
