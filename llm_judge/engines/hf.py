"""Hugging Face transformers engine: batched generation with left padding, in-process.

Requests are grouped by their sampling settings, sorted by prompt length (so a batch wastes little on
padding) and generated ``batch_size`` at a time. Greedy below temperature 1e-4, as FastChat does; above
it each request is sampled with its own seed (sampling.py), whatever batch it lands in.
"""
from __future__ import annotations

import logging
from typing import Any, Iterator, Sequence

from ..errors import ConfigError, MissingDependency
from .base import ChatModel, GenRequest, GenResult
from .config import EngineConfig, HFOptions
from .precision import check_dtype_runs, resolve_dtype, torch_dtype
from .weights import resolve_model_path

log = logging.getLogger(__name__)


def _torch():
    try:
        import torch
    except ImportError:
        raise MissingDependency("torch", "hf") from None
    return torch


def load_tokenizer(path: str, opts: HFOptions) -> Any:
    """The tokenizer for prompts (``opts.tokenizer_path``, else the model's at ``path``): left padding, a pad
    token, and the chat template override if any."""
    try:
        from transformers import AutoTokenizer
    except ImportError:
        raise MissingDependency("transformers", "hf") from None
    # --revision names a revision of the model; a tokenizer of its own is loaded as it is named.
    source, revision = (opts.tokenizer_path, None) if opts.tokenizer_path else (path, opts.revision)
    tokenizer = AutoTokenizer.from_pretrained(source, revision=revision, trust_remote_code=opts.trust_remote_code)
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if opts.chat_template:
        tokenizer.chat_template = opts.chat_template
    return tokenizer


def render_chat(tokenizer: Any, request: GenRequest, name: str) -> str:
    """The prompt text for a request: the chat template, then any assistant prefill."""
    if not tokenizer.chat_template:
        raise ConfigError(f"{name}: the tokenizer has no chat template; give one with --with-prompt or --conv-template")
    text = tokenizer.apply_chat_template(request.messages, tokenize=False, add_generation_prompt=True)
    return text + request.prefill


def clean_answer(text: str, newline: str | None, truncated: bool = False) -> str:
    """Decoded model output as stored: the format's newline marker turned back into newlines, trimmed.

    An answer cut by the token budget may end inside a character: byte-level tokenizers split a Japanese
    character over several tokens, and decoding only the first of them gives U+FFFD. Those are dropped.
    """
    if truncated:
        text = text.rstrip("\ufffd")
    if newline:
        text = text.replace(newline, "\n")
    return text.strip()


def _stop_in_tail(tokenizer: Any, ids: list[int], stop: list[str] | None) -> bool:
    """Whether the last tokens of ``ids`` hold a stop string: a row that stopped on it, not on the budget."""
    if not stop:
        return False
    tail = tokenizer.decode(ids[-(max(len(s) for s in stop) + 1):], skip_special_tokens=True)
    return any(s in tail for s in stop)


class StopOnText:
    """A transformers stopping criterion: a row is done once its newest tokens hold one of ``stop``.

    Checked after every step, so the first step whose window holds a stop string is the one whose token
    completed it; a window of (longest stop + 1) tokens holds the whole string, every token being at least
    one character. The token that completes it is kept, with any characters it has after the stop string.
    """

    def __init__(self, tokenizer: Any, stop: list[str], prompt_len: int):
        self.tokenizer, self.stop, self.prompt_len = tokenizer, list(stop), prompt_len

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        new = input_ids[:, self.prompt_len:].tolist()
        done = [_stop_in_tail(self.tokenizer, row, self.stop) for row in new]
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)


