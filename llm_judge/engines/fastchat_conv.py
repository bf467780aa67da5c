"""``--conv-template NAME``: a Jinja chat template built from one of FastChat's conversation templates.

FastChat describes prompt formats as Python objects (``fastchat.conversation``), not as Jinja. Most of
its separator styles are regular: a fixed prefix (with the system message), then each user message and
each answer wrapped in fixed text. We find those fixed pieces by letting FastChat render a conversation
of marker strings, and write them into a Jinja template; a style whose pieces depend on the turn (so the
markers do not line up) is refused with a clear error instead of being approximated.
"""
from __future__ import annotations

import json
from typing import Any

from ..errors import ConfigError

# Marker strings that no template contains, so they can be found again in FastChat's rendering.
_SYS = "\x00SYSTEM\x00"
_U = ["\x00USER1\x00", "\x00USER2\x00", "\x00USER3\x00"]
_A = ["\x00ANSWER1\x00", "\x00ANSWER2\x00"]


def _fastchat() -> Any:
    try:
        from fastchat import conversation
    except ImportError:
        raise ConfigError("--conv-template needs FastChat's conversation templates: pip install --no-deps fschat "
                          "(or use --with-prompt with one of our templates)") from None
    return conversation


def _render(conv_module: Any, name: str, system: str | None) -> str:
    conv = conv_module.get_conv_template(name)
    if system is not None:
        conv.set_system_message(system)
    user_role, assistant_role = conv.roles[0], conv.roles[1]
    for i, user in enumerate(_U):
        conv.append_message(user_role, user)
        conv.append_message(assistant_role, _A[i] if i < len(_A) else None)
    try:
        return conv.get_prompt()
    except Exception as exc:  # API-only templates (chatgpt, gemini, ...) have no prompt text
        raise ConfigError(f"FastChat template {name!r} has no text prompt format ({exc})") from None


def _pieces(text: str, name: str) -> dict[str, str]:
    """The fixed text before, between and after the markers; ConfigError when turns are not regular."""
    marks = [_U[0], _A[0], _U[1], _A[1], _U[2]]
    at = [text.find(m) for m in marks]
    if any(a < 0 for a in at) or at != sorted(at):
        raise ConfigError(f"FastChat template {name!r} does not place every message in the prompt; use --with-prompt")
    ends = [a + len(m) for a, m in zip(at, marks)]
    between = [text[ends[i]:at[i + 1]] for i in range(len(marks) - 1)]
    user_to_answer, answer_to_user = between[0], between[1]
    if between[2] != user_to_answer or between[3] != answer_to_user:
        raise ConfigError(f"FastChat template {name!r} changes its separators from turn to turn; "
                          "use --with-prompt or a Jinja template file instead")
    return {"prefix": text[:at[0]], "user_to_answer": user_to_answer, "answer_to_user": answer_to_user,
            "generation": text[ends[-1]:]}


def _literal(s: str) -> str:
    # JSON string syntax is also a valid Jinja string literal (Jinja decodes its backslash escapes).
    return json.dumps(s, ensure_ascii=False)


def chat_template_from_fastchat(name: str) -> str:
    """A Jinja chat template that renders conversations as FastChat's template ``name`` does."""
    conv_module = _fastchat()
    if name not in conv_module.conv_templates:
        known = ", ".join(sorted(conv_module.conv_templates)[:12])
        raise ConfigError(f"unknown FastChat conversation template {name!r} (for example: {known}, ...)")
    default = _pieces(_render(conv_module, name, None), name)
    custom = _pieces(_render(conv_module, name, _SYS), name)
    if custom["user_to_answer"] != default["user_to_answer"] or custom["answer_to_user"] != default["answer_to_user"] \
            or custom["generation"] != default["generation"]:
        raise ConfigError(f"FastChat template {name!r} changes its separators with the system message; use --with-prompt")
    if _SYS in custom["prefix"]:
        before, after = custom["prefix"].split(_SYS, 1)
        with_system = f"{_literal(before)} + messages[0]['content'] + {_literal(after)}"
    else:  # a format without a system message: a given one is dropped, as FastChat drops it
        with_system = _literal(custom["prefix"])
    return "\n".join([
        f"{{#- built from FastChat's conversation template {name!r} by llm_judge.fastchat_conv -#}}",
        "{%- if messages and messages[0]['role'] == 'system' -%}",
        f"{{{{- {with_system} -}}}}",
        "{%- set messages = messages[1:] -%}",
        "{%- else -%}",
        f"{{{{- {_literal(default['prefix'])} -}}}}",
        "{%- endif -%}",
        "{%- for message in messages -%}",
        "{%- if not loop.first -%}",
        f"{{{{- {_literal(default['user_to_answer'])} if message['role'] == 'assistant' "
        f"else {_literal(default['answer_to_user'])} -}}}}",
        "{%- endif -%}",
        "{{- message['content'] -}}",
        "{%- endfor -%}",
        "{%- if add_generation_prompt -%}",
        f"{{{{- {_literal(default['generation'])} -}}}}",
        "{%- endif -%}",
        "",
    ])
