"""Prompt formats for models without a chat template, as Jinja chat templates stored in files.

``--with-prompt NAME`` reads ``prompts/templates/NAME.jinja`` (or a .jinja file given by path);
``--conv-template NAME`` builds the template from a FastChat conversation template (needs the ``fschat``
package). A template may declare, in a comment ``{#- llm_judge: newline=<NL> -#}``, that the model writes
newlines as that marker; the engines turn the marker in answers back into newlines.
"""
from __future__ import annotations

import re
from pathlib import Path

from ..errors import ConfigError

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "prompts" / "templates"


def available_templates() -> list[str]:
    return sorted(p.stem for p in TEMPLATE_DIR.glob("*.jinja"))


_NEWLINE = re.compile(r"\{#-?\s*llm_judge:\s*newline=(\S+?)\s*-?#\}")


def newline_marker(template: str | None) -> str | None:
    """The text a template's model writes for a newline (rinna: "<NL>"), or None."""
    m = _NEWLINE.search(template or "")
    return m.group(1) if m else None


def load_template(name: str) -> str:
    if name.endswith(".jinja") and Path(name).expanduser().is_file():
        return Path(name).expanduser().read_text(encoding="utf-8")
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