class HFModel(ChatModel):
    engine = "hf"

    def __init__(self, model_path: str | None, name: str, options: HFOptions | None = None):
        torch = _torch()
        try:
            from transformers import AutoModelForCausalLM
        except ImportError:
            raise MissingDependency("transformers", "hf") from None
        self.options = opts = options or HFOptions()
        self.name = name
        self.model_path = model_path
        self.device = opts.device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.dtype = resolve_dtype(opts.dtype, self.device)  # "auto" -> bfloat16 on a CPU with AMX / AVX-512 bf16
        check_dtype_runs(torch, self.dtype, self.device)  # a dtype this device cannot run: one line, nothing loaded
        self.path = resolve_model_path(model_path)
        kwargs: dict[str, Any] = {"revision": opts.revision, "trust_remote_code": opts.trust_remote_code,
                                  "dtype": torch_dtype(torch, self.dtype)}
        if self.device == "cuda" and opts.num_gpus > 1:
            kwargs["device_map"] = "auto"
            if opts.max_gpu_memory:
                kwargs["max_memory"] = {i: opts.max_gpu_memory for i in range(opts.num_gpus)}
        if opts.threads:
            torch.set_num_threads(opts.threads)
        self.tokenizer = load_tokenizer(self.path, opts)
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
             "dtype": self.dtype, "batch_size": self.options.batch_size or "auto"}
        if self.options.lora_path:
            d["lora_path"] = self.options.lora_path
        for key in ("revision", "tokenizer_path", "prompt_format"):
            if getattr(self.options, key):
                d[key] = getattr(self.options, key)
        return d

    # -- prompts -----------------------------------------------------------------------------------

    def render(self, request: GenRequest) -> str:
        """The prompt text for a request: the chat template, then any assistant prefill."""
        return render_chat(self.tokenizer, request, self.name)

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
                        r.repetition_penalty, r.max_new_tokens, tuple(r.stop or ()), r.score_choices is not None)
            groups.setdefault(sampling, []).append(i)
        for key, idxs in groups.items():
            if key[-1]:  # scoring batches by itself, sharing each group's common prompt opening
                for k, result in self._score_batch([prompts[i] for i in idxs], [requests[i] for i in idxs]):
                    yield idxs[k], result
                continue
            idxs.sort(key=lambda i: -lengths[i])  # longest first: a memory error shows up at once
            size = self.options.batch_size or self._auto_rows(lengths[idxs[0]] + key[4])
            for start in range(0, len(idxs), size):
                batch = idxs[start:start + size]
                texts = [prompts[i] for i in batch]
                reqs = [requests[i] for i in batch]
                yield from zip(batch, self._generate_batch(texts, reqs))

    def _auto_rows(self, tokens: int) -> int:
        """--batch-size auto: as many rows as memory holds (batch_rows.py); ``tokens`` bounds one row's
        positions (the prompt's characters, more than its tokens, plus the new tokens)."""
        from .batch_rows import auto_rows

        rows = auto_rows(self.model.config, self.model.dtype.itemsize, tokens, self.device)
        log.debug("--batch-size auto: %d rows for up to %d positions each", rows, tokens)
        return rows

    def _generate_batch(self, texts: list[str], reqs: list[GenRequest]) -> list[GenResult]:
        enc = self._encode(texts)
        try:
            out = self._generate_ids(enc, reqs)
        except Exception as exc:  # e.g. out of memory: fail this batch, keep the run going
            log.exception("generation failed for a batch of %d", len(texts))
            return [GenResult(error=f"generation failed: {type(exc).__name__}: {exc}") for _ in texts]
        r = reqs[0]
        prompt_len = enc["input_ids"].shape[1]
        eos_ids = self._eos_ids()
        if r.stop:
            eos_ids.add(self.tokenizer.pad_token_id)  # the padding after a row that met its stop string
        results: list[GenResult] = []
        for row, attn in zip(out, enc["attention_mask"]):
            new = row[prompt_len:].tolist()
            n = len(new)
            for j, tok in enumerate(new):
                if tok in eos_ids:
                    n = j
                    break
            raw = self.tokenizer.decode(new[:n], skip_special_tokens=True)
            finish = "stop" if n < len(new) or _stop_in_tail(self.tokenizer, new[:n], r.stop) else "length"
            text = clean_answer(raw, self.options.newline, truncated=finish == "length")
            results.append(GenResult(text=text, prompt_tokens=int(attn.sum()), completion_tokens=n,
                                     finish_reason=finish))
        return results

    def _generate_ids(self, enc: dict[str, Any], reqs: list[GenRequest]) -> Any:
        """Prompt + new token ids per row (``generate``'s output) for one encoded batch of like requests."""
        torch = self._torch
        r = reqs[0]
        # Greedy for generate in both cases: a sampled batch picks its tokens in RowSampler (sampling.py), each
        # row with its own request's seed, so an answer does not depend on the batch it was generated in.
        gen_kwargs: dict[str, Any] = {"max_new_tokens": r.max_new_tokens, "pad_token_id": self.tokenizer.pad_token_id,
                                      "do_sample": False, "temperature": None, "top_p": None, "top_k": None}
        if not r.greedy:
            from .sampling import seeded_sampling

            gen_kwargs["logits_processor"] = seeded_sampling([q.seed for q in reqs], r.temperature, r.top_p,
                                                             getattr(self.model, "generation_config", None))
        if r.repetition_penalty != 1.0:
            gen_kwargs["repetition_penalty"] = r.repetition_penalty
        if r.stop:
            # Not transformers' stop_strings (StopStringCriteria): it made each step several times slower
            # (docs/local-judges.md). Decoding the last few tokens of each row costs little.
            # A row that stops is padded with pad_token_id while the others go on.
            from transformers import StoppingCriteriaList

            criterion = StopOnText(self.tokenizer, r.stop, enc["input_ids"].shape[1])
            gen_kwargs["stopping_criteria"] = StoppingCriteriaList([criterion])
        with torch.inference_mode():
            return self.model.generate(**enc, **gen_kwargs)

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

    def _score_batch(self, texts: list[str], reqs: list[GenRequest]) -> Iterator[tuple[int, GenResult]]:
        """(index, result) with the probability of each label in ``score_choices`` after each prompt.

        See scoring.py: one forward pass per prompt whatever the number of labels, labels tokenized with
        the prompt (so "10" followed by "]]" is scored as the model would write it), and prompts with a
        common opening share its KV cache.
        """
        from . import scoring

        tok = self.tokenizer
        items: list[scoring.ScoreItem | None] = []
        prompt_tokens: list[int] = []
        for text, req in zip(texts, reqs):
            labels = req.score_choices or []
            # One call tokenizes the prompt and every prompt + candidate (fast tokenizers batch it).
            enc = tok([text] + [text + label + req.score_suffix for label in labels], add_special_tokens=False)
            prompt_tokens.append(len(enc["input_ids"][0]))
            try:
                items.append(scoring.build_item(enc["input_ids"][1:]))
            except ValueError as exc:
                items.append(None)
                yield len(items) - 1, GenResult(error=f"cannot score these labels: {exc}")
        ready = [i for i, item in enumerate(items) if item is not None]
        finished: set[int] = set()
        try:
            for k, logprobs in scoring.score_items(self.model, [items[i] for i in ready], self.options.batch_size or 16,
                                                   tok.pad_token_id, self._torch):
                i, req = ready[k], reqs[ready[k]]
                finished.add(i)
                dist = dict(zip(req.score_choices or [], scoring.normalise(logprobs)))
                best = max(dist, key=dist.get)
                yield i, GenResult(text=req.prefill + best + req.score_suffix, distribution=dist,
                                   prompt_tokens=prompt_tokens[i], completion_tokens=0, finish_reason="score")
        except Exception as exc:  # e.g. out of memory: fail the requests not scored yet, keep the run going
            log.exception("scoring failed for %d requests", len(ready) - len(finished))
            for i in ready:
                if i not in finished:
                    yield i, GenResult(error=f"scoring failed: {type(exc).__name__}: {exc}")

    def close(self) -> None:
        self.model = None


def from_config(config: EngineConfig) -> HFModel:
    """The registry's factory for provider "hf"."""
    return HFModel(config.model, config.name, config.hf)
