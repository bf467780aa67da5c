"""Reasoning judges: the parameters each model takes (params.py), the thinking kept apart from the verdict
(reasoning.py), and the reasoning tokens counted.

The loopback server refuses what the real services refuse (a temperature for o3, max_tokens at or below
Anthropic's thinking budget, ...), so a body the rules got wrong fails the test with the service's own 400.
"""
from __future__ import annotations

import re

import pytest

from fakeapi import FakeAPI, judge_reply, use_keys
from llm_judge.cli import gen_judgment, gen_model_answer
from llm_judge.engines.api.retry import APIFatalError
from llm_judge.engines.base import GenRequest
from llm_judge.engines.config import APIOptions, EngineConfig
from llm_judge.engines.reasoning import split_think
from llm_judge.engines.registry import load
from llm_judge.errors import ConfigError
from llm_judge.jsonl import dumps, read_jsonl
from llm_judge.records import read_judgments

pytestmark = pytest.mark.api

KEY = "reasoning-test-key-0123456789"
THOUGHT = "Assistant A restates the question; B answers it. B is better."


@pytest.fixture(autouse=True)
def keys(monkeypatch):
    use_keys(monkeypatch, KEY, "GEMINI_API_KEY")


def engine(provider: str, model: str, api: FakeAPI, **options):
    base = api.base_for(provider)
    return load(EngineConfig(provider, model, model, api=APIOptions(api_base=base, **options)))


def sampled(n: int = 2) -> list[GenRequest]:
    """Requests with everything a reasoning model refuses: a temperature, top_p and a stop string."""
    return [GenRequest([{"role": "system", "content": "Judge."}, {"role": "user", "content": f"q {i}"}],
                       max_new_tokens=512, temperature=0.7, top_p=0.9, stop=["]]"]) for i in range(n)]


@pytest.mark.parametrize("model", ["o3-mini", "o1", "o4-mini", "gpt-5", "gpt-5-mini"])
def test_openai_reasoning_models_get_no_sampling_parameters(model):
    with FakeAPI(api_key=KEY) as api, engine("openai", model, api) as judge:
        assert all(r.ok for r in judge.generate(sampled()))
        for body in api.stats.bodies:
            assert not {"temperature", "top_p", "stop", "max_tokens"} & set(body), body
            assert body["max_completion_tokens"] == 512


def test_the_server_refuses_what_the_rules_remove():
    """Without the table's rules, o3 gets the temperature and the service's 400 stops the run."""
    with FakeAPI(api_key=KEY) as api, engine("openai", "o3", api) as judge:
        judge._rules = ()
        with pytest.raises(APIFatalError, match="Unsupported parameter: 'temperature'"):
            judge.generate(sampled(1))


def test_other_models_keep_their_sampling_parameters():
    with FakeAPI(api_key=KEY) as api, engine("openai", "gpt-4o", api) as judge:
        judge.generate(sampled(1))
        body = api.stats.bodies[0]
        assert body["temperature"] == 0.7 and body["top_p"] == 0.9 and body["stop"] == ["]]"]


def test_reasoning_effort_makes_any_name_a_reasoning_model():
    with FakeAPI(api_key=KEY) as api, engine("openai", "my-deployment", api, reasoning_effort="high") as judge:
        judge.generate(sampled(1))
        body = api.stats.bodies[0]
        assert body["reasoning_effort"] == "high" and "temperature" not in body and "max_tokens" not in body
    with FakeAPI(api_key=KEY) as api, engine("gemini", "gemini-2.5-pro", api, reasoning_effort="low") as judge:
        judge.generate(sampled(1))
        assert api.stats.bodies[0]["reasoning_effort"] == "low"  # Gemini keeps its temperature
        assert api.stats.bodies[0]["temperature"] == 0.7


def test_o1_mini_gets_its_system_prompt_as_a_user_message():
    with FakeAPI(api_key=KEY) as api, engine("openai", "o1-mini", api) as judge:
        judge.generate(sampled(1))
        assert [m["role"] for m in api.stats.bodies[0]["messages"]] == ["user", "user"]


def test_thinking_request_shape_and_thinking_kept_apart():
    with FakeAPI(api_key=KEY, reasoning=THOUGHT) as api, \
            engine("anthropic", "claude-sonnet-4-5", api, thinking_budget=2048) as judge:
        got = judge.generate(sampled(1))[0]
        body = api.stats.bodies[0]
        assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048}
        assert body["max_tokens"] == 2048 + 512  # the verdict keeps its own 512 on top of the budget
        assert not {"temperature", "top_p", "top_k"} & set(body)
        assert got.ok and got.reasoning == THOUGHT and got.text.startswith("The reply was assessed")
        assert "<think>" not in got.text and THOUGHT not in got.text


def test_reasoning_options_are_checked_against_the_provider():
    with pytest.raises(ConfigError, match="--thinking-budget 2048: openai models do not take it"):
        load(EngineConfig("openai", "o3", "o3", api=APIOptions(thinking_budget=2048)))
    with pytest.raises(ConfigError, match="--reasoning-effort high: anthropic models do not take it"):
        load(EngineConfig("anthropic", "claude-x", "claude-x", api=APIOptions(reasoning_effort="high")))
    with pytest.raises(ConfigError, match="minimum is 1024"):
        load(EngineConfig("anthropic", "claude-x", "claude-x", api=APIOptions(thinking_budget=100)))


