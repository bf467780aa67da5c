"""API distribution judging through vLLM's OpenAI server (the CPU build) on the default model.

The label probabilities our reader takes from ``top_logprobs`` must equal, to 1e-3, what transformers computes
in this process (float32) at the same position of the same generated text, teacher-forced: the chat-formatted
prompt plus the judgment up to the verdict label's token, one forward pass, softmax, renormalised over the
same labels. Few-shot prompts make the 135M model write verdicts in our formats ("[[B]]", "[RESULT] 2").

The server runs as its own process (``python -m vllm.entrypoints.openai.api_server``, started in a new
session and ended by its process group): nothing here is re-imported by vLLM's spawned workers.
"""
from __future__ import annotations

import math
import os
import sys

import pytest

from conftest import require
from servers import running_server
from llm_judge.engines.base import GenRequest
from llm_judge.engines.config import APIOptions
from llm_judge.engines.registry import open_engine, resolve
from llm_judge.judging import api_distribution as ad
from llm_judge.judging.families import load_family
from llm_judge.judging.verdicts import parse_pair, parse_prometheus_absolute, parse_rating

require("vllm", "vllm")
pytestmark = [pytest.mark.slow, pytest.mark.vllm, pytest.mark.model]

STARTUP_S = 900  # a cold vLLM CPU start on a small, busy CPU machine


@pytest.fixture(scope="module")
def server(default_model_path):
    def command(port: int) -> list[str]:
        return [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", default_model_path,
                "--served-model-name", "smol", "--dtype", "float32", "--port", str(port), "--max-model-len", "4096"]

    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "2"}
    with running_server("vLLM", command, "/health", STARTUP_S, env=env, poll_s=2) as base:
        yield base


PAIR_FORMAT = "Compare the two answers and end with your verdict: [[A]] if A is better, [[B]] if B is better, [[C]] for a tie."
PAIR_SHOTS = [
    {"role": "user", "content": f"{PAIR_FORMAT}\nQuestion: What is 3+3?\nA: 6\nB: 7"},
    {"role": "assistant", "content": "A is correct, B is wrong. [[A]]"},
    {"role": "user", "content": f"{PAIR_FORMAT}\nQuestion: Name a color.\nA: table\nB: blue"},
    {"role": "assistant", "content": "B names a color, A does not. [[B]]"}]
GRADE_FORMAT = "Rate the answer from 1 to 5 and end with '[RESULT] N'."
GRADE_SHOTS = [
    {"role": "user", "content": f"{GRADE_FORMAT}\nQuestion: What is 3+3?\nAnswer: 6"},
    {"role": "assistant", "content": "Correct and concise. [RESULT] 5"},
    {"role": "user", "content": f"{GRADE_FORMAT}\nQuestion: Name a color.\nAnswer: table"},
    {"role": "assistant", "content": "A table is not a color. [RESULT] 1"}]
QUESTIONS = [("What is the capital of France?", "Paris", "London"), ("What is 10 times 10?", "1000", "100"),
             ("Who wrote Hamlet?", "Shakespeare", "Shakespeare"), ("Largest planet?", "Mars", "Jupiter"),
             ("How many legs does a spider have?", "8", "6"), ("What color is the sky on a clear day?", "green", "blue"),
             ("What is the boiling point of water at sea level?", "100 degrees Celsius", "50 degrees Celsius")]


RATE_FORMAT = "Rate the answer from 1 to 10 and end with 'Rating: [[N]]'."
RATE_SHOTS = [
    {"role": "user", "content": f"{RATE_FORMAT}\nQuestion: What is 3+3?\nAnswer: 6"},
    {"role": "assistant", "content": "Correct and concise. Rating: [[10]]"},
    {"role": "user", "content": f"{RATE_FORMAT}\nQuestion: Name a color.\nAnswer: table"},
    {"role": "assistant", "content": "A table is not a color. Rating: [[2]]"}]


