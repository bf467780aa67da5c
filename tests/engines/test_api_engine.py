"""API engines: the real openai and anthropic SDK clients against the loopback server in fakeapi.py.

Results and usage, parallelism, retries (429 with Retry-After, 500, hangs, dropped connections),
bounded attempts, fail-fast on a bad key or a bad request, and the retry rules themselves.
"""
from __future__ import annotations

import random
import time

import pytest

from fakeapi import FakeAPI, judge_reply, prompt_text, use_keys
from llm_judge.errors import ConfigError
from llm_judge.engines.config import APIOptions, EngineConfig
from llm_judge.engines.registry import load, load_model, split_provider
from llm_judge.engines.base import GenRequest
from llm_judge.engines.api.retry import FAIL, FATAL, RETRY, APIFatalError, RetryPolicy, classify_status, parse_retry_after

pytestmark = pytest.mark.api

KEY = "sk-test-key"
PROVIDERS = ["openai", "anthropic"]


@pytest.fixture(autouse=True)
def keys(monkeypatch):
    use_keys(monkeypatch, KEY)


def load_api_model(provider: str, model: str, name: str, options: APIOptions):
    return load(EngineConfig(provider, model, name, api=options))


def engine(api: FakeAPI, provider: str, **kw):
    return load_api_model(provider, "judge-x", "judge-x", APIOptions(api_base=api.base_for(provider), **kw))


def requests(n: int, tag: str = "q") -> list[GenRequest]:
    return [GenRequest([{"role": "system", "content": "Grade fairly."}, {"role": "user", "content": f"{tag} {i}"}],
                       max_new_tokens=32) for i in range(n)]


def fails_first(kind: str, times: int = 1):
    """Every prompt fails its first ``times`` attempts with ``kind``, then succeeds."""
    return lambda body, attempt: kind if attempt <= times else None


@pytest.mark.parametrize("provider", PROVIDERS)
def test_results_usage_and_parallelism(provider):
    with FakeAPI(latency=0.1) as api, engine(api, provider, parallel=8) as model:
        reqs = requests(24)
        got = dict(model.stream(reqs))
        assert sorted(got) == list(range(24))
        for i, r in got.items():  # each result belongs to its own request (system prompt sent either way)
            assert r.ok and r.text == judge_reply({}, f"Grade fairly.\nq {i}")
            assert r.prompt_tokens and r.completion_tokens and r.attempts == 1
        assert api.stats.max_in_flight == 8  # the server saw 8 calls at once, from one thread
        assert api.stats.by_path == {("/v1/chat/completions" if provider == "openai" else "/v1/messages"): 24}
        assert model.describe() == {"engine": provider, "model": "judge-x", "api_base": api.base_for(provider)}


@pytest.mark.slow  # 512 calls of 3 s each
def test_512_calls_in_flight_from_one_thread():
    import threading

    # Each call takes 3 s, long enough for one thread to open all 512 even on a loaded machine.
    with FakeAPI(latency=3.0, keep_prompts=False) as api, engine(api, "openai", parallel=512) as model:
        before = threading.active_count()
        got = model.generate(requests(520))
        assert all(r.ok for r in got)
        assert api.stats.max_in_flight == 512
        # the calls are coroutines: one loop thread and asyncio's few name-lookup workers, not 512 threads
        assert threading.active_count() - before < 12


@pytest.mark.parametrize("provider", PROVIDERS)
def test_retry_after_is_honoured(provider):
    with FakeAPI(faults=fails_first("429"), retry_after=0.4) as api, engine(api, provider, parallel=4) as model:
        t0 = time.monotonic()
        got = model.generate(requests(4))
        assert time.monotonic() - t0 >= 0.4
        assert all(r.ok and r.attempts == 2 for r in got)
        assert api.stats.count(429) == 4 and api.stats.count(200) == 4
        assert model.retries == {"HTTP 429": 4}


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("kind", ["500", "529", "drop", "hang"])
def test_transient_failures_are_retried(kind, provider):
    with FakeAPI(faults=fails_first(kind)) as api, \
            engine(api, provider, parallel=3, request_timeout=0.5) as model:
        got = model.generate(requests(3))
        assert all(r.ok and r.attempts == 2 for r in got), got
        assert api.stats.count(200) == 3


def test_attempts_are_bounded_and_failure_is_a_result():
    always = lambda body, attempt: "500" if "q 1" in prompt_text(body) else None  # noqa: E731
    with FakeAPI(faults=always) as api, engine(api, "anthropic", parallel=2, max_retries=2) as model:
        got = model.generate(requests(3))
        assert got[0].ok and got[2].ok
        assert not got[1].ok and "HTTP 500" in got[1].error and "gave up after 3 attempts" in got[1].error
        assert api.stats.count(500) == 3  # 1 + max_retries, then no more