@pytest.mark.parametrize("apart", [False, True])
def test_reasoning_content_and_tokens_are_counted(apart):
    with FakeAPI(api_key=KEY, reasoning=THOUGHT, reasoning_apart=apart) as api, \
            engine("openai", "deepseek-reasoner", api) as judge:
        got = judge.generate([GenRequest([{"role": "user", "content": "q"}], max_new_tokens=64)])[0]
        thought = len(THOUGHT) // 4
        assert got.reasoning == THOUGHT and got.reasoning_tokens == thought
        # billed output includes the reasoning, whether the server counted it inside completion_tokens or apart
        assert got.completion_tokens == len(got.text) // 4 + thought
        assert got.usage()["reasoning_tokens"] == thought


@pytest.mark.parametrize("text,answer,thought", [
    ("<think>B is better. [[A]]? no.</think>\n\n[[B]]", "[[B]]", "B is better. [[A]]? no."),
    ("  <thinking>weigh both</thinking>Rating: [[7]]", "Rating: [[7]]", "weigh both"),
    ("B is better. [[A]]? no.</think>\n[[B]]", "[[B]]", "B is better. [[A]]? no."),  # template opened the block
    ("<think>still thinking when the tokens ran out", "", "still thinking when the tokens ran out"),
    ("Rating: [[7]]. The answer's <think>...</think> block is verbose.", None, None),  # quoted: not a block
])
def test_split_think(text, answer, thought):
    got = split_think(text)
    assert got == ((text, None) if answer is None else (answer, thought))


def _judge_reply(body: dict, text: str) -> str:
    """An open reasoning model behind an OpenAI-compatible server: thinking with a decoy verdict, then the verdict."""
    return "<think>First guess: [[A]] / [[1]]. Looking again...</think>\n" + judge_reply(body, text)


def _answers(data_dir, tmp_path) -> None:
    for model in ("model-a", "model-b"):
        script = tmp_path / f"{model}.jsonl"
        script.write_text(dumps({"reply": f"{model} says hello"}) + "\n", encoding="utf-8")
        assert gen_model_answer.main(["--data-dir", str(data_dir), "--model-path", f"mock:{script}"]) == 0


@pytest.mark.parametrize("mode", ["single", "pairwise-all"])
def test_judgments_of_a_thinking_judge(mode, data_dir, tmp_path, capsys):
    _answers(data_dir, tmp_path)
    with FakeAPI(api_key=KEY, reply=_judge_reply, reasoning="provider-side thought", latency=0.01) as api:
        assert gen_judgment.main(["--data-dir", str(data_dir), "--judge-model", "openai:qwq-32b", "--api-base",
                                  api.openai_base, "--mode", mode, "--parallel", "8"]) == 0
    out = data_dir / "demo_bench" / "model_judgment" / f"qwq-32b_{'single' if mode == 'single' else 'pair'}.jsonl"
    rows = read_jsonl(out)
    games = ["judgment", "reasoning"] if mode == "single" else ["g1_judgment", "g1_reasoning", "g2_judgment",
                                                                  "g2_reasoning"]
    for r in rows:
        assert not r.get("error")
        for judgment, reasoning in zip(games[::2], games[1::2]):
            assert "<think>" not in r[judgment] and "First guess" not in r[judgment]
            assert r[reasoning] == "provider-side thought\n\nFirst guess: [[A]] / [[1]]. Looking again..."
        assert r["usage"]["reasoning_tokens"] == len("provider-side thought") // 4 * (1 if mode == "single" else 2)
    if mode == "single":  # the verdict after the thinking, not the decoy inside it
        assert all(r["score"] == float(r["judgment"].rsplit("[[", 1)[1].split("]]")[0]) for r in rows)
        assert {r["score"] for r in rows} != {1.0}
    else:
        assert {r["g1_winner"] for r in rows} <= {"model_1", "model_2", "tie"}
    kept = read_judgments(out)  # our reader keeps the field (and FastChat's ignores it)
    assert kept[0].to_json()[games[1]] == rows[0][games[1]]
    assert "of them reasoning" in capsys.readouterr().err


def test_an_open_model_s_think_block_is_stripped_before_the_verdict(data_dir, tmp_path):
    _answers(data_dir, tmp_path)
    rules = tmp_path / "r1.jsonl"
    rules.write_text(dumps({"reply": "<think>maybe Rating: [[2]]</think>Rating: [[8]]"}) + "\n", encoding="utf-8")
    assert gen_judgment.main(["--data-dir", str(data_dir), "--judge-model", f"mock:{rules}"]) == 0
    rows = read_jsonl(data_dir / "demo_bench" / "model_judgment" / "r1_single.jsonl")
    assert rows and all(r["score"] == 8.0 and r["judgment"] == "Rating: [[8]]" for r in rows)
    assert all(r["reasoning"] == "maybe Rating: [[2]]" for r in rows)


def test_reasoning_flags_on_the_command_line(data_dir, tmp_path, capsys):
    base = ["--data-dir", str(data_dir), "--dry-run"]
    _answers(data_dir, tmp_path)
    capsys.readouterr()
    most = []  # the preview's most output per call grows by the thinking budget
    for extra in ([], ["--thinking-budget", "4096"]):
        assert gen_judgment.main(base + ["--judge-model", "claude-sonnet-4-5", *extra]) == 0
        most.append(int(re.search(r"used all (\d+) output tokens", capsys.readouterr().err).group(1)))
    assert most[1] == most[0] + 4096
    with pytest.raises(SystemExit) as info:
        gen_judgment.main(base + ["--judge-model", "claude-sonnet-4-5", "--thinking-budget", "500"])
    assert info.value.code == 2 and "must be >= 1024" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="--thinking-budget is for API models"):
        gen_judgment.main(base + ["--judge-model", "mock:judge", "--thinking-budget", "2048"])
    with pytest.raises(ConfigError, match="openai models do not take it"):
        gen_judgment.main(base + ["--judge-model", "gpt-4o", "--thinking-budget", "2048"])
