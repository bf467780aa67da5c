"""One training run: data in, the judge measured before, trained, saved, measured after, the table written.

The output folder is the judge: a LoRA adapter (adapter_config.json naming the base model) or a full
model, with the tokenizer, so ``gen_judgment --judge-model OUT`` loads it as it is. Trainer's
checkpoints go to ``OUT/checkpoints``; ``resume`` continues from the last one, and the measurement of
the base model is kept in ``OUT/eval_before.json`` so a resumed run does not redo it.
"""
from __future__ import annotations

import json
import logging
import random
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import ConfigError, MissingDependency
from ..judging.families import load_family
from ..jsonl import write_text_atomic
from . import evaluate, examples, verdict
from .batches import Collator
from .raft import DEFAULT_CE_WEIGHT, OBJECTIVES
from .report import table

log = logging.getLogger(__name__)
EVAL_FILE = "eval.json"


@dataclass
class TrainConfig:
    data_dir: str
    output_dir: str
    name: str | None = None
    model_path: str | None = None  # None: the bundled default model
    family: str | None = None  # None: the family make_traindata rendered for
    objective: str = "sft"
    ce_weight: float = DEFAULT_CE_WEIGHT
    lora: bool = True
    lora_rank: int = 8
    lora_alpha: int = 16
    steps: int = 100
    batch_size: int = 2
    grad_accum: int = 4
    learning_rate: float | None = None  # None: 2e-4 for LoRA, 1e-5 full
    max_len: int = 1024
    max_examples: int | None = None
    eval_examples: int | None = None
    verdict_only: bool = False
    bf16: bool = False
    threads: int | None = None
    seed: int = 42
    resume: bool = False
    save_steps: int = 50
    padding_side: str = "right"
    evaluate: bool = True
    eval_batch_size: int = 2
    device: str | None = None  # None: cuda when available

    def check(self) -> None:
        if self.objective not in OBJECTIVES:
            raise ConfigError(f"--objective must be one of {', '.join(OBJECTIVES)}, not {self.objective!r}")
        if self.steps < 1 or self.batch_size < 1 or self.grad_accum < 1 or self.max_len < 8:
            raise ConfigError("--steps, --batch-size and --grad-accum must be >= 1, --max-len >= 8")


@dataclass
class TrainResult:
    losses: list[float]
    train_examples: int
    scored_examples: int
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    table: str = ""


def _torch_and_transformers() -> tuple[Any, Any]:
    try:
        import torch
        import transformers
    except ImportError:
        raise MissingDependency("torch and transformers", "hf") from None
    return torch, transformers


def prepare(config: TrainConfig, tokenizer: Any, data: examples.Dataset, family_scales: dict[bool, list]) \
        -> tuple[list[examples.Encoded], str | None]:
    """The training examples encoded; with a raft objective, only those whose verdict could be placed."""
    family = load_family(config.family or data.family)
    template = family.chat_template()
    pairs = list(zip(data.train.examples, data.train.records))
    if config.max_examples and len(pairs) > config.max_examples:
        pairs = random.Random(config.seed).sample(pairs, config.max_examples)
    encoded = []
    for ex, rec in pairs:
        messages = ex["messages"]
        site = verdict.find(messages[-1]["content"], family_scales[rec.pairwise])
        if site is not None and config.verdict_only:
            messages = examples.verdict_only(messages, site)
            site = verdict.find(messages[-1]["content"], family_scales[rec.pairwise])
        encoded.append(examples.encode(tokenizer, messages, config.max_len, template, site))
    if config.objective != "sft":
        unscored = sum(e.raft is None for e in encoded)
        if unscored:
            log.warning("%d of %d training examples have no verdict within --max-len %d tokens; the raft term "
                        "skips them", unscored, len(encoded), config.max_len)
        if config.objective == "raft":
            encoded = [e for e in encoded if e.raft is not None]
    if not encoded:
        raise ConfigError("no training example left (raft needs examples whose verdict fits in --max-len)")
    return encoded, template


def load_model(config: TrainConfig, base_path: str, torch: Any) -> Any:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(base_path, dtype=torch.float32)
    if not config.lora:
        return model
    try:
        from peft import LoraConfig, get_peft_model
    except ImportError:
        raise MissingDependency("peft", "lora") from None
    return get_peft_model(model, LoraConfig(r=config.lora_rank, lora_alpha=config.lora_alpha, lora_dropout=0.0,
                                            target_modules="all-linear", task_type="CAUSAL_LM"))


