"""Hugging Face transformers engine: batched generation with left padding, in-process.

Requests are grouped by their sampling settings, sorted by prompt length (so a batch wastes little on
padding) and generated ``batch_size`` at a time. Greedy below temperature 1e-4, as FastChat does.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

from ..errors import ConfigError, MissingDependency
from .base import ChatModel, GenRequest, GenResult
from .weights import resolve_model_path

log = logging.getLogger(__name__)


@dataclass
class HFOptions:
    dtype: str = "auto"  # auto | float32 | float16 | bfloat16
    device: str | None = None  # None: cuda when available, else cpu
    batch_size: int = 16
    num_gpus: int = 1
    max_gpu_memory: str | None = None  # e.g. "20GiB": per-GPU cap when spreading a model over GPUs
    revision: str | None = None
    trust_remote_code: bool = False
    lora_path: str | None = None
    chat_template: str | None = None  # a Jinja chat template overriding the tokenizer's


def _torch():
    try:
        import torch
    except ImportError:
        raise MissingDependency("torch", "hf") from None
    return torch


def _dtype(torch: Any, name: str, device: str) -> Any:
    if name == "auto":
        return torch.float32 if device == "cpu" else torch.bfloat16
    try:
        return {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[name]
    except KeyError:
        raise ConfigError(f"--dtype must be auto, float32, float16 or bfloat16, not {name!r}") from None


class HFModel(ChatModel):
    engine = "hf"

    def __init__(self, model_path: str | None, name: str, options: HFOptions | None = None):
        torch = _torch()
        try:
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError:
            raise MissingDependency("transformers", "hf") from None
        self.options = opts = options or HFOptions()
        self.name = name
        self.model_path = model_path
        self.path = resolve_model_path(model_path)
        self.device = opts.device or ("cuda" if torch.cuda.is_available() else "cpu")
        kwargs: dict[str, Any] = {"revision": opts.revision, "trust_remote_code": opts.trust_remote_code,
                                  "dtype": _dtype(torch, opts.dtype, self.device)}
        if self.device == "cuda" and opts.num_gpus > 1:
            kwargs["device_map"] = "auto"
            if opts.max_gpu_memory:
                kwargs["max_memory"] = {i: opts.max_gpu_memory for i in range(opts.num_gpus)}
        self.tokenizer = AutoTokenizer.from_pretrained(self.path, revision=opts.revision,
                                                       trust_remote_code=opts.trust_remote_code)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        if opts.chat_template:
            self.tokenizer.chat_template = opts.chat_template
        model = AutoModelForCausalLM.from_pretrained(self.path, **kwargs)
        if opts.lora_path:
            try:
                from peft import PeftModel
            except ImportError:
                raise MissingDependency("peft", "lora") from None
            model = PeftModel.from_pretrained(model, opts.lora_path)
        if "device_map" not in kwargs:
            model = model.to(self.device)
        model.eval()
        self.model = model
        self._torch = torch

    def describe(self) -> dict[str, Any]:
        d = {"engine": self.engine, "model": self.name, "model_path": self.model_path or "default",
             "dtype": self.options.dtype, "batch_size": self.options.batch_size}
        if self.options.lora_path:
            d["lora_path"] = self.options.lora_path
        if self.options.revision:
            d["revision"] = self.options.revision
        return d

    # -- prompts -----------------------------------------------------------------------------------

    def render(self, request: GenRequest) -> str:
        """The prompt text for a request: the chat template, then any assistant prefill."""
        if not self.tokenizer.chat_template:
            raise ConfigError(f"{self.name}: the tokenizer has no chat template; give one with "
                              "--with-prompt or --conv-template")
        text = self.tokenizer.apply_chat_template(request.messages, tokenize=False, add_generation_prompt=True)
        return text + request.prefill

    def _encode(self, texts: list[str]) -> Any:
        # Chat templates already hold the special tokens; do not add a second BOS.
        return self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.model.device)

    # -- generation --------------------------------------------------------------------------------

    def stream(self, requests: Sequence[GenRequest]) -> Iterator[tuple[int, GenResult]]:
        prompts: list[str | None] = []
        for i, req in enumerate(requests):
            try:
                prompts.append(self.render(req))
            except ConfigError:
                raise
            except Exception as exc:  # a template that rejects these messages fails this request only
                prompts.append(None)
                yield i, GenResult(error=f"chat template failed: {exc}")
        lengths = {i: len(p) for i, p in enumerate(prompts) if p is not None}
        groups: dict[tuple, list[int]] = {}
        for i in lengths:
            r = requests[i]
            sampling = (r.greedy, 0.0 if r.greedy else r.temperature, 1.0 if r.greedy else r.top_p,
                        r.repetition_penalty, r.max_new_tokens, r.score_choices is not None)
            groups.setdefault(sampling, []).append(i)
        for key, idxs in groups.items():
            idxs.sort(key=lambda i: -lengths[i])  # longest first: a memory error shows up at once
            for start in range(0, len(idxs), self.options.batch_size):
                batch = idxs[start:start + self.options.batch_size]
                texts = [prompts[i] for i in batch]
                reqs = [requests[i] for i in batch]
                if key[-1]:
                    results = self._score_batch(texts, reqs)
                else:
                    results = self._generate_batch(texts, reqs)
                yield from zip(batch, results)

    def _generate_batch(self, texts: list[str], reqs: list[GenRequest]) -> list[GenResult]:
        torch = self._torch
        r = reqs[0]
        enc = self._encode(texts)
        gen_kwargs: dict[str, Any] = {"max_new_tokens": r.max_new_tokens, "pad_token_id": self.tokenizer.pad_token_id}
        if r.greedy:
            gen_kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        else:
            gen_kwargs.update(do_sample=True, temperature=r.temperature, top_p=r.top_p)
            if r.seed is not None:
                torch.manual_seed(r.seed)
        if r.repetition_penalty != 1.0:
            gen_kwargs["repetition_penalty"] = r.repetition_penalty
        try:
            with torch.inference_mode():
                out = self.model.generate(**enc, **gen_kwargs)
        except Exception as exc:  # e.g. out of memory: fail this batch, keep the run going
            log.exception("generation failed for a batch of %d", len(texts))
            return [GenResult(error=f"generation failed: {type(exc).__name__}: {exc}") for _ in texts]
        prompt_len = enc["input_ids"].shape[1]
        eos_ids = self._eos_ids()
        results = []
        for row, attn in zip(out, enc["attention_mask"]):
            new = row[prompt_len:].tolist()
            n = len(new)
            for j, tok in enumerate(new):
                if tok in eos_ids:
                    n = j
                    break
            finish = "stop" if n < len(new) else "length"
            text = self.tokenizer.decode(new[:n], skip_special_tokens=True).strip()
            results.append(GenResult(text=text, prompt_tokens=int(attn.sum()), completion_tokens=n,
                                     finish_reason=finish))
        return results

    def _eos_ids(self) -> set[int]:
        ids = set()
        cfg = getattr(self.model, "generation_config", None)
        eos = getattr(cfg, "eos_token_id", None)
        if isinstance(eos, int):
            ids.add(eos)
        elif isinstance(eos, list):
            ids.update(eos)
        if self.tokenizer.eos_token_id is not None:
            ids.add(self.tokenizer.eos_token_id)
        return ids

    def _score_batch(self, texts: list[str], reqs: list[GenRequest]) -> list[GenResult]:
        """Probability of each label in ``score_choices`` as the continuation of the prompt.

        A label may take several tokens ("10" can be "1" then "0"), so each candidate is scored as the
        whole sequence label + suffix ("10]]" against "1]]"): the sum of its tokens' log-probabilities,
        from one batched forward pass over prompt + candidate. Prompt and candidate are tokenized apart
        and joined as ids, so the candidate's tokens never merge with the prompt's.
        """
        torch = self._torch
        tok = self.tokenizer
        seqs: list[list[int]] = []
        spans: list[tuple[int, int]] = []  # (start of candidate, end) within each sequence
        for text, req in zip(texts, reqs):
            prompt_ids = tok(text, add_special_tokens=False)["input_ids"]
            for label in req.score_choices or []:
                cand = tok(label + req.score_suffix, add_special_tokens=False)["input_ids"]
                seqs.append(prompt_ids + cand)
                spans.append((len(prompt_ids), len(prompt_ids) + len(cand)))
        width = max(len(s) for s in seqs)
        pad = tok.pad_token_id
        input_ids = torch.tensor([[pad] * (width - len(s)) + s for s in seqs], device=self.model.device)
        mask = torch.tensor([[0] * (width - len(s)) + [1] * len(s) for s in seqs], device=self.model.device)
        totals: list[float] = []
        step = max(1, self.options.batch_size)
        with torch.inference_mode():
            for b in range(0, len(seqs), step):
                logits = self.model(input_ids=input_ids[b:b + step], attention_mask=mask[b:b + step]).logits
                logprobs = torch.log_softmax(logits.float(), dim=-1)
                for k in range(logprobs.shape[0]):
                    n = b + k
                    offset = width - len(seqs[n])
                    start, end = spans[n]
                    totals.append(sum(float(logprobs[k, offset + pos - 1, seqs[n][pos]]) for pos in range(start, end)))
        results = []
        at = 0
        for text, req in zip(texts, reqs):
            labels = req.score_choices or []
            scores = dict(zip(labels, totals[at:at + len(labels)]))
            at += len(labels)
            top = max(scores.values())
            z = sum(math.exp(v - top) for v in scores.values())
            dist = {c: math.exp(v - top) / z for c, v in scores.items()}
            best = max(dist, key=dist.get)
            results.append(GenResult(text=req.prefill + best + req.score_suffix, distribution=dist,
                                     prompt_tokens=len(tok(text, add_special_tokens=False)["input_ids"]),
                                     completion_tokens=0, finish_reason="score"))
        return results

    def close(self) -> None:
        self.model = None
