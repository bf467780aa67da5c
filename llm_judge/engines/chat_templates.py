"""Prompt formats for models without a chat template, as Jinja chat templates stored in files.

``--with-prompt NAME`` reads ``prompts/templates/NAME.jinja`` (or a .jinja file given by path);
``--conv-template NAME`` builds the template from a FastChat conversation template (needs the ``fschat``
package). A template may declare, in a comment ``{#- llm_judge: newline=<NL> -#}``, that the model writes
newlines as that marker; the engines turn the marker in answers back into newlines.
"""
from __future__ import annotations

import functools
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


# -- templates from a prompt_template string (ja-vicuna-qa-benchmark's model config files) ---------------

_SPECIAL_FIELDS = ("bos_token", "eos_token")  # filled from the tokenizer, as our .jinja templates do


def template_pieces(text: str, slot: str) -> list[tuple[str, str]]:
    """``text`` as Python's ``str.format`` reads it: ("text", literal) and ("field", name) pieces.

    ``slot`` ("instruction" or "answer") must occur; the only other fields allowed are bos_token and
    eos_token. ``{{`` and ``}}`` are literal braces, as in upstream's ``format_map``. Raises ValueError.
    """
    import string

    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ValueError(f"{exc} (write a literal brace as {{{{ or }}}})") from None
    pieces: list[tuple[str, str]] = []
    for literal, field, spec, conversion in parsed:
        if literal:
            pieces.append(("text", literal))
        if field is None:
            continue
        if field not in (slot, *_SPECIAL_FIELDS) or spec or conversion:
            raise ValueError(f"unknown field {{{field}}}: use {{{slot}}} (and optionally {{bos_token}}, {{eos_token}})")
        pieces.append(("field", field))
    if ("field", slot) not in pieces:
        raise ValueError(f"must contain {{{slot}}}")
    return pieces


def _jinja_str(text: str) -> str:
    """A Jinja string literal holding ``text`` exactly (Jinja unescapes literals like Python does)."""
    escaped = text.replace("\\", "\\\\").replace("'", "\\'")
    return "'" + escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t") + "'"


def _jinja_expr(pieces: list[tuple[str, str]], slot: str) -> str:
    parts = []
    for kind, value in pieces:
        if kind == "text":
            parts.append(_jinja_str(value))
        elif value == slot:
            parts.append("text")
        else:
            parts.append(f"({value} or '')")
    return " + ".join(parts)


def _content_filter(token_map: dict[str, str]) -> str:
    """Jinja filters writing message text as the model writes it: each special_token_map entry undone.

    A map {"<NL>": "\\n"} says the model writes newlines as "<NL>"; so "\\n" in a message becomes "<NL>",
    as --with-prompt rinna does. Entries are undone in reverse order (the map is applied in order to
    answers); an entry mapping to "" cannot be undone and is skipped.
    """
    filters = []
    if any("\n" in tgt for tgt in token_map.values()):
        filters.append(" | replace('\\r\\n', '\\n')")
    for src, tgt in reversed(list(token_map.items())):
        if tgt:
            filters.append(f" | replace({_jinja_str(tgt)}, {_jinja_str(src)})")
    return "".join(filters)


def template_from_prompt(prompt_template: str, *, turn_template: str | None = None,
                         answer_template: str | None = None, token_map: dict[str, str] | None = None) -> str:
    """A Jinja chat template from a model config's ``prompt_template`` ("ユーザー: {instruction}<NL>システム: ").

    Turn 1 is ``prompt_template`` with the instruction, exactly as ja-vicuna-qa-benchmark formats it (it
    ends with the model's own cue, so nothing is added for the generation prompt). Each earlier answer is
    written by ``answer_template`` (default: the answer and a newline), each later instruction by
    ``turn_template`` (default: ``prompt_template`` again). A system message goes first, then a newline.
    Message text, newlines included, is written as ``token_map`` (special_token_map) says the model
    writes it. Raises ValueError for a template with fields other than its slot, bos_token, eos_token.
    """
    token_map = token_map or {}
    first = _jinja_expr(template_pieces(prompt_template, "instruction"), "instruction")
    user = first
    if turn_template:
        later = _jinja_expr(template_pieces(turn_template, "instruction"), "instruction")
        user = f"({first}) if ns.first else ({later})"
    if answer_template is None:  # the newline goes through the map too: rinna's "<NL>"
        answer, answer_text = "text", "message['content'] + '\\n'"
    else:
        answer, answer_text = _jinja_expr(template_pieces(answer_template, "answer"), "answer"), "message['content']"
    text = _content_filter(token_map)
    return "".join([
        "{#- Made by llm_judge from a model config's prompt_template (chat_templates.template_from_prompt). -#}\n",
        "{%- set ns = namespace(first=true) -%}\n",
        "{%- for message in messages -%}\n",
        "{%- if message['role'] == 'assistant' -%}\n",
        f"{{%- set text = ({answer_text}){text} -%}}{{{{- {answer} -}}}}\n",
        "{%- elif message['role'] == 'user' -%}\n",
        f"{{%- set text = message['content']{text} -%}}",
        f"{{{{- {user} -}}}}{{%- set ns.first = false -%}}\n",
        "{%- else -%}\n",
        f"{{%- set text = (message['content'] + '\\n'){text} -%}}{{{{- text -}}}}\n",
        "{%- endif -%}\n",
        "{%- endfor -%}\n",
    ])


# -- rendering a Jinja chat template without transformers (the llamacpp engine) --------------------------

def render_template(template: str, messages: list[dict[str, str]], *, bos_token: str = "", eos_token: str = "",
                    add_generation_prompt: bool = True) -> str:
    """A chat template rendered as transformers' ``apply_chat_template`` renders it: a sandboxed Jinja
    environment that trims blocks, ``raise_exception`` and ``strftime_now`` available, ``tojson`` keeping
    non-ASCII text as it is. Raises ConfigError for a template that does not parse, ValueError (and
    jinja2's own errors) for messages the template rejects."""
    return _compiled(template).render(messages=messages, add_generation_prompt=add_generation_prompt,
                                      bos_token=bos_token, eos_token=eos_token)


def _raise(message: str) -> None:
    raise ValueError(message)


def _strftime_now(fmt: str) -> str:
    from datetime import datetime

    return datetime.now().strftime(fmt)


@functools.lru_cache(maxsize=16)
def _compiled(template: str):  # -> jinja2.Template
    import json

    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
    env.filters["tojson"] = lambda value, indent=None: json.dumps(value, ensure_ascii=False, indent=indent)
    env.globals.update(raise_exception=_raise, strftime_now=_strftime_now)
    try:
        return env.from_string(template)
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(f"the chat template does not parse: {exc} (line {exc.lineno})") from None
