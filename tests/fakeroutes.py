"""What the loopback server (fakeapi.py) checks of each provider's requests, as the real services would.

Each route names the protocol of its reply and how the caller must authenticate:

* OpenAI ``/v1/chat/completions`` (any path ending so) and Anthropic ``/v1/messages``: Bearer or x-api-key.
* Azure OpenAI ``/openai/deployments/{dep}/chat/completions?api-version=...``: the ``api-key`` header, or a
  Microsoft Entra ID token as Bearer.
* Gemini ``/v1beta/openai/chat/completions``: Bearer.
* Claude on Bedrock ``/model/{model}/invoke``: AWS Signature V4, recomputed here with the secret key (when
  botocore is installed), or a Bedrock API key as Bearer; ``anthropic_version`` in the body, no ``model``.
* Claude on Vertex AI ``/v1/projects/{p}/locations/{r}/publishers/anthropic/models/{m}:rawPredict``: Bearer
  access token; ``anthropic_version`` in the body, no ``model``. ``POST /token`` is Google's OAuth endpoint
  for service-account credentials (a signed JWT in, the server's key out as the access token).

And the request rules of reasoning models: OpenAI's o-series and GPT-5 refuse temperature (other than 1),
top_p, stop and max_tokens; Anthropic's extended thinking refuses temperature other than 1, top_p and top_k,
and wants budget_tokens >= 1024 and below max_tokens. A request that breaks a rule gets HTTP 400 with the
reason, as from the real service.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs


@dataclass(frozen=True)
class Route:
    name: str  # "openai", "anthropic", "azure", "gemini", "bedrock", "vertex"
    protocol: str  # the reply's wire format: "openai" or "anthropic"
    model: str | None = None  # the model named in the path (Bedrock, Vertex), else None


_ROUTES = (
    (re.compile(r"^/openai/deployments/(?P<model>[^/]+)/chat/completions$"), "azure", "openai"),
    (re.compile(r"^/v1beta/openai/chat/completions$"), "gemini", "openai"),
    (re.compile(r"^/model/(?P<model>[^/]+)/invoke$"), "bedrock", "anthropic"),
    (re.compile(r"^/v1/projects/(?P<project>[^/]+)/locations/(?P<region>[^/]+)/publishers/anthropic/models/"
                r"(?P<model>[^/:]+):rawPredict$"), "vertex", "anthropic"),
    (re.compile(r"/chat/completions$"), "openai", "openai"),
    (re.compile(r"/messages$"), "anthropic", "anthropic"),
)
_SIGV4 = re.compile(r"^AWS4-HMAC-SHA256 Credential=(?P<key_id>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/bedrock/"
                    r"aws4_request, SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})$")


def route(path: str) -> Route | None:
    for pattern, name, protocol in _ROUTES:
        m = pattern.search(path)
        if m:
            return Route(name, protocol, m.groupdict().get("model"))
    return None


def auth_problem(r: Route, method: str, url: str, headers: dict[str, str], raw: bytes, key: str,
                 aws: tuple[str, str] | None, styles: set[str]) -> str | None:
    """Why the request's credentials would be refused (None: accepted); adds the auth style seen to ``styles``."""
    bearer = headers.get("authorization", "") == f"Bearer {key}"
    if r.name == "azure" and headers.get("api-key") == key:
        styles.add("api-key")
        return None
    if r.name == "bedrock" and headers.get("authorization", "").startswith("AWS4-HMAC-SHA256"):
        problem = sigv4_problem(method, url, headers, raw, aws)
        if problem is None:
            styles.add("sigv4")
        return problem
    if bearer:
        styles.add("bearer")
        return None
    if r.name in ("openai", "anthropic") and headers.get("x-api-key") == key:
        styles.add("x-api-key")
        return None
    return "invalid credentials"


def sigv4_problem(method: str, url: str, headers: dict[str, str], raw: bytes,
                  aws: tuple[str, str] | None) -> str | None:
    """Whether an AWS Signature V4 is the one the secret key gives for this request, as Bedrock checks it."""
    m = _SIGV4.match(headers.get("authorization", ""))
    if m is None or "x-amz-date" not in headers:
        return "not an AWS Signature V4 for service bedrock"
    if aws is None or m["key_id"] != aws[0]:
        return "unknown AWS access key id"
    try:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
    except ImportError:
        return None  # the form is right; the signature itself needs botocore to recompute
    signed = m["signed"].split(";")
    request = AWSRequest(method=method, url=url, headers={h: headers[h] for h in signed if h in headers}, data=raw)
    request.context["timestamp"] = headers["x-amz-date"]
    signer = SigV4Auth(Credentials(aws[0], aws[1], headers.get("x-amz-security-token")), "bedrock", m["region"])
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    return None if expected == m["signature"] else "the request signature we calculated does not match"


OPENAI_REASONING = re.compile(r"^(o1|o3|o4|gpt-5(?!-chat))")


def request_problem(r: Route, query: str, body: dict) -> str | None:
    """Why the service would refuse this request's query or body (None: it takes them)."""
    if r.name == "azure" and not parse_qs(query).get("api-version"):
        return "Missing required query parameter: api-version"
    if r.name in ("bedrock", "vertex"):
        if "model" in body:
            return "extraneous key [model] is not permitted"
        if not isinstance(body.get("anthropic_version"), str):
            return "anthropic_version: field required"
    if r.protocol == "openai" and OPENAI_REASONING.match(str(body.get("model", r.model or ""))):
        refused = [k for k in ("top_p", "stop", "max_tokens", "presence_penalty", "frequency_penalty") if k in body]
        if body.get("temperature", 1) != 1:
            refused.insert(0, "temperature")
        if refused:
            return f"Unsupported parameter: '{refused[0]}' is not supported with this model."
    thinking = body.get("thinking")
    if r.protocol == "anthropic" and isinstance(thinking, dict) and thinking.get("type") == "enabled":
        budget = thinking.get("budget_tokens", 0)
        if body.get("temperature", 1) != 1 or "top_p" in body or "top_k" in body:
            return "temperature may only be set to 1 when thinking is enabled; top_p and top_k are not allowed"
        if budget < 1024:
            return "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
        if body.get("max_tokens", 0) <= budget:
            return "`max_tokens` must be greater than `thinking.budget_tokens`"
    return None
