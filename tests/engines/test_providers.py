"""Azure OpenAI, Claude on Bedrock and Vertex AI, and Gemini: the SDKs' own clients against the loopback server.

fakeapi.py checks what each real service checks: the request path, the credentials header (Azure's api-key
or an Entra ID token, Bedrock's SigV4 signature recomputed with the secret key, Vertex's and Gemini's Bearer
token) and the body (anthropic_version in it and the model in the path for Bedrock and Vertex). Retries,
fail-fast and credentials that never appear in a message, the provider rule, and the price table's names.
"""
from __future__ import annotations

import json
import sys

import pytest

from conftest import require
from fakeapi import FakeAPI
from llm_judge.engines.api.costs import PriceTable
from llm_judge.engines.api.retry import APIFatalError
from llm_judge.engines.base import GenRequest
from llm_judge.engines.config import APIOptions, EngineConfig
from llm_judge.engines.registry import load, split_provider
from llm_judge.errors import ConfigError, MissingDependency

pytestmark = pytest.mark.api

KEY = "provider-test-key-0123456789"
AWS = ("AKIDEXAMPLE0123", "aws-secret-key-0123456789abcdef")
BEDROCK_MODEL = "anthropic.claude-3-5-sonnet-20241022-v2:0"
VERTEX_MODEL = "claude-sonnet-4@20250514"
ENV = ("AZURE_OPENAI_API_KEY", "AZURE_OPENAI_AD_TOKEN", "AZURE_OPENAI_ENDPOINT", "OPENAI_API_VERSION", "GEMINI_API_KEY",
       "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION",
       "AWS_DEFAULT_REGION", "AWS_BEARER_TOKEN_BEDROCK", "ANTHROPIC_BEDROCK_BASE_URL", "CLOUD_ML_REGION",
       "ANTHROPIC_VERTEX_PROJECT_ID", "ANTHROPIC_VERTEX_BASE_URL", "GOOGLE_APPLICATION_CREDENTIALS", "OPENAI_BASE_URL")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for var in ENV:
        monkeypatch.delenv(var, raising=False)
    # no ~/.aws or gcloud configuration of this machine may stand in for what a test sets
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))


def requests(n: int) -> list[GenRequest]:
    return [GenRequest([{"role": "system", "content": "Grade fairly."}, {"role": "user", "content": f"q {i}"}],
                       max_new_tokens=32) for i in range(n)]


def open_engine(provider: str, model: str, **options):
    return load(EngineConfig(provider, model, model.replace("/", "_"), api=APIOptions(**options)))


def azure_env(monkeypatch, api: FakeAPI, credential: str = "AZURE_OPENAI_API_KEY") -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", api.url)
    monkeypatch.setenv("OPENAI_API_VERSION", "2024-10-21")
    monkeypatch.setenv(credential, KEY)


def aws_env(monkeypatch) -> None:
    require("boto3", "bedrock")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", AWS[0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS[1])
    monkeypatch.setenv("AWS_REGION", "us-east-1")


def vertex_env(monkeypatch) -> None:
    monkeypatch.setenv("CLOUD_ML_REGION", "us-east5")
    monkeypatch.setenv("ANTHROPIC_VERTEX_PROJECT_ID", "my-project")
    monkeypatch.setenv("VERTEX_TOKEN", KEY)


def engine_for(provider: str, api: FakeAPI, monkeypatch, **options):
    """Each provider's engine pointed at ``api``, with the credentials its real service takes."""
    if provider == "azure":
        azure_env(monkeypatch, api)
        return open_engine("azure", "my-gpt4o", **options)
    if provider == "gemini":
        monkeypatch.setenv("GEMINI_API_KEY", KEY)
        return open_engine("gemini", "gemini-2.5-flash", api_base=api.url + "/v1beta/openai/", **options)
    if provider == "bedrock":
        aws_env(monkeypatch)
        return open_engine("bedrock", BEDROCK_MODEL, api_base=api.url, **options)
    vertex_env(monkeypatch)
    return open_engine("vertex", VERTEX_MODEL, api_base=api.url + "/v1", api_key_env="VERTEX_TOKEN", **options)


