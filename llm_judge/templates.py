"""Prompt formats for models without a chat template, as Jinja chat templates stored in files.

``--with-prompt NAME`` reads ``prompts/templates/NAME.jinja``; ``--conv-template NAME`` builds the
template from a FastChat conversation template (needs the ``fschat`` package).
"""
from __future__ import annotations

from pathlib import Path

from .errors import ConfigError

TEMPLATE_DIR = Path(__file__).resolve().parent / "prompts" / "templates"


def available_templates() -> list[str]:
    return sorted(p.stem for p in TEMPLATE_DIR.glob("*.jinja"))


def load_template(name: str) -> str:
    path = TEMPLATE_DIR / f"{name.replace('-', '_')}.jinja"
    if not path.exists():
        path = TEMPLATE_DIR / f"{name}.jinja"
    if not path.exists():
        raise ConfigError(f"unknown prompt template {name!r} (known: {', '.join(available_templates()) or 'none'})")
    return path.read_text(encoding="utf-8")


def chat_template_for(with_prompt: str | None, conv_template: str | None) -> str | None:
    if with_prompt and conv_template:
        raise ConfigError("give --with-prompt or --conv-template, not both")
    if with_prompt:
        return load_template(with_prompt)
    if conv_template:
        from .fastchat_conv import chat_template_from_fastchat

        return chat_template_from_fastchat(conv_template)
    return None
