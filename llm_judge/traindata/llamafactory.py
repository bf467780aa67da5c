"""LLaMA-Factory's side: the OpenAI ``messages`` dataset files, ``dataset_info.json``, the SFT YAML.

LLaMA-Factory reads this layout as ``formatting: sharegpt`` with a ``messages`` column and OpenAI role
tags: an optional first ``system`` message, then ``user`` and ``assistant`` messages alternating, starting
with a user message and ending with an assistant message. :func:`check_example` enforces that before
anything is written, so a file that LLaMA-Factory would reject (or silently mis-read) is never produced.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from ..errors import InputError
from ..jsonl import write_text_atomic

TAGS = {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant",
        "system_tag": "system"}
DEFAULT_MODEL_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"  # the hub name of our default model


def dataset_info_entry(file_name: str) -> dict[str, Any]:
    return {"file_name": file_name, "formatting": "sharegpt", "columns": {"messages": "messages"}, "tags": dict(TAGS)}


def check_example(example: dict[str, Any]) -> None:
    """Raise ValueError unless ``example`` is a valid OpenAI-format SFT example for LLaMA-Factory."""
    messages = example.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ValueError("'messages' must be a non-empty list")
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict) or set(msg) != {"role", "content"}:
            raise ValueError(f"message {i} must be an object with exactly 'role' and 'content'")
        if not isinstance(msg["content"], str) or not msg["content"].strip():
            raise ValueError(f"message {i} has empty content")
    turns = messages[1:] if messages[0]["role"] == TAGS["system_tag"] else messages
    if len(turns) < 2 or len(turns) % 2:
        raise ValueError("after the system message, messages must come in user/assistant pairs")
    for i, msg in enumerate(turns):
        want = TAGS["user_tag"] if i % 2 == 0 else TAGS["assistant_tag"]
        if msg["role"] != want:
            raise ValueError(f"message {i + len(messages) - len(turns)} has role {msg['role']!r}, expected {want!r}")


def dataset_text(examples: Iterable[dict[str, Any]]) -> str:
    """A JSON list with one example per line: valid JSON for LLaMA-Factory, readable with ``head``."""
    lines = [json.dumps(ex, ensure_ascii=False) for ex in examples]
    return "[\n" + ",\n".join(lines) + "\n]\n"


def write_files(files: dict[Path, str]) -> None:
    """Write each file atomically (readers never see half a file)."""
    for path, text in files.items():
        write_text_atomic(path, [text])


def merged_dataset_info(path: Path, entries: dict[str, dict[str, Any]]) -> str:
    """``dataset_info.json`` with ``entries`` added or replaced and every other entry kept as it was."""
    info: dict[str, Any] = {}
    if path.exists():
        try:
            info = json.loads(path.read_text(encoding="utf-8") or "{}")
        except json.JSONDecodeError as exc:
            raise InputError(path, f"invalid JSON ({exc.msg}); fix or move it, it is not overwritten",
                             exc.lineno) from None
        if not isinstance(info, dict):
            raise InputError(path, "expected a JSON object of dataset entries; it is not overwritten")
    info.update(entries)
    return json.dumps(info, ensure_ascii=False, indent=2) + "\n"


def _yaml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a valid YAML scalar


def training_yaml(*, dataset: str, eval_dataset: str | None, dataset_dir: Path, output_dir: Path,
                  model: str, template: str, finetuning_type: str = "lora", cutoff_len: int = 2048,
                  epochs: float = 3.0, learning_rate: float | None = None) -> str:
    """A LLaMA-Factory SFT config (``llamafactory-cli train FILE``) for the dataset just written."""
    lora = finetuning_type == "lora"
    sections: list[tuple[str, dict[str, Any]]] = [
        ("model", {"model_name_or_path": model, "trust_remote_code": True}),
        ("method", {"stage": "sft", "do_train": True, "finetuning_type": finetuning_type,
                    **({"lora_rank": 8, "lora_alpha": 16, "lora_dropout": 0.05, "lora_target": "all"} if lora else {})}),
        ("dataset", {"dataset": dataset, "dataset_dir": str(dataset_dir.resolve()), "template": template,
                     "cutoff_len": cutoff_len, "overwrite_cache": True, "preprocessing_num_workers": 4,
                     **({"eval_dataset": eval_dataset} if eval_dataset else {})}),
        ("output", {"output_dir": str(output_dir), "logging_steps": 10, "save_steps": 500, "plot_loss": True,
                    "overwrite_output_dir": True, "report_to": "none"}),
        ("train", {"per_device_train_batch_size": 1, "gradient_accumulation_steps": 8,
                   "learning_rate": learning_rate or (1.0e-4 if lora else 1.0e-5), "num_train_epochs": epochs,
                   "lr_scheduler_type": "cosine", "warmup_ratio": 0.1, "bf16": True}),
    ]
    if eval_dataset:
        sections.append(("eval", {"per_device_eval_batch_size": 1, "eval_strategy": "steps", "eval_steps": 500}))
    lines = [f"# LLaMA-Factory {finetuning_type} SFT of a judge on {dataset} (written by llm_judge make_traindata)"]
    for title, values in sections:
        lines.append(f"\n### {title}")
        lines += [f"{k}: {_yaml_value(v)}" for k, v in values.items()]
    return "\n".join(lines) + "\n"