PATHS = {
    "azure": "/openai/deployments/my-gpt4o/chat/completions",
    "gemini": "/v1beta/openai/chat/completions",
    "bedrock": f"/model/{BEDROCK_MODEL}/invoke",
    "vertex": f"/v1/projects/my-project/locations/us-east5/publishers/anthropic/models/{VERTEX_MODEL}:rawPredict",
}
AUTH = {"azure": {"api-key"}, "gemini": {"bearer"}, "bedrock": {"sigv4"}, "vertex": {"bearer"}}


@pytest.mark.parametrize("provider", list(PATHS))
def test_each_provider_sends_what_its_service_expects(provider, monkeypatch):
    with FakeAPI(api_key=KEY, aws=AWS) as api, engine_for(provider, api, monkeypatch, parallel=4) as model:
        got = model.generate(requests(6))
        assert all(r.ok and r.text.startswith("The reply was assessed") for r in got), got
        assert all(r.prompt_tokens and r.completion_tokens for r in got)
        assert api.stats.by_path == {PATHS[provider]: 6}
        assert api.stats.auth_styles == AUTH[provider]
        assert model.engine == provider and KEY not in str(model.describe()) and AWS[1] not in str(model.describe())
        body = api.stats.bodies[0]
        if provider in ("bedrock", "vertex"):  # the model travels in the path, the API version in the body
            assert "model" not in body and body["anthropic_version"] and body["system"] == "Grade fairly."
        else:
            assert body["model"] == model.model and body["max_tokens"] == 32 and body["temperature"] == 0.0
    if provider == "azure":
        assert api.stats.queries == ["api-version=2024-10-21"] * 6


def test_azure_entra_token_and_api_version_flag(monkeypatch):
    with FakeAPI(api_key=KEY) as api:
        azure_env(monkeypatch, api, credential="AZURE_OPENAI_AD_TOKEN")
        with open_engine("azure", "gpt-4o", api_version="2025-01-01-preview") as model:
            assert model.generate(requests(2))[0].ok
            assert model.describe()["api_version"] == "2025-01-01-preview"
        assert api.stats.auth_styles == {"bearer"}  # Authorization: Bearer <token>, no api-key header
        assert set(api.stats.queries) == {"api-version=2025-01-01-preview"}


def test_azure_says_what_it_is_missing(monkeypatch):
    with pytest.raises(ConfigError, match="AZURE_OPENAI_ENDPOINT"):
        open_engine("azure", "gpt-4o")
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://example-resource.openai.azure.com")
    with pytest.raises(ConfigError, match="OPENAI_API_VERSION or --api-version"):
        open_engine("azure", "gpt-4o")
    monkeypatch.setenv("OPENAI_API_VERSION", "2024-10-21")
    with pytest.raises(ConfigError, match="AZURE_OPENAI_API_KEY.*AZURE_OPENAI_AD_TOKEN"):
        open_engine("azure", "gpt-4o")


def test_bedrock_signature_is_checked_and_a_wrong_secret_stops_the_run(monkeypatch):
    aws_env(monkeypatch)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret-0123456789")
    # The SDK caches one boto3 session per (keys given, region, profile): another region gets a fresh one that
    # reads the environment again, as a new process would.
    monkeypatch.setenv("AWS_REGION", "ap-northeast-1")
    with FakeAPI(api_key=KEY, aws=AWS) as api, open_engine("bedrock", BEDROCK_MODEL, api_base=api.url) as model:
        with pytest.raises(APIFatalError) as info:
            model.generate(requests(3))
        assert "HTTP 403" in str(info.value) and "signature" in str(info.value)
        assert "not-the-secret" not in str(info.value) and api.stats.count(200) == 0


def test_bedrock_api_key_needs_no_signature(monkeypatch):
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", KEY)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    with FakeAPI(api_key=KEY) as api, open_engine("bedrock", BEDROCK_MODEL, api_base=api.url) as model:
        assert all(r.ok for r in model.generate(requests(2)))
        assert api.stats.auth_styles == {"bearer"} and model.describe()["region"] == "eu-west-1"


