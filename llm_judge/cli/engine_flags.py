"""The engine flags every generating command shares, and the one function that turns them into an EngineConfig.

gen_model_answer, gen_judgment and ``eval_judge run`` declare the same flags for local engines
(transformers, vLLM), Ray workers and API engines; :func:`engine_config` resolves them, with the model
given on the command line, into the frozen value the library takes. The provider is chosen here, once.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ..engines.api.batch_options import DEFAULT_POLL, RETRY_MODES, BatchOptions, for_engine
from ..engines.api.params import MIN_THINKING_BUDGET, rules_for
from ..engines.config import APIOptions, EngineConfig, HFOptions, PoolOptions, VLLMOptions
from ..engines.precision import DTYPE_CHOICES
from ..engines.registry import ENGINE_CHOICES, resolve
from ..errors import ConfigError
from . import int_at_least, positive_int


def _batch_size(text: str) -> int | None:
    """--batch-size: a positive number, or auto (None: the engine sizes batches by free memory)."""
    return None if text == "auto" else positive_int(text)


def add_engine_args(parser: argparse.ArgumentParser, *, judge: bool) -> None:
    """Local-engine, Ray and API flags; ``judge`` words the help for a judge model and batches 8 prompts."""
    what = "judge" if judge else "model"
    g = parser.add_argument_group("local engines (transformers, vLLM)")
    g.add_argument("--dtype", default="auto", choices=DTYPE_CHOICES,
                   help="auto: bfloat16 on a GPU or a CPU with AVX-512 bf16 / AMX, else float32 (default: auto)")
    g.add_argument("--batch-size", type=_batch_size, default=8 if judge else None, metavar="N|auto",
                   help="prompts per batch; auto: as many as a quarter of the free memory holds, at most 128 "
                        f"(default: {8 if judge else 'auto'})")
    g.add_argument("--num-gpus-per-model", type=positive_int, default=1, help=f"GPUs per {what} copy")
    g.add_argument("--num-gpus-total", "--gpus", dest="num_gpus_total", type=positive_int, default=1,
                   help=f"GPUs in all: total / per-model {what} copies work at once through Ray")
    g.add_argument("--max-gpu-memory", default=None, help="per-GPU memory cap, e.g. 20GiB")
    g.add_argument("--revision", default=None, help="model revision (branch, tag or commit)")
    g.add_argument("--trust-remote-code", action="store_true", help="allow model code from the hub (off by default)")
    g.add_argument("--lora-model", "--lora_model", dest="lora_model", default=None, help="a LoRA adapter to apply")
    g.add_argument("--enforce-eager", action=argparse.BooleanOptionalAction, default=None,
                   help="vLLM: skip graph compilation (default: on CPU yes, on GPU vLLM's default)")
    g = parser.add_argument_group("Ray workers")
    g.add_argument("--num-workers", type=positive_int, default=None,
                   help=f"{what} copies working at once through Ray (CPU workers on a machine without GPUs)")
    g.add_argument("--ray-address", default=None, help="join an existing Ray cluster (e.g. auto or host:6379)")
    g = parser.add_argument_group("API engines (OpenAI, Anthropic, Azure OpenAI, Claude on Bedrock / Vertex AI, "
                                  "Gemini, OpenAI-compatible servers)")
    g.add_argument("--parallel", type=positive_int, default=APIOptions.parallel,
                   help=f"requests in flight (default: {APIOptions.parallel})")
    g.add_argument("--api-base", "--openai-api-base", dest="api_base", default=None,
                   help="base URL of the API, e.g. http://localhost:8000/v1 for a vLLM server "
                        "(default: OPENAI_BASE_URL / ANTHROPIC_BASE_URL, else the provider's)")
    g.add_argument("--api-key-env", default=None, metavar="NAME",
                   help="environment variable holding the API key (default: OPENAI_API_KEY / ANTHROPIC_API_KEY)")
    g.add_argument("--max-retries", type=int_at_least(0), default=APIOptions.max_retries,
                   help=f"retries of a call after 429, 5xx, timeouts, dropped connections "
                        f"(default: {APIOptions.max_retries})")
    g.add_argument("--request-timeout", type=float, default=APIOptions.request_timeout, metavar="SECONDS",
                   help=f"give up on one attempt after this long (default: {APIOptions.request_timeout:g})")
    g.add_argument("--api-version", default=None, help="Azure OpenAI's API version, e.g. 2024-10-21 "
                                                         "(default: OPENAI_API_VERSION)")
    g.add_argument("--reasoning-effort", default=None, choices=["minimal", "low", "medium", "high"],
                   help="reasoning models of OpenAI, Azure OpenAI and Gemini: how much they think before answering")
    g.add_argument("--thinking-budget", type=int_at_least(MIN_THINKING_BUDGET), default=None, metavar="TOKENS",
                   help="Claude (Anthropic, Bedrock, Vertex AI): extended thinking with this many tokens, on top "
                        f"of the verdict's own (at least {MIN_THINKING_BUDGET})")


def add_batch_args(parser: argparse.ArgumentParser) -> None:
    """``--batch`` and its settings: OpenAI's Batch API / Anthropic's Message Batches instead of live calls."""
    g = parser.add_argument_group("batch APIs (OpenAI Batch API, Anthropic Message Batches; about half the price)")
    g.add_argument("--batch", action="store_true",
                   help="submit the requests as batches instead of live calls; the batch ids are saved in "
                        "<output>.batches.json, so a rerun resumes them instead of submitting again")
    g.add_argument("--batch-poll", type=_positive_float, default=DEFAULT_POLL, metavar="SECONDS",
                   help=f"seconds between looks at the batches in progress (default: {DEFAULT_POLL:g})")
    g.add_argument("--batch-retry", choices=RETRY_MODES, default="batch",
                   help="requests that failed inside a batch (429, 5xx) or that an expired or cancelled batch "
                        "never ran: resubmit them in a new batch (default) or call the API live; up to "
                        "--max-retries times, then an error record")


def batch_flags(args: argparse.Namespace) -> BatchOptions | None:
    """The BatchOptions of ``--batch``, or None without the flag."""
    if not args.batch:
        return None
    return BatchOptions(poll=args.batch_poll, retry=args.batch_retry)


def batch_options(args: argparse.Namespace, config: EngineConfig) -> BatchOptions | None:
    """The BatchOptions of ``--batch`` for ``config``'s engine, or None when the flag is not given."""
    return for_engine(batch_flags(args), config)


