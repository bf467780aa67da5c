"""A short supervised fine-tuning run on produced examples with transformers (+ peft for LoRA).

It proves the files train a model end to end without LLaMA-Factory: the chat template renders each
example, only the assistant's tokens are learned (the prompt is masked out, as LLaMA-Factory's SFT does),
and the loss per step is returned. It is a smoke run, not a recipe: a few steps over a few short examples.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Sequence

from ..errors import ConfigError, MissingDependency

log = logging.getLogger(__name__)
IGNORE = -100  # label of tokens that do not count in the loss


@dataclass
class FinetuneResult:
    losses: list[float]
    examples: int
    trainable_params: int


def shortest(examples: Sequence[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """The ``n`` examples with the fewest characters, so a short sequence limit rarely cuts them."""
    def size(ex: dict[str, Any]) -> int:
        return sum(len(m["content"]) for m in ex["messages"])

    return sorted(examples, key=size)[:n]


def split_texts(tokenizer, messages: list[dict[str, str]],
                chat_template: str | None = None) -> tuple[str, str, int]:
    """(prompt text, target text, where the answer starts in the target) as the chat template renders them.

    The target is the answer with the template's end-of-turn tokens; a wrapper that renders no assistant
    turn gets the answer, then end of sequence. ``chat_template`` (a judge family's wrapper) replaces the
    tokenizer's own, as gen_judgment does.
    """
    prompt_text = tokenizer.apply_chat_template(messages[:-1], tokenize=False, add_generation_prompt=True,
                                                chat_template=chat_template)
    full_text = tokenizer.apply_chat_template(messages, tokenize=False, chat_template=chat_template)
    answer = messages[-1]["content"]
    if full_text.startswith(prompt_text) and answer in full_text[len(prompt_text):]:
        target_text = full_text[len(prompt_text):]
        return prompt_text, target_text, target_text.index(answer)
    return prompt_text, answer + (tokenizer.eos_token or ""), 0


def fit(prompt: list[int], target: list[int], max_len: int) -> tuple[list[int], list[int]]:
    """Cut to ``max_len`` tokens: the target to half of it at most, then the prompt from its start."""
    target = target[: max(1, max_len // 2)] if len(prompt) + len(target) > max_len else target
    prompt = prompt[-(max_len - len(target)):] if len(prompt) + len(target) > max_len else prompt
    return prompt, target


def encode(tokenizer, messages: list[dict[str, str]], max_len: int,
           chat_template: str | None = None) -> tuple[list[int], list[int]]:
    """(input_ids, labels) with the prompt masked; a long prompt is cut from its start, the target kept."""
    prompt_text, target_text, _ = split_texts(tokenizer, messages, chat_template)
    prompt = tokenizer(prompt_text, add_special_tokens=False)["input_ids"]
    target = tokenizer(target_text, add_special_tokens=False)["input_ids"]
    prompt, target = fit(prompt, target, max_len)
    return prompt + target, [IGNORE] * len(prompt) + target


def finetune(examples: Sequence[dict[str, Any]], model_path: str, *, steps: int = 6, batch_size: int = 2,
             max_len: int = 256, learning_rate: float = 2e-3, lora: bool = True, seed: int = 0,
             threads: int | None = 1, chat_template: str | None = None,
             save_to: str | None = None) -> FinetuneResult:
    """Train for ``steps`` optimizer steps, cycling over ``examples`` in batches; return the losses.

    ``threads`` caps torch's CPU threads for the run (None: torch's default). One thread is the default
    because on a busy machine OpenMP threads spin-wait for each other: a forward pass of 96 tokens took
    19 s with two threads and 1 s with one here, while other jobs held the cores.
    """
    try:
        import torch
        import transformers  # noqa: F401  (checked here so a missing install fails before any work)
    except ImportError:
        raise MissingDependency("torch and transformers", "hf") from None
    if not examples:
        raise ConfigError("no examples to fine-tune on")
    torch.manual_seed(seed)
    threads_before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(min(threads, threads_before))
    try:
        return _train(examples, model_path, steps, batch_size, max_len, learning_rate, lora, chat_template, save_to)
    finally:
        torch.set_num_threads(threads_before)


def _train(examples: Sequence[dict[str, Any]], model_path: str, steps: int, batch_size: int, max_len: int,
           learning_rate: float, lora: bool, chat_template: str | None, save_to: str | None) -> FinetuneResult:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32)
    if lora:
        try:
            from peft import LoraConfig, get_peft_model
        except ImportError:
            raise MissingDependency("peft", "lora") from None
        model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, target_modules="all-linear",
                                                 task_type="CAUSAL_LM"))
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=learning_rate)
    encoded = [encode(tokenizer, ex["messages"], max_len, chat_template) for ex in examples]
    batches = [encoded[i: i + batch_size] for i in range(0, len(encoded), batch_size)]
    losses: list[float] = []
    for step in range(steps):
        batch = batches[step % len(batches)]
        width = max(len(ids) for ids, _ in batch)
        ids = torch.tensor([x + [pad_id] * (width - len(x)) for x, _ in batch])
        labels = torch.tensor([y + [IGNORE] * (width - len(y)) for _, y in batch])
        mask = torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x, _ in batch])
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(float(loss.detach()))
        log.info("step %d/%d: loss %.4f", step + 1, steps, losses[-1])
    if save_to:
        model.save_pretrained(save_to)
        tokenizer.save_pretrained(save_to)
    return FinetuneResult(losses, len(examples), sum(p.numel() for p in params))