def test_bedrock_without_credentials_region_or_boto3(monkeypatch):
    require("boto3", "bedrock")
    with pytest.raises(ConfigError, match="no AWS credentials found"):
        open_engine("bedrock", BEDROCK_MODEL)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", AWS[0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS[1])
    with pytest.raises(ConfigError, match="needs an AWS region"):
        open_engine("bedrock", BEDROCK_MODEL)
    monkeypatch.setitem(sys.modules, "boto3", None)  # as if the bedrock extra were not installed
    with pytest.raises(MissingDependency, match=r"pip install 'llm_judge\[bedrock\]'"):
        open_engine("bedrock", BEDROCK_MODEL)


def test_vertex_says_what_it_is_missing(monkeypatch):
    with pytest.raises(ConfigError, match="CLOUD_ML_REGION"):
        open_engine("vertex", VERTEX_MODEL)
    monkeypatch.setenv("CLOUD_ML_REGION", "global")
    monkeypatch.setitem(sys.modules, "google.auth", None)  # as if the vertex extra were not installed
    with pytest.raises(MissingDependency, match=r"pip install 'llm_judge\[vertex\]'"):
        open_engine("vertex", VERTEX_MODEL)
    monkeypatch.setenv("VERTEX_TOKEN", KEY)
    with pytest.raises(ConfigError, match="ANTHROPIC_VERTEX_PROJECT_ID"):
        open_engine("vertex", VERTEX_MODEL, api_key_env="VERTEX_TOKEN")


def test_vertex_without_application_default_credentials(monkeypatch):
    require("google.auth", "vertex")
    from google.auth.compute_engine import _metadata

    monkeypatch.setattr(_metadata, "_NO_GCE_CHECK", True)  # never probe a cloud metadata server from a test
    monkeypatch.setenv("CLOUD_ML_REGION", "us-east5")
    with pytest.raises(ConfigError, match="no Google credentials.*--api-key-env"):
        open_engine("vertex", VERTEX_MODEL)


def test_vertex_with_application_default_credentials(monkeypatch, tmp_path):
    """A service account's key file: google-auth signs a JWT, trades it at the token endpoint for an access
    token, and the SDK sends that; the project comes from the key file."""
    require("google.auth", "vertex")
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    with FakeAPI(api_key=KEY) as api:
        account = {"type": "service_account", "project_id": "adc-project", "private_key_id": "k1", "private_key": pem,
                   "client_email": "judge@adc-project.iam.gserviceaccount.com", "client_id": "1",
                   "token_uri": f"{api.url}/token"}
        (tmp_path / "sa.json").write_text(json.dumps(account), encoding="utf-8")
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "sa.json"))
        monkeypatch.setenv("CLOUD_ML_REGION", "europe-west1")
        with open_engine("vertex", VERTEX_MODEL, api_base=api.url + "/v1", parallel=4) as model:
            assert all(r.ok for r in model.generate(requests(8)))
            assert model.describe()["project"] == "adc-project" and KEY not in model.scrub(f"token {KEY}")
        path = f"/v1/projects/adc-project/locations/europe-west1/publishers/anthropic/models/{VERTEX_MODEL}:rawPredict"
        assert api.stats.by_path[path] == 8 and api.stats.by_path["/token"] >= 1


def test_gemini_needs_its_key_even_with_a_base_url():
    with pytest.raises(ConfigError, match="GEMINI_API_KEY is not set"):
        open_engine("gemini", "gemini-2.5-pro", api_base="http://127.0.0.1:9/v1beta/openai/")


@pytest.mark.parametrize("provider", list(PATHS))
def test_retries_and_fail_fast_as_for_openai_and_anthropic(provider, monkeypatch):
    first_429 = lambda body, attempt: "429" if attempt == 1 else None  # noqa: E731
    with FakeAPI(api_key=KEY, aws=AWS, faults=first_429, retry_after=0.2) as api, \
            engine_for(provider, api, monkeypatch, parallel=3) as model:
        got = model.generate(requests(3))
        assert all(r.ok and r.attempts == 2 for r in got) and model.retries == {"HTTP 429": 3}
    with FakeAPI(api_key="another-key-entirely", aws=("AKIDOTHER", "x" * 20)) as api, \
            engine_for(provider, api, monkeypatch, parallel=2) as model:
        with pytest.raises(APIFatalError) as info:
            model.generate(requests(50))
        assert "Stopped at once" in str(info.value) and api.stats.requests <= 2
        for secret in (KEY, AWS[1]):
            assert secret not in str(info.value)


