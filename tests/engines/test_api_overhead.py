"""What keeps API judging close to its floor: the first calls go out before ``stream`` returns, and an API run
imports no heavy library.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fakeapi import FakeAPI, use_keys
from llm_judge.engines.base import GenRequest
from llm_judge.engines.config import APIOptions, EngineConfig
from llm_judge.engines.registry import load
from llm_judge.jsonl import read_jsonl

pytestmark = pytest.mark.api

KEY = "sk-test-key"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def keys(monkeypatch):
    use_keys(monkeypatch, KEY)


def engine(api: FakeAPI, provider: str, **kw):
    base = api.base_for(provider)
    return load(EngineConfig(provider, "judge-x", "judge-x", api=APIOptions(api_base=base, **kw)))


def requests(n: int) -> list[GenRequest]:
    return [GenRequest([{"role": "user", "content": f"Rate answer {i}."}], max_new_tokens=32) for i in range(n)]


def test_stream_returns_once_the_first_calls_are_in_flight():
    with FakeAPI(latency=0.6) as api, engine(api, "openai", parallel=8) as model:
        results = model.stream(requests(20))
        returned = time.time()
        # The server saw the first call before stream() returned, and all 8 arrive without anyone iterating.
        assert api.stats.first_request is not None and api.stats.first_request <= returned
        deadline = time.monotonic() + 0.4
        while api.stats.in_flight < 8 and time.monotonic() < deadline:
            time.sleep(0.005)
        assert api.stats.in_flight == 8 and api.stats.count(200) == 0
        got = dict(results)
    assert sorted(got) == list(range(20)) and all(r.ok for r in got.values())


def test_an_api_run_imports_no_heavy_library(data_dir, tmp_path):
    bench = data_dir / "demo_bench"
    questions = read_jsonl(bench / "question.jsonl")
    (bench / "model_answer").mkdir(exist_ok=True)
    answers = [{"question_id": q["question_id"], "answer_id": f"a{q['question_id']}", "model_id": "m",
                "choices": [{"index": 0, "turns": ["An answer."] * len(q["turns"])}], "tstamp": 0.0}
               for q in questions]
    (bench / "model_answer" / "m.jsonl").write_text("".join(json.dumps(a) + "\n" for a in answers))
    probe = ("import sys; from llm_judge.cli import gen_judgment; rc = gen_judgment.main(sys.argv[1:]); "
             "print(' '.join(sorted(m for m in sys.modules if '.' not in m)))")
    with FakeAPI(latency=0.0) as api:
        env = dict(os.environ, OPENAI_API_KEY=KEY, PYTHONPATH=str(REPO))
        proc = subprocess.run([sys.executable, "-c", probe, "--data-dir", str(data_dir), "--judge-model", "gpt-4",
                               "--api-base", api.openai_base, "--parallel", "8"],
                              env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    loaded = set(proc.stdout.split())
    assert "openai" in loaded and "aiohttp" in loaded
    assert not loaded & {"torch", "transformers", "pandas", "matplotlib", "vllm", "ray", "numpy", "anthropic"}
