"""The llamacpp engine on the bundled GGUF as it is: batching that changes no answer, seeded sampling, stop strings,
the repetition penalty, chat templates, distribution judging against the transformers engine, and the provider rule
that picks it for GGUF files."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import require

require("llama_cpp", "llamacpp")
pytestmark = pytest.mark.model

from llm_judge.cli import gen_judgment, gen_model_answer  # noqa: E402
from llm_judge.engines.base import GenRequest  # noqa: E402
from llm_judge.engines.chat_templates import load_template  # noqa: E402
from llm_judge.engines.config import EngineConfig, HFOptions  # noqa: E402
from llm_judge.engines.llamacpp import LlamaCppModel, Row  # noqa: E402
from llm_judge.engines.registry import load, resolve, split_provider  # noqa: E402
from llm_judge.engines.weights import bundled_gguf  # noqa: E402
from llm_judge.errors import ConfigError  # noqa: E402

QUESTIONS = ["What is the capital of France?", "Write a haiku about the sea.", "Name three colors.",
             "Explain in one sentence why the sky is blue."]


@pytest.fixture(scope="module")
def model():
    with LlamaCppModel(None, "smollm2-135m-instruct") as m:
        yield m


def ask(question: str, **settings) -> GenRequest:
    return GenRequest([{"role": "user", "content": question}], **settings)


# -- which engine a model gets -------------------------------------------------------------------------

def test_gguf_files_and_the_default_model_go_to_llamacpp(tmp_path):
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"")
    assert split_provider(None) == ("llamacpp", None)
    assert split_provider("default")[0] == "llamacpp"
    assert split_provider(str(gguf))[0] == "llamacpp"
    assert split_provider(str(tmp_path))[0] == "hf"  # a folder: transformers
    assert split_provider("default", engine="hf") == ("hf", "default")  # --engine hf converts the GGUF
    assert resolve("default").local and resolve("default").name == "smollm2-135m-instruct"


@pytest.mark.parametrize("options, flag", [(HFOptions(dtype="float32"), "--dtype float32"),
                                           (HFOptions(lora_path="adapter"), "--lora-model"),
                                           (HFOptions(revision="main"), "--revision")])
def test_settings_only_transformers_honours_are_refused_before_loading(options, flag):
    with pytest.raises(ConfigError, match=f"does not take {flag}.*--engine hf"):
        load(EngineConfig("llamacpp", None, "x", hf=options))


def test_a_path_that_is_not_gguf_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="reads GGUF files"):
        LlamaCppModel(str(tmp_path), "x")


# -- prompts ------------------------------------------------------------------------------------------

def test_the_gguf_chat_template_renders_as_transformers_renders_it(model, default_model_path):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(default_model_path)
    chats = [[{"role": "user", "content": "日本の首都は？"}],
             [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
              {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "Bye"}]]
    for messages in chats:
        want = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        assert model.render(GenRequest(messages)) == want
        assert model.gguf.tokenize(want) == tok(want, add_special_tokens=False)["input_ids"]


def test_a_template_given_replaces_the_gguf_one(default_model_path):
    from llm_judge.engines.hf import load_tokenizer

    opts = HFOptions(chat_template=load_template("vicuna"))
    with LlamaCppModel(None, "x", opts) as m:
        text = m.render(ask("Hi"))
    assert text.endswith("USER: Hi ASSISTANT:") and "<|im_end|>" not in text
    tok = load_tokenizer(default_model_path, opts)  # the transformers engine's prompt, BOS included
    assert text == tok.apply_chat_template([{"role": "user", "content": "Hi"}], tokenize=False,
                                           add_generation_prompt=True)


# -- answers ------------------------------------------------------------------------------------------

def test_greedy_answers_do_not_depend_on_the_batch(model):
    reqs = [ask(q, max_new_tokens=24) for q in QUESTIONS]
    together = model.generate(reqs)
    alone = [model.generate([r])[0] for r in reqs]
    assert [r.text for r in together] == [r.text for r in alone]
    assert all(r.ok and r.text and r.completion_tokens <= 24 for r in together)
    assert {r.finish_reason for r in together} <= {"stop", "length"}
    assert together[0].prompt_tokens == len(model.gguf.tokenize(model.render(reqs[0])))


def test_seeded_samples_follow_the_seed_not_the_batch(model):
    reqs = [ask(q, max_new_tokens=16, temperature=0.7, seed=100 + k) for k, q in enumerate(QUESTIONS)]
    together = [r.text for r in model.generate(reqs)]
    alone = [model.generate([r])[0].text for r in reversed(reqs)][::-1]
    assert together == alone
    other = [r.text for r in model.generate([ask(q, max_new_tokens=16, temperature=0.7, seed=7) for q in QUESTIONS])]
    assert other != together
    greedy = [r.text for r in model.generate([ask(q, max_new_tokens=16) for q in QUESTIONS])]
    assert together != greedy


def test_a_stop_string_ends_the_answer_and_stays_in_it(model):
    full = model.generate([ask(QUESTIONS[1], max_new_tokens=48)])[0]
    word = full.text.split()[3]
    stopped = model.generate([ask(QUESTIONS[1], max_new_tokens=48, stop=[word])])[0]
    assert stopped.finish_reason == "stop" and stopped.text.endswith(word.rstrip(".,"))
    assert full.text.startswith(stopped.text) and stopped.completion_tokens < full.completion_tokens


def test_the_repetition_penalty_is_transformers_rule_over_prompt_and_answer():
    row = Row(0, 0, ask("x", repetition_penalty=2.0), prompt=[1, 2])
    row.new = [3]
    logits = np.array([4.0, 3.0, -1.0, 2.5, 0.5], dtype=np.float32)
    # token 1: 3.0 / 2 = 1.5; token 2: -1 * 2 = -2; token 3: 2.5 / 2 = 1.25; so token 0 (4.0) stays first,
    # and without token 0 token 4 (0.5) would lose to token 1 (1.5)
    assert row.pick(logits) == 0
    logits[0] = -9.0
    assert row.pick(logits) == 1
    logits[1] = 0.0
    assert row.pick(logits) == 3  # 1.25 against 0.5 (token 4) and 0.0 (token 1, penalised: 0.0)


def test_the_penalty_changes_a_repetitive_answer(model):
    plain = model.generate([ask("Repeat the word 'cat' many times.", max_new_tokens=24)])[0]
    penalised = model.generate([ask("Repeat the word 'cat' many times.", max_new_tokens=24,
                                    repetition_penalty=1.5)])[0]
    assert penalised.text != plain.text


# -- distribution judging ------------------------------------------------------------------------------

def test_label_probabilities_sum_to_one_and_two_token_labels_are_scored(model):
    req = ask("Rate the answer 'Paris' to 'What is the capital of France?' from 1 to 10.", prefill="Rating: [[",
              score_choices=[str(i) for i in range(1, 11)], score_suffix="]]")
    a, b = model.generate([req, req])
    assert a.distribution == b.distribution and sum(a.distribution.values()) == pytest.approx(1.0)
    assert a.text == f"Rating: [[{max(a.distribution, key=a.distribution.get)}]]" and a.finish_reason == "score"
    assert a.distribution["10"] > 0.01  # "1" then "0": not folded into "1"


def test_demo_judgments_match_transformers_on_the_dequantized_weights(tmp_path, default_model_path):
    """Each label's probability against the transformers engine's (float32, on the GGUF's de-quantized weights), on
    the demo's single and pairwise judgments of the default model's greedy answers (its first 8 questions), for two
    files: the bundled Q4_1 file, and the same weights de-quantized into a float32 GGUF (tests/gguf_f32.py).
    Measured 2026-12-07 (AMD EPYC, avx2; `pytest -s` prints it): on the float32 file the worst difference is 0.0012
    (single) / 0.0006 (pairwise-all), median 0.0001: the engines, their templates and label tries agree. On the
    Q4_1 file, median 0.005 / 0.006 and worst 0.048 / 0.024: llama.cpp multiplies Q4_1 weights with activations
    quantized to 8 bits (Q8_1), transformers the same weights with float32 activations."""
    from conftest import copy_demo_bench
    from gguf_f32 import dequantized_copy

    data = copy_demo_bench(tmp_path)
    for extra in ([], ["--model-id", "terse", "--system-prompt", "Answer in one or two short sentences."]):
        assert gen_model_answer.main(["--data-dir", str(data), "--max-new-token", "24", "--question-end", "8",
                                      "--temperature", "0", *extra]) == 0  # greedy: the same answers each run
    f32 = dequantized_copy(Path(bundled_gguf()), tmp_path / "smollm2-f32.gguf")
    judges = {"hf": ["default", "hf"], "q4_1": ["default", "llamacpp"], "f32": [str(f32), "llamacpp"]}
    judged = {}
    for name, (judge, engine) in judges.items():
        for mode in ("single", "pairwise-all"):
            out = tmp_path / f"{name}-{mode}.jsonl"
            assert gen_judgment.main(["--data-dir", str(data), "--judge-model", judge, "--judge-engine", engine,
                                      "--judge-method", "distribution", "--mode", mode, "--output-file", str(out),
                                      "--model-list", "smollm2-135m-instruct", "terse"]) == 0
            judged[name, mode] = sorted((json.loads(line) for line in out.open()), key=key)
    for mode in ("single", "pairwise-all"):
        ref = judged["hf", mode]
        for name, median_at_most, worst_at_most in (("f32", 0.001, 0.005), ("q4_1", 0.01, 0.05)):
            fast = judged[name, mode]
            assert len(fast) == len(ref) >= 8 and [key(r) for r in fast] == [key(r) for r in ref]
            gaps = sorted(abs(a - b) for x, y in zip(fast, ref) for a, b in zip(*distributions(x, y)))
            median, worst = gaps[len(gaps) // 2], gaps[-1]
            print(f"{mode} {name} vs transformers: {len(gaps)} probabilities, median {median:.4f}, worst {worst:.4f}")
            assert median <= median_at_most and worst <= worst_at_most, (mode, name, median, worst)


def key(record: dict) -> str:
    fields = ("question_id", "model", "model_1", "model_2", "turn")  # not the judge: the files' names differ
    return json.dumps([record.get(k) for k in fields], default=str)


def distributions(a: dict, b: dict) -> tuple[list[float], list[float]]:
    found = [(k, v) for k, v in a.items() if k.endswith("_distribution") and v]
    assert found, a
    xs, ys = [], []
    for k, v in found:
        assert set(v) == set(b[k])
        xs += [v[label] for label in sorted(v)]
        ys += [b[k][label] for label in sorted(v)]
    return xs, ys


def test_the_bundled_file_is_the_one_loaded(model):
    assert model.path == bundled_gguf() and model.describe()["gguf"] == Path(bundled_gguf()).name