def cases() -> list[tuple[list[dict[str, str]], GenRequest, object]]:
    """(messages, label request, parser): our pairwise [[A]]/[[B]]/[[C]] and Prometheus' 1-5 grades."""
    pair = load_family(None).distribution["pairwise"][0]
    grade = load_family("prometheus").distribution["single"][0]
    out = []
    for q, a, b in QUESTIONS:
        out.append((PAIR_SHOTS + [{"role": "user", "content": f"{PAIR_FORMAT}\nQuestion: {q}\nA: {a}\nB: {b}"}],
                    GenRequest([], prefill=pair.prefill_for("en"), score_choices=list(pair.labels),
                               score_suffix=pair.suffix), parse_pair))
        out.append((GRADE_SHOTS + [{"role": "user", "content": f"{GRADE_FORMAT}\nQuestion: {q}\nAnswer: {a}"}],
                    GenRequest([], prefill=grade.prefill_for("en"), score_choices=list(grade.labels),
                               score_suffix=grade.suffix), parse_prometheus_absolute))
    return out


def next_token_probs(model, tokenizer, messages, prefix: str, prompt_tokens: int | None = None):
    """transformers' (float32) next-token probabilities after the chat-formatted prompt and ``prefix``."""
    import torch

    prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    if prompt_tokens is not None:  # the server formatted the same prompt
        assert len(tokenizer(prompt, add_special_tokens=False).input_ids) == prompt_tokens
    ids = tokenizer(prompt + prefix, add_special_tokens=False, return_tensors="pt").input_ids
    with torch.inference_mode():
        return torch.softmax(model(input_ids=ids).logits[0, -1].float(), dim=-1)


def token_id(tokenizer, text: str) -> int:
    ids = tokenizer(text, add_special_tokens=False).input_ids
    assert len(ids) == 1, (text, ids)  # SmolLM2 writes each digit, A/B/C and "]]" as one token
    return ids[0]


def normalised(p: dict[str, float]) -> dict[str, float]:
    z = sum(p.values())
    return {k: v / z for k, v in p.items()}


def teacher_forced(model, tokenizer, messages, prefix: str, labels: list[str],
                   prompt_tokens: int) -> dict[str, float]:
    """transformers' probability of each (one-token) label after the prompt and ``prefix``, renormalised."""
    probs = next_token_probs(model, tokenizer, messages, prefix, prompt_tokens)
    return normalised({label: float(probs[token_id(tokenizer, label)]) for label in labels})


