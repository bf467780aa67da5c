"""Google's Gemini models, through their OpenAI-compatible endpoint and the openai SDK's client.

``gemini:MODEL`` (or any ``gemini-*`` name) posts chat completions to
https://generativelanguage.googleapis.com/v1beta/openai/ with the key from GEMINI_API_KEY (or the variable
``--api-key-env`` names) as a Bearer token. ``--api-base`` points it elsewhere (a proxy, the tests' server).
"""
from __future__ import annotations

import os

from ...errors import ConfigError
from ..config import APIOptions, EngineConfig
from .base import require_name
from .openai import OpenAIModel

GEMINI_URL = "https://generativelanguage.googleapis.com/v1beta/openai/"


class GeminiModel(OpenAIModel):
    engine = "gemini"
    key_env = "GEMINI_API_KEY"
    base_env = ""  # the endpoint is Google's unless --api-base says otherwise
    provider_label = "Gemini"
    self_hosted = False  # Google's service: one stop string it does not name back, no vLLM extensions

    def __init__(self, model: str, name: str, options: APIOptions | None = None):
        super().__init__(model, name, options)
        self.base_url = self.options.api_base or GEMINI_URL
        self.shown_url = self.shown_url or GEMINI_URL

    def max_tokens_field(self) -> str:
        return "max_tokens"

    def _read_key(self) -> str:
        key = os.environ.get(self._key_env, "")
        if not key:  # a base URL does not make a key optional: Google's endpoint always wants one
            flag = f"--api-key-env {self._key_env}: that variable" if self.options.api_key_env else self._key_env
            raise ConfigError(f"{flag} is not set: export your Gemini API key in it (from Google AI Studio; keys "
                              "are read only from the environment)")
        return key

    def _client_args(self) -> dict[str, object]:
        return {"api_key": self._key, "base_url": self.base_url}


def from_config(config: EngineConfig) -> GeminiModel:
    """The registry's factory for provider "gemini"."""
    return GeminiModel(require_name(config), config.name, config.api)
