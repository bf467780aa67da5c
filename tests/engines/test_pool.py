"""Ray worker pool: CPU workers give the same greedy answers as one in-process engine, each question once,
and a worker that dies mid-shard is replaced without losing what was already done."""
from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import pytest

from conftest import require
from llm_judge.cli import gen_judgment, gen_model_answer
from llm_judge.engines.base import GenRequest
from llm_judge.engines.hf import HFModel, HFOptions
from llm_judge.engines.pool import PoolOptions, RayPool, balanced_shards

pytestmark = pytest.mark.ray

ray = require("ray", "ray")  # skipped without Ray, failed under CI=true


@pytest.fixture(scope="module")
def ray_session():
    """One local Ray instance for the module (pools join it instead of starting their own)."""
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
    # Test-made engine builders (below) are shipped to the workers by value: the workers cannot import tests.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield
    ray.shutdown()


def test_balanced_shards_cover_each_request_once_and_even_out_work():
    reqs = [GenRequest([{"role": "user", "content": "x" * (40 * (i % 7))}], max_new_tokens=(64 if i % 3 else 512))
            for i in range(50)]
    shards = balanced_shards(reqs, 4)
    assert sorted(i for s in shards for i in s) == list(range(50))
    assert all(s == sorted(s) for s in shards)
    work = [sum(reqs[i].max_new_tokens for i in s) for s in shards]
    assert max(work) - min(work) <= 512
    assert sorted(balanced_shards(reqs[:3], 8)) == [[0], [1], [2]]  # never an empty shard


def answers(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.open()]


@pytest.mark.model
def test_two_cpu_workers_answer_like_one_engine(ray_session, data_dir):
    # Questions 1-3 of the demo bench; question 2 has two turns, so turn 2 is sharded again.
    # float32: each worker batches its own shard, and bfloat16 rounding depends on the rows batched together.
    common = ["--data-dir", str(data_dir), "--question-end", "3", "--max-new-token", "8", "--temperature", "0",
              "--dtype", "float32", "--engine", "hf"]
    assert gen_model_answer.main(common + ["--model-id", "one"]) == 0
    assert gen_model_answer.main(common + ["--model-id", "two", "--num-workers", "2"]) == 0
    out = data_dir / "demo_bench" / "model_answer"
    one, two = answers(out / "one.jsonl"), answers(out / "two.jsonl")
    assert [r["question_id"] for r in two] == [1, 2, 3]  # each question exactly once, in bench order
    assert [r["choices"] for r in two] == [r["choices"] for r in one]
    assert len(two[1]["choices"][0]["turns"]) == 2
    assert two[0]["generation"]["ray_workers"] == 2 and two[0]["generation"]["engine"] == "hf"
    # A rerun finds everything answered and starts no worker.
    assert gen_model_answer.main(common + ["--model-id", "two", "--num-workers", "2"]) == 0
    assert len(answers(out / "two.jsonl")) == 3


class CrashOnce:
    """Builds the default model; the first worker to build it kills its own process after one result."""

    def __init__(self, marker: str):
        self.marker = marker

    def __call__(self):
        model = HFModel(None, "smol", HFOptions(batch_size=1, dtype="float32"))
        try:
            os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL))  # only one worker ever crashes
        except FileExistsError:
            return model
        stream = model.stream

        def crashing(requests):
            for item in stream(requests):
                yield item
                os._exit(1)  # a hard crash: no exception, no clean-up

        model.stream = crashing
        return model


@pytest.mark.model
def test_dead_worker_is_replaced_and_its_shard_finished(ray_session, tmp_path, caplog):
    reqs = [GenRequest([{"role": "user", "content": q}], max_new_tokens=6)
            for q in ("Name a color.", "Name a fruit.", "Name a city.")]
    reqs.append(GenRequest([{"role": "user", "content": "Is the sky blue? Answer 1 (no) or 2 (yes)."}],
                           max_new_tokens=1, prefill="[[", score_choices=["1", "2"], score_suffix="]]"))
    expected = HFModel(None, "smol", HFOptions(batch_size=1, dtype="float32")).generate(reqs)
    marker = tmp_path / "crashed"
    with RayPool(CrashOnce(str(marker)), PoolOptions(workers=1, max_retries=2), name="smol") as pool:
        with caplog.at_level(logging.WARNING, logger="llm_judge.engines.pool"):
            got = dict(pool.stream(reqs))
    assert marker.exists() and "worker 0 failed" in caplog.text
    assert sorted(got) == [0, 1, 2, 3]
    assert [got[i].text for i in range(3)] == [r.text for r in expected[:3]]
    assert got[3].distribution == pytest.approx(expected[3].distribution, abs=1e-4)


def test_judging_through_workers(ray_session, data_dir):
    questions = [json.loads(line) for line in (data_dir / "demo_bench" / "question.jsonl").open()][:2]
    answer_dir = data_dir / "demo_bench" / "model_answer"
    answer_dir.mkdir()
    for model_id, text in (("a", "I am not sure."), ("b", "Here is a careful, complete answer.")):
        with (answer_dir / f"{model_id}.jsonl").open("w") as fh:
            for q in questions:
                turns = [f"{text} ({i + 1})" for i in range(len(q["turns"]))]
                fh.write(json.dumps({"question_id": q["question_id"], "model_id": model_id,
                                     "choices": [{"index": 0, "turns": turns}]}) + "\n")
    # The mock judge (no weights to load) in two CPU workers, against the same judge in this process.
    common = ["--data-dir", str(data_dir), "--judge-model", "mock:judge", "--mode", "single",
              "--judge-method", "distribution"]
    out = data_dir / "demo_bench" / "model_judgment"
    assert gen_judgment.main(common + ["--num-workers", "2", "--output-file", str(out / "pool.jsonl")]) == 0
    assert gen_judgment.main(common + ["--output-file", str(out / "one.jsonl")]) == 0
    recs = answers(out / "pool.jsonl")
    assert sorted((r["model"], r["question_id"], r["turn"]) for r in recs) == \
        [("a", 1, 1), ("a", 2, 1), ("a", 2, 2), ("b", 1, 1), ("b", 2, 1), ("b", 2, 2)]
    assert all(r["score"] is not None and not r.get("error") for r in recs)
    one = {(r["model"], r["question_id"], r["turn"]): r["score_distribution"] for r in answers(out / "one.jsonl")}
    assert {(r["model"], r["question_id"], r["turn"]): r["score_distribution"] for r in recs} == one