def test_provider_rule_by_prefix_and_name():
    assert split_provider("gemini-2.5-pro") == ("gemini", "gemini-2.5-pro")
    assert split_provider("azure:gpt-4o") == ("azure", "gpt-4o")
    assert split_provider(f"bedrock:{BEDROCK_MODEL}") == ("bedrock", BEDROCK_MODEL)
    assert split_provider(f"vertex:{VERTEX_MODEL}") == ("vertex", VERTEX_MODEL)
    assert split_provider("gemini-2.0-flash", engine="api")[0] == "gemini"
    assert split_provider("claude-sonnet-4-5")[0] == "anthropic"  # a bare claude name stays Anthropic's own
    with pytest.raises(ConfigError, match="names provider 'azure'"):
        split_provider("azure:gpt-4o", engine="openai")


def test_prices_of_every_provider_s_names():
    table = PriceTable()
    assert table.lookup(BEDROCK_MODEL).key == "claude-3-5-sonnet"
    assert table.lookup("us.anthropic.claude-sonnet-4-20250514-v1:0").key == "claude-sonnet-4"
    assert table.lookup(VERTEX_MODEL).key == "claude-sonnet-4"
    assert table.lookup("gemini-2.5-flash-lite").key == "gemini-2.5-flash-lite"
    assert table.lookup("gemini-2.5-pro").input == 1.25
    custom = PriceTable({"anthropic.claude-x": (1.0, 2.0)})  # a user's own entry in Bedrock's naming still matches
    assert custom.lookup("anthropic.claude-x-v1:0").key == "anthropic.claude-x"


def cli_args(provider: str, api: FakeAPI, monkeypatch) -> list[str]:
    """gen_judgment's flags (and the environment) that judge with ``provider`` at ``api``."""
    if provider == "azure":
        azure_env(monkeypatch, api)
        return ["--judge-model", "azure:my-gpt4o"]
    if provider == "gemini":
        monkeypatch.setenv("GEMINI_API_KEY", KEY)
        return ["--judge-model", "gemini-2.5-flash", "--api-base", api.url + "/v1beta/openai/"]
    if provider == "bedrock":
        aws_env(monkeypatch)
        monkeypatch.setenv("ANTHROPIC_BEDROCK_BASE_URL", api.url)
        return ["--judge-model", f"bedrock:{BEDROCK_MODEL}"]
    vertex_env(monkeypatch)
    monkeypatch.setenv("ANTHROPIC_VERTEX_BASE_URL", api.url + "/v1")
    return ["--judge-model", f"vertex:{VERTEX_MODEL}", "--api-key-env", "VERTEX_TOKEN"]


@pytest.mark.parametrize("provider", list(PATHS))
def test_no_credential_in_any_output_log_or_file(provider, data_dir, tmp_path, capfd, monkeypatch):
    from llm_judge.cli import gen_judgment, gen_model_answer
    from llm_judge.jsonl import dumps, read_jsonl

    script = tmp_path / "model-a.jsonl"
    script.write_text(dumps({"reply": "model-a says hello"}) + "\n", encoding="utf-8")
    assert gen_model_answer.main(["--data-dir", str(data_dir), "--model-path", f"mock:{script}"]) == 0
    first_429 = lambda body, attempt: "429" if attempt == 1 else None  # noqa: E731  (retries get logged too)
    with FakeAPI(api_key=KEY, aws=AWS, faults=first_429, retry_after=0.05) as api:
        args = cli_args(provider, api, monkeypatch)
        assert gen_judgment.main(["--data-dir", str(data_dir), "-v", "--first-n", "3", *args]) == 0
    out, err = capfd.readouterr()
    assert "HTTP 429" in err and api.stats.auth_styles == AUTH[provider]
    rows = read_jsonl(next((data_dir / "demo_bench" / "model_judgment").glob("*_single.jsonl")))
    assert rows and all(r["score"] is not None for r in rows)
    files = [p.read_bytes() for p in data_dir.rglob("*") if p.is_file()]
    for secret in (KEY, AWS[1]):
        assert secret not in out and secret not in err
        assert not any(secret.encode() in data for data in files)