def test_top_logprobs_match_transformers_teacher_forced(server, default_model_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    engine = open_engine(resolve("openai:smol", api=APIOptions(api_base=server, parallel=4)))
    todo = cases()
    try:
        results = engine.generate([GenRequest(m, max_new_tokens=60, top_logprobs=ad.TOP_LOGPROBS) for m, _, _ in todo])
    finally:
        engine.close()
    tokenizer = AutoTokenizer.from_pretrained(default_model_path)
    model = AutoModelForCausalLM.from_pretrained(default_model_path, dtype=torch.float32).eval()
    compared = {parse_pair: 0, parse_prometheus_absolute: 0}
    for (messages, spec, parse), result in zip(todo, results):
        assert result.ok and result.token_logprobs, result.error
        read = ad.read_distribution(result, spec, parse)
        if read.ok and read.distribution is None:
            continue  # the small model wrote no verdict in the format (e.g. "[RESULT] 1000"): nothing to compare
        assert read.ok, (result.text, read.error)
        p, _ = ad.verdict_span(result.text, ad.label_values(spec, parse), parse)
        i, offset = ad.token_at(result.token_logprobs, result.text, p)
        assert offset == 0  # SmolLM2 starts a token at each of these labels
        prefix = b"".join(t.token for t in result.token_logprobs[:i]).decode("utf-8")
        want = teacher_forced(model, tokenizer, messages, prefix, list(read.distribution), result.prompt_tokens)
        for label, q in read.distribution.items():
            assert q == pytest.approx(want[label], abs=1e-3), (result.text, label, read.distribution, want)
        compared[parse] += 1
    # measured: 2 pairwise verdicts and 4 grades of the 7 questions; the rest wrote no verdict in the format
    assert compared[parse_pair] >= 1 and compared[parse_prometheus_absolute] >= 3, [r.text for r in results]


def test_two_token_labels_and_continuations_match_transformers(server, default_model_path):
    """1-10 ratings: SmolLM2 writes "10" as "1", "0". Where the judge wrote "1", P(10) = P("1")·P("0"|"1") and
    P(1) = P("1")·P(closing tokens such as "]]"|"1"), read from its next token; transformers gives the same
    products. A continuation request from "...[[1" (what splits an untaken "1") returns the same next-token
    probabilities as the judge's own next token and as transformers."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    spec0 = load_family(None).distribution["single"][0]
    spec = GenRequest([], prefill=spec0.prefill_for("en"), score_choices=list(spec0.labels), score_suffix=spec0.suffix)
    chats = [RATE_SHOTS + [{"role": "user", "content": f"{RATE_FORMAT}\nQuestion: {q}\nAnswer: {a}"}]
             for q, a, _ in QUESTIONS[:4]]
    engine = open_engine(resolve("openai:smol", api=APIOptions(api_base=server, parallel=4)))
    try:
        results = engine.generate([GenRequest(m, max_new_tokens=40, top_logprobs=ad.TOP_LOGPROBS) for m in chats])
        ones = []
        for m, r in zip(chats, results):
            try:
                st = ad.start_reading(r, spec, parse_rating)
            except ad.NoVerdict:
                continue
            if st.before.endswith("[[") and r.text[len(st.before)] == "1":
                ones.append((m, r, st))
        assert ones, [r.text for r in results]  # measured: the model rates 1 or 10 here, written "1" first
        continued = engine.generate([GenRequest(m, max_new_tokens=1, prefill=st.before + "1",
                                                top_logprobs=ad.TOP_LOGPROBS) for m, _, st in ones])
    finally:
        engine.close()
    tokenizer = AutoTokenizer.from_pretrained(default_model_path)
    model = AutoModelForCausalLM.from_pretrained(default_model_path, dtype=torch.float32).eval()
    for (messages, result, state), cont in zip(ones, continued):
        got = ad.finish_reading(result, state)
        assert got.ok, got.error
        first = next_token_probs(model, tokenizer, messages, state.before, result.prompt_tokens)
        second = next_token_probs(model, tokenizer, messages, state.before + "1")
        i, _ = ad.token_at(result.token_logprobs, result.text, len(state.before))
        after = result.token_logprobs[i + 1]  # the judge's own next token after "1"
        # what closes label 1 after "1": text fitting its suffix "]]" ("]", "]]", "]]\n"), or the judge's own end
        closing = {alt.decode() for alt, _ in [(after.token, 0.0), *after.top] if alt and (
            b"]]".startswith(alt) or alt.startswith(b"]]"))}
        if not after.token.isdigit() and after.token.decode() not in closing:
            closing.add(after.token.decode())
        want = {str(k): float(first[token_id(tokenizer, str(k))]) for k in range(2, 10)}
        p1 = float(first[token_id(tokenizer, "1")])
        want["10"] = p1 * float(second[token_id(tokenizer, "0")])
        want["1"] = p1 * sum(float(second[token_id(tokenizer, t)]) for t in closing)
        want = normalised(want)
        for label, q in got.distribution.items():
            assert q == pytest.approx(want[label], abs=1e-3), (result.text, label, got.distribution, want)
        # the continuation's next-token probabilities: the judge's own, and transformers'
        assert cont.ok and cont.token_logprobs, cont.error
        own = {alt: lp for alt, lp in after.top}
        for alt, lp in cont.token_logprobs[0].top[:5]:
            assert math.exp(lp) == pytest.approx(math.exp(own[alt]), abs=1e-3)
            assert math.exp(lp) == pytest.approx(float(second[token_id(tokenizer, alt.decode())]), abs=1e-3)
