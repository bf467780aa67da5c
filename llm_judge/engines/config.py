"""What it takes to build an engine, as one frozen value: :class:`EngineConfig` and its option groups.

A command resolves its flags into an EngineConfig once (``cli/engine_flags.py``); from then on the
provider is never guessed again from the model name, and library code takes this value, never an
argparse namespace. Every class here is a frozen dataclass of plain values, so a config pickles: Ray
ships it to each worker of a pool, which builds its own engine from it (``registry.load``).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

LOCAL_PROVIDERS = ("hf", "vllm", "llamacpp", "mock")  # engines that run in this process (and so can be pooled by Ray)
API_PROVIDERS = ("openai", "anthropic", "azure", "bedrock", "vertex", "gemini")
DEFAULT_TIMEOUT = 300.0


@dataclass(frozen=True)
class HFOptions:
    """transformers (and vLLM's shared) settings: weights, precision, batching, prompt format."""

    # auto | float32 | float16 | bfloat16; auto: bfloat16 on a GPU or a CPU with AMX / AVX-512 bf16, else
    # float32 (precision.resolve_dtype). Engines record the resolved one with answers.
    dtype: str = "auto"
    device: str | None = None  # None: cuda when available, else cpu
    batch_size: int | None = 16  # None (--batch-size auto): as many rows as free memory holds (batch_rows.py)
    num_gpus: int = 1
    max_gpu_memory: str | None = None  # e.g. "20GiB": per-GPU cap when spreading a model over GPUs
    revision: str | None = None
    trust_remote_code: bool = False
    lora_path: str | None = None
    tokenizer_path: str | None = None  # a tokenizer other than the model's (path or hub id); None: the model's
    chat_template: str | None = None  # a Jinja chat template overriding the tokenizer's
    prompt_format: str | None = None  # where chat_template came from ("with-prompt:rinna"), stored with answers
    threads: int | None = None  # torch CPU threads (None: torch's default)

    @property
    def newline(self) -> str | None:
        """What the model writes for a newline under this prompt format (rinna: "<NL>"), or None."""
        from .chat_templates import newline_marker

        return newline_marker(self.chat_template)


@dataclass(frozen=True)
class VLLMOptions:
    tensor_parallel_size: int = 1  # --num-gpus-per-model
    gpu_memory_utilization: float | None = None  # None: from --max-gpu-memory, else vLLM's default
    max_model_len: int | None = None  # None: the model's own
    # None: eager on CPU (compiling the model there takes minutes and pays off only for long runs),
    # vLLM's default (compiled, CUDA graphs) on GPU.
    enforce_eager: bool | None = None
    seed: int = 0
    max_lora_rank: int = 64
    cpu_kv_cache_gib: int = 2  # KV cache on the CPU build (VLLM_CPU_KVCACHE_SPACE) unless set already


@dataclass(frozen=True)
class APIOptions:
    parallel: int = 16  # calls in flight
    api_base: str | None = None  # None: the SDK's env variable (OPENAI_BASE_URL / ANTHROPIC_BASE_URL) or default
    api_key_env: str | None = None  # None: OPENAI_API_KEY / ANTHROPIC_API_KEY
    max_retries: int = 6
    request_timeout: float = DEFAULT_TIMEOUT
    api_version: str | None = None  # Azure OpenAI's api-version; None: OPENAI_API_VERSION
    # Reasoning judges (engines/api/params.py): OpenAI's and Gemini's reasoning_effort, Anthropic's
    # extended-thinking budget in tokens. None: the model's default.
    reasoning_effort: str | None = None
    thinking_budget: int | None = None


@dataclass(frozen=True)
class PoolOptions:
    """Several copies of a local engine through Ray (see pool.py)."""

    workers: int = 1
    gpus_per_worker: float = 0  # 0: CPU workers
    address: str | None = None  # an existing Ray cluster ("auto" or host:port); None: start one here
    max_retries: int = 2  # fresh workers started for a shard whose worker died


@dataclass(frozen=True)
class EngineConfig:
    """One engine, fully resolved: which provider, which model, the name in records, and its settings.

    ``model`` is what the provider loads, without any ``provider:`` prefix: a path or hub id (None: the
    default model), an API model name, or a mock script. ``pool`` is None for one in-process engine.
    """

    provider: str
    model: str | None
    name: str
    hf: HFOptions = HFOptions()
    vllm: VLLMOptions = VLLMOptions()
    api: APIOptions = APIOptions()
    pool: PoolOptions | None = None

    @property
    def local(self) -> bool:
        return self.provider in LOCAL_PROVIDERS

    @property
    def is_api(self) -> bool:
        return self.provider in API_PROVIDERS

    def replace(self, **changes: Any) -> "EngineConfig":
        return dataclasses.replace(self, **changes)
