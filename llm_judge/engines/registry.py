"""The providers of engines, and the rule that picks one for a model name, applied once per run.

Each provider is a ``"module:factory"`` string, imported the first time it is used, so choosing an API
judge never imports torch and a missing optional engine fails only when it is asked for. A factory
takes an :class:`EngineConfig` and returns the engine.

Provider rule (:func:`split_provider`), in order: an explicit ``--engine``/``--judge-engine``; a prefix
(``hf:``, ``vllm:``, ``llamacpp:``, ``openai:``, ``anthropic:``, ``azure:``, ``bedrock:``, ``vertex:``,
``gemini:``, ``mock:``); the default model or a ``.gguf`` file -> llama.cpp when llama-cpp-python is
installed; another local path (or those without it) -> transformers; a ``claude`` name -> Anthropic; a ``gemini``
name -> Gemini; a ``gpt-``/``o1``/``o3``/``o4``/``chatgpt`` name, or any name when an OpenAI base URL is set
-> OpenAI(-compatible); anything else -> transformers (a hub id). Azure deployments and Claude on Bedrock or
Vertex are named by their prefix only: the same model name is served by several of them.
"""
from __future__ import annotations

import functools
import importlib
import importlib.util
import os
import re
from pathlib import Path
from typing import Callable

from ..errors import ConfigError
from .base import ChatModel
from .config import API_PROVIDERS, LOCAL_PROVIDERS, APIOptions, EngineConfig, HFOptions, PoolOptions, VLLMOptions
from .weights import DEFAULT_MODEL_ID, is_default, model_id_for

__all__ = ["PROVIDERS", "EngineConfig", "resolve", "split_provider", "load", "load_model", "open_engine",
           "DEFAULT_MODEL_ID", "default_name", "model_id_for"]

PROVIDERS: dict[str, str] = {
    "hf": "llm_judge.engines.hf:from_config",
    "vllm": "llm_judge.engines.vllm:from_config",
    "llamacpp": "llm_judge.engines.llamacpp:from_config",
    "openai": "llm_judge.engines.api.openai:from_config",
    "anthropic": "llm_judge.engines.api.anthropic:from_config",
    "azure": "llm_judge.engines.api.azure:from_config",
    "bedrock": "llm_judge.engines.api.bedrock:from_config",
    "vertex": "llm_judge.engines.api.vertex:from_config",
    "gemini": "llm_judge.engines.api.gemini:from_config",
    "mock": "llm_judge.engines.mock:from_config",
}
ENGINE_CHOICES = tuple(PROVIDERS) + ("api",)  # "api": OpenAI, or Anthropic / Gemini for their names
_OPENAI_NAME = re.compile(r"^(gpt-|o1|o3|o4|chatgpt|text-davinci|davinci)", re.IGNORECASE)
# Names only one provider serves under that name (first match wins); the rest goes to OpenAI(-compatible).
_NAMED = (("anthropic", re.compile(r"^claude", re.IGNORECASE)), ("gemini", re.compile(r"^gemini-", re.IGNORECASE)))


def _by_name(spec: str | None) -> str | None:
    return next((provider for provider, pattern in _NAMED if pattern.match(spec or "")), None)


def split_provider(spec: str | None, engine: str | None = None) -> tuple[str, str | None]:
    """(provider, model name or path without its prefix) for a model given on the command line."""
    if spec and ":" in spec and spec.split(":", 1)[0] in PROVIDERS and not Path(spec).exists():
        provider, name = spec.split(":", 1)
        if engine and engine != provider:
            raise ConfigError(f"model {spec!r} names provider {provider!r} but the engine flag says {engine!r}")
        return provider, name
    if engine:
        if engine not in ENGINE_CHOICES:
            raise ConfigError(f"unknown engine {engine!r} (known: {', '.join(ENGINE_CHOICES)})")
        if engine == "api":
            return _by_name(spec) or "openai", spec
        return engine, spec
    if is_default(spec) or (spec and Path(spec).expanduser().exists()):
        return local_provider(spec), spec
    if _by_name(spec):
        return _by_name(spec), spec
    if _OPENAI_NAME.match(spec or "") or os.environ.get("OPENAI_BASE_URL"):
        return "openai", spec
    return "hf", spec


def local_provider(spec: str | None) -> str:
    """The engine for a local model: llama.cpp for a GGUF file (the default model is one) when it is installed,
    as the file is; otherwise transformers (which converts a GGUF file once into a safetensors folder)."""
    gguf = is_default(spec) or str(spec).lower().endswith(".gguf")
    return "llamacpp" if gguf and importlib.util.find_spec("llama_cpp") is not None else "hf"


def resolve(spec: str | None, engine: str | None = None, name: str | None = None, *, hf: HFOptions = HFOptions(),
            vllm: VLLMOptions = VLLMOptions(), api: APIOptions = APIOptions(),
            pool: PoolOptions | None = None) -> EngineConfig:
    """The EngineConfig for a model as given on the command line (``spec``, ``engine``, ``name``).

    With an API base URL, a plain model name (one the rule would give to transformers) means a model on
    that server. ``name`` defaults to the model's id (the last part of its path, like FastChat).
    """
    if engine is None and api.api_base and split_provider(spec)[0] in ("hf", "llamacpp"):
        engine = "openai"
    provider, model = split_provider(spec, engine)
    if provider in API_PROVIDERS + ("mock",) and not model:
        raise ConfigError(f"an {provider} model needs a name, e.g. {provider}:MODEL")
    if name is None:
        name = default_name(provider, model)
    return EngineConfig(provider, model, name, hf=hf, vllm=vllm, api=api,
                        pool=pool if provider in LOCAL_PROVIDERS else None)


def default_name(provider: str, model: str | None) -> str:
    """The model id records and file names use when none is given: the last part of the model's path, like
    FastChat (a mock rules file: its stem)."""
    return Path(model).stem if provider == "mock" and model else model_id_for(model)


@functools.lru_cache(maxsize=None)
def _factory(provider: str) -> Callable[[EngineConfig], ChatModel]:
    try:
        target = PROVIDERS[provider]
    except KeyError:
        raise ConfigError(f"unknown engine {provider!r} (known: {', '.join(PROVIDERS)})") from None
    module, attr = target.split(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except ImportError as exc:
        raise ConfigError(f"the {provider} engine is not available: {exc}") from None


def load(config: EngineConfig) -> ChatModel:
    """The engine of ``config``, built in this process (a pool's workers each call this)."""
    return _factory(config.provider)(config)


def load_model(spec: str | None, name: str | None = None, engine: str | None = None) -> ChatModel:
    """An engine with default settings for a model as given on the command line (a convenience for scripts)."""
    return load(resolve(spec, engine, name))


def open_engine(config: EngineConfig) -> ChatModel:
    """The engine to use: built in this process, or a Ray pool whose workers each build it."""
    if config.pool is None:
        return load(config)
    from .pool import RayPool

    # The workers get the config without its pool, so each builds one engine, in its own process.
    return RayPool(functools.partial(load, config.replace(pool=None)), config.pool, name=config.name)