@pytest.mark.parametrize("provider", PROVIDERS)
def test_bad_key_stops_at_once(provider, monkeypatch):
    secret = "sk-wrong-key-0123456789"
    monkeypatch.setenv("OPENAI_API_KEY" if provider == "openai" else "ANTHROPIC_API_KEY", secret)
    with FakeAPI(latency=0.05) as api, engine(api, provider, parallel=4) as model:
        with pytest.raises(APIFatalError) as info:
            list(model.stream(requests(400)))
        assert "HTTP 401" in str(info.value) and "key was rejected" in str(info.value)
        assert secret not in str(info.value)
        assert api.stats.count(401) <= 4  # the calls already in flight, not 400 of them
        assert api.stats.count(200) == 0


def test_bad_request_is_fatal_but_an_over_long_prompt_is_one_failure():
    def faults(body, attempt):
        text = prompt_text(body)
        return "400" if "q 0" in text else None

    with FakeAPI(faults=faults) as api, engine(api, "openai", parallel=2) as model:
        with pytest.raises(APIFatalError, match="HTTP 400"):
            model.generate(requests(2))
    assert classify_status(400, "This model's maximum context length is 8192 tokens").action == FAIL
    assert classify_status(400, "prompt is too long: 210000 tokens > 200000 maximum").action == FAIL


def test_distribution_judging_needs_a_local_judge():
    with FakeAPI() as api, engine(api, "openai") as model:
        req = GenRequest([{"role": "user", "content": "x"}], score_choices=["1", "2"])
        with pytest.raises(ConfigError, match="local judge"):
            model.generate([req])
        assert api.stats.requests == 0


def test_keys_come_from_the_environment_only(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(ConfigError, match="OPENAI_API_KEY is not set"):
        load_api_model("openai", "gpt-4", "gpt-4", APIOptions())
    with pytest.raises(ConfigError, match="MY_KEY"):
        load_api_model("openai", "gpt-4", "gpt-4", APIOptions(api_key_env="MY_KEY"))
    monkeypatch.setenv("MY_KEY", KEY)
    with FakeAPI() as api:
        with load_api_model("openai", "m", "m", APIOptions(api_base=api.openai_base, api_key_env="MY_KEY")) as model:
            assert model.generate(requests(1))[0].ok
        # a local OpenAI-compatible server without auth needs no key at all
        api.api_key = None
        with load_api_model("openai", "m", "m", APIOptions(api_base=api.openai_base)) as model:
            assert model.generate(requests(1))[0].ok


def test_credentials_in_a_base_url_are_never_shown():
    model = load_api_model("openai", "m", "m", APIOptions(api_base="https://user:pa55@proxy.example/v1"))
    assert model.describe()["api_base"] == "https://proxy.example/v1" and "pa55" not in model.where()


def test_provider_rule_and_base_url_from_the_sdk_environment(monkeypatch):
    assert split_provider("gpt-4")[0] == "openai"
    assert split_provider("claude-3-5-sonnet-20241022")[0] == "anthropic"
    assert split_provider("openai:my-finetune") == ("openai", "my-finetune")
    assert split_provider("anthropic:some-model") == ("anthropic", "some-model")
    with FakeAPI() as api:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", api.url)  # read by the anthropic SDK itself
        with load_model("claude-x", name="claude-x") as model:
            assert model.engine == "anthropic" and model.generate(requests(2))[0].ok
        assert api.stats.by_path == {"/v1/messages": 2}


def test_stream_can_be_called_again_and_stopped_early():
    with FakeAPI(latency=0.02) as api, engine(api, "openai", parallel=4) as model:
        assert all(r.ok for r in model.generate(requests(5, "a")))
        it = model.stream(requests(50, "b"))
        next(it)
        it.close()  # the caller stops: the calls still queued are not sent
        time.sleep(0.1)
        assert api.stats.requests < 5 + 50
        assert all(r.ok for r in model.generate(requests(5, "c")))  # the engine still works


def test_retry_rules():
    assert classify_status(429, "Rate limit reached", 2.0).action == RETRY
    assert classify_status(429, "Rate limit reached", 2.0).retry_after == 2.0
    assert classify_status(429, "You exceeded your current quota [insufficient_quota]").action == FATAL
    for status in (408, 409, 500, 502, 503, 529):
        assert classify_status(status, "").action == RETRY
    for status in (401, 403, 404):
        assert classify_status(status, "").action == FATAL
    assert classify_status(400, "Unrecognized request argument supplied: foo").action == FATAL
    assert classify_status(418, "teapot").action == FAIL
    assert parse_retry_after({"retry-after": "3"}) == 3.0
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "1"}) == 0.25
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, now=1445412470.0) == 10.0
    assert parse_retry_after({"retry-after": "soon"}) is None and parse_retry_after({}) is None
    policy, rng = RetryPolicy(base_delay=0.5, max_delay=8.0), random.Random(0)
    for n in range(1, 10):
        step = min(8.0, 0.5 * 2 ** (n - 1))
        assert step / 2 <= policy.delay(n, None, rng) <= step  # exponential, jittered, capped
    assert 2.0 <= policy.delay(1, 2.0, rng) <= 2.2  # Retry-After wins, with a little jitter
    assert policy.delay(1, 10_000.0, rng) <= policy.max_retry_after * 1.1
