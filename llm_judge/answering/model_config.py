"""Model config files of ku-nlp/ja-vicuna-qa-benchmark (``gen_model_answer --config FILE``), read and checked.

One JSON object describes a model: ``model_id``, ``model_name_or_path``, ``lora_model_name_or_path``,
``tokenizer_name_or_path``, ``prompt_template`` (with ``{instruction}``), ``generation_config`` (transformers'
generate arguments) and ``special_token_map`` (replacements applied to answers). Two optional fields are
ours, for benches with several turns (upstream answers turn 1 only and ignores them): ``turn_template``
and ``answer_template``. Flags given beside the file override it; that merge is the command's job
(cli/gen_model_answer.py), this module only reads, checks and rewrites the value.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..engines.chat_templates import template_from_prompt, template_pieces
from ..errors import InputError

# generation_config keys our engines honour, and the type each takes. transformers accepts many more;
# one we would silently drop would make the answers differ from upstream's, so the others are refused.
GENERATION_KEYS: dict[str, tuple[type, ...]] = {
    "max_new_tokens": (int,), "max_length": (int,), "temperature": (int, float), "top_p": (int, float),
    "repetition_penalty": (int, float), "do_sample": (bool,),
}
_STRING_FIELDS = ("model_id", "model_name_or_path", "lora_model_name_or_path", "tokenizer_name_or_path",
                  "turn_template", "answer_template")
FIELDS = (*_STRING_FIELDS[:4], "prompt_template", "generation_config", "special_token_map", *_STRING_FIELDS[4:])


@dataclass(frozen=True)
class ModelConfig:
    """One model config file, checked; field names are upstream's."""

    path: str
    prompt_template: str
    model_id: str | None = None
    model_name_or_path: str | None = None
    lora_model_name_or_path: str | None = None
    tokenizer_name_or_path: str | None = None
    generation_config: dict[str, Any] = field(default_factory=dict)
    special_token_map: dict[str, str] = field(default_factory=dict)
    turn_template: str | None = None
    answer_template: str | None = None

    def chat_template(self) -> str:
        return template_from_prompt(self.prompt_template, turn_template=self.turn_template,
                                    answer_template=self.answer_template, token_map=self.special_token_map)

    def tokenizer_path(self) -> str | None:
        """Upstream's rule: the tokenizer named, else the LoRA adapter's (when it ships one), else the model's."""
        if self.tokenizer_name_or_path:
            return self.tokenizer_name_or_path
        lora = self.lora_model_name_or_path
        if lora and (Path(lora).expanduser() / "tokenizer_config.json").is_file():
            return lora
        return None

    def max_new_tokens(self) -> int | None:
        """The answer's token budget. Upstream's configs give ``max_length`` (prompt + answer, transformers'
        meaning); our engines budget new tokens only, so it is taken as the answer's budget."""
        gen = self.generation_config
        return gen.get("max_new_tokens", gen.get("max_length"))

    def temperature(self) -> float | None:
        """``do_sample: false`` is greedy (0.0); otherwise the temperature given, None: per category."""
        if self.generation_config.get("do_sample") is False:
            return 0.0
        return self.generation_config.get("temperature")

    def replace(self, **changes: Any) -> "ModelConfig":
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        """The config as a file would hold it (our two optional fields only when set)."""
        out = {name: getattr(self, name) for name in FIELDS}
        for name in ("turn_template", "answer_template"):
            if out[name] is None:
                del out[name]
        return out


def replace_tokens(text: str, token_map: dict[str, str]) -> str:
    """An answer with special_token_map applied, entry by entry in the file's order, as upstream does."""
    for src, tgt in token_map.items():
        text = text.replace(src, tgt)
    return text


def load_model_config(path: str | Path) -> ModelConfig:
    """Read and check a model config file; a problem is an InputError naming the file and the field."""
    try:
        raw = Path(path).expanduser().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read the model config: {exc}") from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InputError(path, f"not valid JSON: {exc.msg} (column {exc.colno})", line=exc.lineno) from None
    if not isinstance(data, dict):
        raise InputError(path, f"a model config is a JSON object, not {type(data).__name__}")
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise InputError(path, f"unknown field (known: {', '.join(FIELDS)})", field=unknown[0])
    return _checked(str(path), data)


def _checked(path: str, data: dict[str, Any]) -> ModelConfig:
    values: dict[str, Any] = {}
    for name in _STRING_FIELDS:
        value = data.get(name)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise InputError(path, f"must be a non-empty string or null, not {value!r}", field=name)
        values[name] = value
    if "prompt_template" not in data:
        raise InputError(path, "missing (e.g. \"ユーザー: {instruction}<NL>システム: \")", field="prompt_template")
    for name, slot in (("prompt_template", "instruction"), ("turn_template", "instruction"),
                       ("answer_template", "answer")):
        value = data.get(name)
        if name == "prompt_template" and not isinstance(value, str):
            raise InputError(path, f"must be a string, not {value!r}", field=name)
        try:
            if value is not None:
                template_pieces(value, slot)
        except ValueError as exc:
            raise InputError(path, str(exc), field=name) from None
    model_id = values["model_id"]
    if model_id is not None and (model_id.startswith(".") or any(ch in model_id for ch in "/\\\0")):
        raise InputError(path, f"{model_id!r} is not a plain file name (it names the answer file)", field="model_id")
    return ModelConfig(path=path, prompt_template=data["prompt_template"],
                       generation_config=_generation(path, data.get("generation_config")),
                       special_token_map=_token_map(path, data.get("special_token_map")), **values)


def _generation(path: str, gen: Any) -> dict[str, Any]:
    if gen is None:
        return {}
    if not isinstance(gen, dict):
        raise InputError(path, f"must be an object, not {gen!r}", field="generation_config")
    for key, value in gen.items():
        where = f"generation_config.{key}"
        if key not in GENERATION_KEYS:
            raise InputError(path, f"not supported (supported: {', '.join(GENERATION_KEYS)})", field=where)
        types = GENERATION_KEYS[key]
        if value is None and key == "temperature":  # upstream: null means the category's default
            continue
        if not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
            raise InputError(path, f"must be {' or '.join(t.__name__ for t in types)}, not {value!r}", field=where)
        if key in ("max_new_tokens", "max_length", "top_p", "repetition_penalty") and value <= 0:
            raise InputError(path, f"must be above 0, not {value!r}", field=where)
        if (key == "temperature" and value < 0) or (key == "top_p" and value > 1):
            raise InputError(path, f"out of range: {value!r}", field=where)
    return dict(gen)


def _token_map(path: str, mapping: Any) -> dict[str, str]:
    if mapping is None:
        return {}
    if not isinstance(mapping, dict):
        raise InputError(path, f"must be an object such as {{\"<NL>\": \"\\n\"}}, not {mapping!r}",
                         field="special_token_map")
    for src, tgt in mapping.items():
        if not src or not isinstance(tgt, str):
            raise InputError(path, f"{src!r}: {tgt!r}: keys must be non-empty and values strings",
                             field="special_token_map")
    return dict(mapping)
