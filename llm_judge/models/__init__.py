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

__all__ = ["ChatModel", "GenRequest", "GenResult", "load_model", "split_provider", "DEFAULT_MODEL_ID", "model_id_for"]

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
    try:
        from .api import load_api_model
    except ImportError as exc:
        raise ConfigError(f"API models are not available in this build: {exc}") from None
    return load_api_model(provider, model, name, api_options)
