"""Claude on Google Cloud Vertex AI, through the anthropic SDK's own ``AsyncAnthropicVertex`` client.

``vertex:MODEL`` names a Claude model on Vertex (``claude-sonnet-4-5@20250929``). The client posts the
Messages body to ``/v1/projects/{PROJECT}/locations/{REGION}/publishers/anthropic/models/{MODEL}:rawPredict``
with ``anthropic_version`` in the body and an OAuth access token as ``Authorization: Bearer``. The region
comes from CLOUD_ML_REGION (``us-east5``, ``europe-west1``, ``global``), the project from
ANTHROPIC_VERTEX_PROJECT_ID or the credentials. The token is Google's Application Default Credentials
(``gcloud auth application-default login``, GOOGLE_APPLICATION_CREDENTIALS), through google-auth (the
``vertex`` extra), refreshed as it expires; or an access token held in the variable ``--api-key-env`` names
(``export VERTEX_TOKEN=$(gcloud auth print-access-token)``), which needs no google-auth but expires in an hour.
"""
from __future__ import annotations

import os
from typing import Any

from ...errors import ConfigError, MissingDependency
from ..config import EngineConfig
from .anthropic import AnthropicModel
from .base import require_name

REGION_ENV, PROJECT_ENV = "CLOUD_ML_REGION", "ANTHROPIC_VERTEX_PROJECT_ID"
SCOPE = "https://www.googleapis.com/auth/cloud-platform"


class VertexModel(AnthropicModel):
    engine = "vertex"
    key_env = ""  # no key: an access token (see _read_key)
    base_env = "ANTHROPIC_VERTEX_BASE_URL"
    provider_label = "Claude on Vertex AI"
    client_class = "AsyncAnthropicVertex"

    def _read_key(self) -> str:
        """An access token from --api-key-env's variable, else Application Default Credentials (checked
        now, so a run without them stops before its first call)."""
        self.region = os.environ.get(REGION_ENV, "")
        if not self.region:
            raise ConfigError(f"Claude on Vertex AI needs a region: set {REGION_ENV} (e.g. us-east5 or global)")
        self.project = os.environ.get(PROJECT_ENV, "")
        self._credentials: Any = None
        if self.options.api_key_env:
            token = os.environ.get(self._key_env, "")
            if not token:
                raise ConfigError(f"--api-key-env {self._key_env}: that environment variable is not set or empty")
        else:
            token = ""
            self._credentials, found = _default_credentials()
            self.project = self.project or found or ""
        if not self.project:
            raise ConfigError(f"Claude on Vertex AI needs a Google Cloud project: set {PROJECT_ENV}")
        return token

    def secrets(self) -> list[str]:
        return [self._key, getattr(self._credentials, "token", None) or ""]

    def _client_args(self) -> dict[str, Any]:
        return {"region": self.region, "project_id": self.project, "access_token": self._key or None,
                "credentials": self._credentials, "base_url": self.options.api_base}

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "region": self.region, "project": self.project}


def _default_credentials() -> tuple[Any, str | None]:
    try:
        import google.auth
        from google.auth.exceptions import DefaultCredentialsError
    except ImportError:
        raise MissingDependency("google-auth (Claude on Vertex AI authenticates with Google credentials)",
                                "vertex") from None
    try:
        return google.auth.default(scopes=[SCOPE])
    except DefaultCredentialsError as exc:
        raise ConfigError(f"Claude on Vertex AI: no Google credentials: {exc} (or put an access token in a "
                          "variable and name it with --api-key-env)") from None


def from_config(config: EngineConfig) -> VertexModel:
    """The registry's factory for provider "vertex"."""
    return VertexModel(require_name(config), config.name, config.api)
