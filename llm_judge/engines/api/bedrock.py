"""Claude on Amazon Bedrock, through the anthropic SDK's own ``AsyncAnthropicBedrock`` client.

``bedrock:MODEL`` names a Bedrock model id or inference profile (``anthropic.claude-sonnet-4-5-20250929-v1:0``,
``us.anthropic.claude-...``). The client posts the Messages body to ``/model/{MODEL}/invoke`` with the model
moved into the path and ``anthropic_version`` added, signed with AWS Signature V4 by botocore, which boto3
brings (the ``bedrock`` extra). Credentials and region are AWS's usual ones, read by boto3: AWS_ACCESS_KEY_ID
/ AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, AWS_PROFILE and ~/.aws, AWS_REGION or AWS_DEFAULT_REGION. A
Bedrock API key in AWS_BEARER_TOKEN_BEDROCK (or the variable ``--api-key-env`` names) is sent as a Bearer
token instead, and needs no boto3.
"""
from __future__ import annotations

import logging
import os
from typing import Any

from ...errors import ConfigError, MissingDependency
from ..config import EngineConfig
from .anthropic import AnthropicModel
from .base import require_name

BEARER_ENV = "AWS_BEARER_TOKEN_BEDROCK"


class BedrockModel(AnthropicModel):
    engine = "bedrock"
    key_env = BEARER_ENV
    base_env = "ANTHROPIC_BEDROCK_BASE_URL"
    provider_label = "Claude on Bedrock"
    client_class = "AsyncAnthropicBedrock"

    def _read_key(self) -> str:
        """The Bedrock API key if there is one; else the AWS credentials and region, checked now so a run
        without them stops before its first call (the SDK would fail on every call instead)."""
        self._aws: list[str] = []
        key = os.environ.get(self._key_env, "")
        if key or self.options.api_key_env:
            if not key:
                raise ConfigError(f"--api-key-env {self._key_env}: that environment variable is not set or empty")
            self.region = _region(None)
            return key
        logging.getLogger("botocore").setLevel(logging.WARNING)  # one INFO line per client about where keys came from
        try:
            import boto3
            import botocore  # noqa: F401  (the SDK signs with botocore.auth.SigV4Auth)
        except ImportError:
            raise MissingDependency("boto3 (Claude on Bedrock signs its requests with it)", "bedrock") from None
        session = boto3.Session()
        credentials = session.get_credentials()
        if credentials is None:
            raise ConfigError("Claude on Bedrock: no AWS credentials found: set AWS_ACCESS_KEY_ID and "
                              "AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), or AWS_PROFILE, or a Bedrock API key "
                              f"in {BEARER_ENV}")
        frozen = credentials.get_frozen_credentials()
        self._aws = [frozen.access_key, frozen.secret_key, frozen.token or ""]
        self.region = _region(session.region_name)
        return ""

    def secrets(self) -> list[str]:
        return [self._key, *self._aws]

    def _client_args(self) -> dict[str, Any]:
        # Without a key the SDK builds its own boto3 session, which finds the credentials checked above.
        return {"aws_region": self.region, "base_url": self.options.api_base, "api_key": self._key or None}

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "region": self.region}


def _region(configured: str | None) -> str:
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or configured
    if not region:
        raise ConfigError("Claude on Bedrock needs an AWS region: set AWS_REGION (e.g. us-east-1) or a region "
                          "for your AWS profile")
    return region


def from_config(config: EngineConfig) -> BedrockModel:
    """The registry's factory for provider "bedrock"."""
    return BedrockModel(require_name(config), config.name, config.api)