def train_judge(config: TrainConfig, before: dict[str, Any] | None = None) -> TrainResult:
    """Train as ``config`` says; ``before``: the base model's measurement on the same test cases, if known."""
    config.check()
    torch, _ = _torch_and_transformers()
    from transformers import AutoTokenizer

    from ..engines.weights import resolve_model_path

    out = Path(config.output_dir)
    _check_output(out, config.resume)
    if config.threads:
        torch.set_num_threads(config.threads)
    data = examples.load(config.data_dir, config.name)
    family = load_family(config.family or data.family)
    family_scales = {pairwise: _scales(family, pairwise) for pairwise in (False, True)}
    base_path = resolve_model_path(config.model_path)
    tokenizer = AutoTokenizer.from_pretrained(base_path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    encoded, template = prepare(config, tokenizer, data, family_scales)
    torch.manual_seed(config.seed)
    config = replace(config, device=config.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    model = load_model(config, base_path, torch).to(config.device)  # measured where it trains
    test_cases = evaluate.cases(data.test, family_scales, config.eval_examples) if config.evaluate else []
    result = TrainResult([], len(encoded), sum(e.raft is not None for e in encoded))
    if test_cases:
        result.before = before or _before(out, model, tokenizer, test_cases, template, config)
    result.losses = _fit(config, model, tokenizer, encoded, out)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    if test_cases:
        probs = evaluate.label_probabilities(model, tokenizer, test_cases, template, config.eval_batch_size,
                                             config.bf16)
        result.after = evaluate.measure(test_cases, probs)
        result.table = table(result.before, result.after)
        write_text_atomic(out / EVAL_FILE, [json.dumps(
            {"objective": config.objective, "steps": config.steps, "train_examples": result.train_examples,
             "scored_examples": result.scored_examples, "test_examples": len(test_cases),
             "before": result.before, "after": result.after, "losses": result.losses}, indent=2) + "\n"])
    return result


def _scales(family: Any, pairwise: bool) -> list[verdict.Scale]:
    """The family's labels for one kind; none when it does not judge that kind or reads no distribution."""
    if ("pairwise" if pairwise else "single") not in family.modes:
        return []
    try:
        return verdict.scales(family, pairwise)
    except ConfigError as exc:
        log.warning("%s; the raft term and the evaluation skip these examples", exc)
        return []


def _check_output(out: Path, resume: bool) -> None:
    if (out / "checkpoints").exists() and any((out / "checkpoints").glob("checkpoint-*")) and not resume:
        raise ConfigError(f"{out} holds checkpoints of an earlier run: add --resume to continue it, "
                          "or give another --output-dir")
    out.mkdir(parents=True, exist_ok=True)


def _before(out: Path, model: Any, tokenizer: Any, cases: list, template: str | None,
            config: TrainConfig) -> dict[str, Any]:
    path = out / "eval_before.json"
    if config.resume and path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    before = evaluate.measure(cases, evaluate.label_probabilities(model, tokenizer, cases, template,
                                                                  config.eval_batch_size, config.bf16))
    write_text_atomic(path, [json.dumps(before, indent=2) + "\n"])
    return before


def _fit(config: TrainConfig, model: Any, tokenizer: Any, encoded: list, out: Path) -> list[float]:
    from transformers import TrainingArguments

    from .judge_trainer import JudgeTrainer

    args = TrainingArguments(
        output_dir=str(out / "checkpoints"), max_steps=config.steps, per_device_train_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum,
        learning_rate=config.learning_rate or (2e-4 if config.lora else 1e-5), lr_scheduler_type="constant",
        logging_steps=1, save_steps=config.save_steps, save_total_limit=2, report_to="none",
        remove_unused_columns=False, use_cpu=config.device == "cpu", bf16=config.bf16, seed=config.seed,
        dataloader_num_workers=0)
    collator = Collator(tokenizer.pad_token_id, config.padding_side, with_trie=config.objective != "sft")
    trainer = JudgeTrainer(model=model, args=args, train_dataset=encoded, data_collator=collator,
                           objective=config.objective, ce_weight=config.ce_weight)
    resume = config.resume and any((out / "checkpoints").glob("checkpoint-*"))
    trainer.train(resume_from_checkpoint=True if resume else None)
    return [float(h["loss"]) for h in trainer.state.log_history if "loss" in h]
