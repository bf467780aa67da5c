"""Azure OpenAI, through the openai SDK's own ``AsyncAzureOpenAI`` client.

``azure:DEPLOYMENT`` names a deployment of the user's Azure OpenAI resource; the client puts it in the
path (``/openai/deployments/{DEPLOYMENT}/chat/completions?api-version=...``). The resource's endpoint comes
from ``--api-base`` or AZURE_OPENAI_ENDPOINT, the API version from ``--api-version`` or OPENAI_API_VERSION,
the credential from AZURE_OPENAI_API_KEY (sent as the ``api-key`` header) or a Microsoft Entra ID token in
AZURE_OPENAI_AD_TOKEN (sent as ``Authorization: Bearer``), or the variable ``--api-key-env`` names.
"""
from __future__ import annotations

import os
from typing import Any

from ...errors import ConfigError
from ..config import EngineConfig
from .base import require_name
from .openai import OpenAIModel

KEY_ENV, TOKEN_ENV, VERSION_ENV = "AZURE_OPENAI_API_KEY", "AZURE_OPENAI_AD_TOKEN", "OPENAI_API_VERSION"


class AzureModel(OpenAIModel):
    engine = "azure"
    key_env = KEY_ENV
    base_env = "AZURE_OPENAI_ENDPOINT"
    provider_label = "Azure OpenAI"
    client_class = "AsyncAzureOpenAI"
    self_hosted = False  # OpenAI's models and request rules, on Azure's servers

    def max_tokens_field(self) -> str:
        return "max_tokens"  # every API version knows it; reasoning models get max_completion_tokens (params.py)

    def _read_key(self) -> str:
        if not self.base_url:
            raise ConfigError("Azure OpenAI needs your resource's endpoint: set AZURE_OPENAI_ENDPOINT or --api-base "
                              "(e.g. https://my-resource.openai.azure.com)")
        self.api_version = self.options.api_version or os.environ.get(VERSION_ENV)
        if not self.api_version:
            raise ConfigError(f"Azure OpenAI needs an API version: set {VERSION_ENV} or --api-version "
                              "(e.g. 2024-10-21)")
        # The SDK's order: an explicit credential, else the Entra ID token, else the key.
        self._token = "" if self.options.api_key_env else os.environ.get(TOKEN_ENV, "")
        if self._token:
            return ""
        key = os.environ.get(self._key_env, "")
        if not key:
            named = f"--api-key-env {self._key_env}: that variable" if self.options.api_key_env else self._key_env
            raise ConfigError(f"{named} is not set: export your Azure OpenAI key in {KEY_ENV} or a Microsoft Entra "
                              f"ID token in {TOKEN_ENV} (credentials are read only from the environment)")
        return key

    def secrets(self) -> list[str]:
        return [self._key, self._token]

    def _client_args(self) -> dict[str, Any]:
        credential = {"azure_ad_token": self._token} if self._token else {"api_key": self._key}
        return {"azure_endpoint": self.base_url, "api_version": self.api_version, **credential}

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "api_version": self.api_version}


def from_config(config: EngineConfig) -> AzureModel:
    """The registry's factory for provider "azure"."""
    return AzureModel(require_name(config), config.name, config.api)