def engine_choice(parser: argparse.ArgumentParser, flag: str) -> None:
    """``--engine`` / ``--judge-engine``: the provider, when the model name should not decide it."""
    parser.add_argument(flag, choices=ENGINE_CHOICES, default=None,
                        help="inference engine (default: chosen from the model name; mock: a scripted engine)")


def engine_config(args: argparse.Namespace, model: str | None, engine: str | None, name: str | None, *,
                  chat_template: str | None = None, prompt_format: str | None = None,
                  seed: int | None = None) -> EngineConfig:
    """The EngineConfig for ``model`` (as given on the command line) under the engine flags of ``args``.

    ``chat_template``/``prompt_format`` replace the model's chat template (--with-prompt, a judge
    family's wrapper); ``seed`` seeds vLLM's sampling.
    """
    lora = args.lora_model
    hf = HFOptions(dtype=args.dtype, batch_size=args.batch_size, num_gpus=args.num_gpus_per_model,
                   max_gpu_memory=args.max_gpu_memory, revision=args.revision,
                   trust_remote_code=args.trust_remote_code, lora_path=lora, chat_template=chat_template,
                   prompt_format=prompt_format)
    vllm = VLLMOptions(tensor_parallel_size=args.num_gpus_per_model, enforce_eager=args.enforce_eager,
                       seed=seed or 0)
    api = APIOptions(parallel=args.parallel, api_base=args.api_base or None, api_key_env=args.api_key_env or None,
                     max_retries=args.max_retries, request_timeout=args.request_timeout,
                     api_version=args.api_version or None, reasoning_effort=args.reasoning_effort,
                     thinking_budget=args.thinking_budget)
    config = resolve(model, engine, name, hf=hf, vllm=vllm, api=api)
    reasoning = [flag for flag, value in (("--reasoning-effort", api.reasoning_effort),
                                          ("--thinking-budget", api.thinking_budget)) if value is not None]
    if reasoning and not config.is_api:
        raise ConfigError(f"{reasoning[0]} is for API models; {config.provider} models take no such setting "
                          "(an open model's <think> block is kept apart from its verdict on its own)")
    if reasoning:
        rules_for(config.provider, config.model or "", api)  # a flag the provider does not take stops the run here
    if config.provider == "llamacpp":
        from ..engines.llamacpp import check_options

        check_options(config.hf)  # --dtype, --lora-model, --revision: refused here, before anything loads
    if config.provider in ("hf", "vllm") and lora and not Path(lora).expanduser().is_dir():
        raise ConfigError(f"--lora-model {lora}: not a folder (give the folder holding adapter_config.json)")
    if not config.local:
        return config  # API engines run --parallel calls in one process instead of a pool
    return config.replace(pool=_pool_options(args, gpu_engine=config.provider != "mock"))


def _pool_options(args: argparse.Namespace, gpu_engine: bool = True) -> PoolOptions | None:
    """Ray pool settings from the flags, or None when one in-process engine is what they ask for.

    FastChat's rule: ``--num-gpus-total // --num-gpus-per-model`` workers with GPUs; ``--num-workers N``
    asks for N workers explicitly (CPU workers on a machine without GPUs). ``--ray-address`` always uses
    Ray. Without GPUs and without a cluster, a flag asking for several GPUs is an error, not a silent run
    on the CPU. Workers of an engine that uses no GPU (``gpu_engine`` False: the mock) never reserve one.
    """
    per_model, total, address = args.num_gpus_per_model, args.num_gpus_total, args.ray_address
    gpus = _gpus_if_asked(per_model, total, args.num_workers, address)
    if not gpus and not address:
        for flag, value in (("--num-gpus-total", total), ("--num-gpus-per-model", per_model)):
            if value > 1:
                raise ConfigError(f"{flag} {value}: no GPU found; use --num-workers N for N copies "
                                  "on the CPU (or --ray-address to use a cluster's GPUs)")
    workers = args.num_workers or max(1, total // per_model)
    if workers == 1 and not address:
        return None
    use_gpus = gpu_engine and (bool(gpus) or (address is not None and not args.num_workers))
    return PoolOptions(workers=workers, gpus_per_worker=per_model if use_gpus else 0, address=address)


def _gpus_if_asked(per_model: int, total: int, num_workers: int | None, address: str | None) -> int:
    """GPUs on this machine, counted only when a flag could use them (counting imports torch)."""
    if per_model == 1 and total == 1 and not num_workers and not address:
        return 0
    from ..engines.pool import visible_gpus

    return visible_gpus()


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value
