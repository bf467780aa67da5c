"""Engines behind one interface (:class:`ChatModel`), and the rule that picks one for a model name.

Provider rule, in order: an explicit ``--engine``/``--judge-engine``; a prefix (``hf:``, ``vllm:``,
``openai:``, ``anthropic:``); a local path or the default model -> transformers; a ``claude`` name ->
Anthropic; a ``gpt-``/``o1``/``o3``/``o4``/``chatgpt`` name, or any name when an OpenAI base URL is set ->
OpenAI(-compatible); anything else -> transformers (a hub id).
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .base import ChatModel, GenRequest, GenResult
from .weights import DEFAULT_MODEL_ID, is_default, model_id_for

__all__ = ["ChatModel", "GenRequest", "GenResult", "load_model", "load_api_model", "engine_for", "split_provider", "DEFAULT_MODEL_ID", "model_id_for"]

PROVIDERS = ("hf", "vllm", "openai", "anthropic")
_OPENAI_NAME = re.compile(r"^(gpt-|o1|o3|o4|chatgpt|text-davinci|davinci)", re.IGNORECASE)
_ANTHROPIC_NAME = re.compile(r"^claude", re.IGNORECASE)


def split_provider(spec: str | None, engine: str | None = None) -> tuple[str, str | None]:
    """(provider, model name or path without its prefix) for a model given on the command line."""
    if spec and ":" in spec and spec.split(":", 1)[0] in PROVIDERS and not Path(spec).exists():
        provider, name = spec.split(":", 1)
        if engine and engine != provider:
            raise ConfigError(f"model {spec!r} names provider {provider!r} but the engine flag says {engine!r}")
        return provider, name
    if engine:
        if engine not in PROVIDERS and engine != "api":
            raise ConfigError(f"unknown engine {engine!r} (known: {', '.join(PROVIDERS)}, api)")
        if engine == "api":
            return ("anthropic" if spec and _ANTHROPIC_NAME.match(spec) else "openai"), spec
        return engine, spec
    if is_default(spec) or (spec and Path(spec).expanduser().exists()):
        return "hf", spec
    if _ANTHROPIC_NAME.match(spec or ""):
        return "anthropic", spec
    if _OPENAI_NAME.match(spec or "") or os.environ.get("OPENAI_BASE_URL"):
        return "openai", spec
    return "hf", spec


def load_model(spec: str | None, *, name: str | None = None, engine: str | None = None,
               hf_options: Any = None, api_options: Any = None, vllm_options: Any = None) -> ChatModel:
    """Build the engine for ``spec`` (a path, hub id, API model name or default); imports lazily."""
    provider, model = split_provider(spec, engine)
    name = name or model_id_for(model)
    if provider == "hf":
        from .hf import HFModel
        return HFModel(model, name, hf_options)
    if provider == "vllm":
        try:
            from .vllm import VLLMModel
        except ImportError as exc:
            raise ConfigError(f"the vllm engine is not available: {exc}") from None
        return VLLMModel(model, name, vllm_options, hf_options)
    return load_api_model(provider, model, name, api_options)


def engine_for(spec: str | None, engine: str | None, api_base: str | None) -> str | None:
    """The engine flag to use: with --api-base, a plain model name means a model on that server."""
    if engine is None and api_base:
        if split_provider(spec)[0] == "hf":
            return "openai"
    return engine


def load_api_model(provider: str, model: str | None, name: str, options: Any = None) -> ChatModel:
    """The engine for ``provider`` ("openai" or "anthropic") and a free-form model name."""
    if not model:
        raise ConfigError(f"an {provider} model needs a name, e.g. {provider}:MODEL")
    if provider == "openai":
        from .api.openai import OpenAIModel

        return OpenAIModel(model, name, options)
    if provider == "anthropic":
        from .api.anthropic import AnthropicModel

        return AnthropicModel(model, name, options)
    raise ConfigError(f"unknown API provider {provider!r} (known: openai, anthropic)")
