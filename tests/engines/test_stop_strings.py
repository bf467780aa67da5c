"""Stop strings (--stop-at-verdict) in every engine: generation ends at the first one and the text keeps it.

The API engines run the real SDKs against the loopback server (fakeapi.py), which cuts a reply at its
first stop sequence and leaves it out, as both providers do; the transformers engine runs the default model.
"""
from __future__ import annotations

import pytest

from fakeapi import FakeAPI
from llm_judge.engines.base import GenRequest
from llm_judge.engines.config import APIOptions, EngineConfig
from llm_judge.engines.registry import load
from llm_judge.judging.verdicts import single_parser

pytestmark = pytest.mark.api


@pytest.fixture(autouse=True)
def keys(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-key")


def _api(api: FakeAPI, provider: str):
    base = api.base_for(provider)
    return load(EngineConfig(provider, "judge-x", "judge-x", api=APIOptions(api_base=base)))


def _request(stop: list[str] | None) -> GenRequest:
    return GenRequest([{"role": "user", "content": "Rate this answer on a scale of 1 to 10."}], max_new_tokens=32,
                      stop=stop)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_api_engines_send_the_stop_and_put_the_matched_string_back(provider):
    with FakeAPI() as api:
        model = _api(api, provider)
        try:
            full = model.generate([_request(None)])[0]
            stopped = model.generate([_request(["assessed"])])[0]
            verdict = model.generate([_request(["]]"])])[0]
        finally:
            model.close()
    assert full.ok and stopped.ok and "assessed. Rating: [[" in full.text
    # the server cut the reply before "assessed" and left it out; the engine puts it back
    assert stopped.text == full.text[:full.text.index("assessed") + len("assessed")]
    assert stopped.completion_tokens < full.completion_tokens
    assert single_parser("[[rating]]")(verdict.text) == single_parser("[[rating]]")(full.text)


def test_anthropic_drops_whitespace_only_stops_and_openai_several_without_a_base_url():
    from llm_judge.engines.api.anthropic import AnthropicModel
    from llm_judge.engines.api.openai import OpenAIModel

    assert "stop_sequences" not in AnthropicModel("m", "m").body(_request(["\n"]))
    assert AnthropicModel("m", "m").body(_request(["\n", "]]"]))["stop_sequences"] == ["]]"]
    assert OpenAIModel("m", "m").body(_request(["]]"]))["stop"] == ["]]"]
    assert "stop" not in OpenAIModel("m", "m").body(_request(["[RESULT] 1", "[RESULT] 2"]))
    compatible = OpenAIModel("m", "m", APIOptions(api_base="http://127.0.0.1:9/v1"))
    assert compatible.body(_request(["[RESULT] 1", "[RESULT] 2"]))["stop"] == ["[RESULT] 1", "[RESULT] 2"]


@pytest.mark.model
def test_transformers_engine_stops_each_row_at_its_first_stop_string(default_model_path):
    import torch

    from llm_judge.engines.hf import HFModel, HFOptions

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = HFModel(default_model_path, "default", HFOptions(batch_size=4, dtype="float32"))
        prompts = ["Write three sentences about the sea.", "Describe a cat in a few sentences.",
                   "List some fruits, separated by commas, then explain why you like them."]
        plain = model.generate([GenRequest([{"role": "user", "content": p}], max_new_tokens=48) for p in prompts])
        stopped = model.generate([GenRequest([{"role": "user", "content": p}], max_new_tokens=48, stop=[".", ","])
                                  for p in prompts])
    finally:
        torch.set_num_threads(threads)
    for full, cut in zip(plain, stopped):
        assert full.ok and cut.ok
        ends = [full.text.find(s) + 1 for s in ".," if s in full.text]
        assert ends, full.text  # the prompts make the model write punctuation within 48 tokens
        # greedy: the stopped text is the full text up to and including its first stop string (and whatever
        # else the token completing it holds), in a batch whose rows stop at different steps, the others
        # padded after, with its own token count
        assert full.text.startswith(cut.text) and min(ends) <= len(cut.text) <= min(ends) + 4, (full.text, cut.text)
        assert cut.finish_reason == "stop" and cut.completion_tokens < full.completion_tokens
