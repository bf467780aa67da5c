"""A scripted engine for tests and dry runs: ``--judge-model mock:judge``, ``--model-path mock:rules.jsonl``.

It loads no weights and calls no server; each request gets the reply of the first rule that matches its
prompt (all message texts joined by newlines). ``mock:NAME`` is a built-in script or a rules file:

* ``mock:echo``   every reply repeats the last user message;
* ``mock:judge``  a verdict that depends only on the prompt: ``[[A]]``/``[[B]]``/``[[C]]`` for prompts that
  ask for one, else ``Rating: [[k]]`` with k in 1..10 (the loopback API server's judge, tests/fakeapi.py);
* a ``.jsonl`` file with one rule per line, or a ``.json`` file holding a list of rules::

    {"match": "Assistant B", "error": "scripted failure"}      # the call fails: an error record
    {"match": "(?i)capital of france", "reply": "Paris. [[9]]"} # re.search over the prompt
    {"reply": "[[A]]", "distribution": {"A": 0.7, "B": 0.2, "C": 0.1}}
    {"echo": true}

A rule has an optional ``match`` and exactly one of ``reply`` (text), ``echo``, ``judge`` or ``error``;
a prompt no rule matches fails with an error. Replies are cut to the request's ``max_new_tokens`` words
(finish reason "length"). Tokens are counted as whitespace-separated words, prompt and reply.

Score requests (distribution judging) get ``distribution`` normalised over the request's labels when the
rule has one; else all probability on the label whose written-out form (prefill + label + suffix)
appears in the reply; else, for ``judge``, a distribution drawn from the prompt's hash.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from ..errors import ConfigError, InputError
from .base import ChatModel, GenRequest, GenResult
from .config import EngineConfig

_KINDS = ("reply", "echo", "judge", "error")
_KEYS = set(_KINDS) | {"match", "distribution"}


@dataclass(frozen=True)
class Rule:
    kind: str  # one of _KINDS
    value: Any = None  # the reply or error text
    match: re.Pattern[str] | None = None
    distribution: Mapping[str, float] | None = None

    def applies(self, prompt: str) -> bool:
        return self.match is None or self.match.search(prompt) is not None


BUILT_IN = {"echo": (Rule("echo"),), "judge": (Rule("judge"),)}


def load_rules(script: str) -> tuple[Rule, ...]:
    """The rules of a built-in script name or of a rules file (.json list or .jsonl lines)."""
    if script in BUILT_IN:
        return BUILT_IN[script]
    path = Path(script).expanduser()
    if not path.is_file():
        raise ConfigError(f"mock:{script}: not a built-in script ({', '.join(BUILT_IN)}) and no such rules file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot be read: {exc}") from None
    if path.suffix == ".json":
        items = _json(path, text, None)
        if not isinstance(items, list):
            raise InputError(path, "must hold a JSON list of rules")
        rules = tuple(_rule(path, None, f"[{i}].", obj) for i, obj in enumerate(items))
    else:
        rules = tuple(_rule(path, n, "", _json(path, line, n))
                      for n, line in enumerate(text.splitlines(), 1) if line.strip())
    if not rules:
        raise InputError(path, "holds no rule")
    return rules


def _json(path: Path, text: str, line: int | None) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(path, f"is not valid JSON: {exc.msg}", line if line is not None else exc.lineno) from None


def _rule(path: Path, line: int | None, where: str, obj: Any) -> Rule:
    """One rule object, checked: every problem names the file, the line (JSONL) and the field."""
    if not isinstance(obj, dict):
        raise InputError(path, "a rule must be a JSON object", line, where.rstrip(".") or None)
    unknown = sorted(set(obj) - _KEYS)
    if unknown:
        raise InputError(path, f"unknown key (known: {', '.join(sorted(_KEYS))})", line, where + unknown[0])
    kinds = [k for k in _KINDS if k in obj]
    if len(kinds) != 1:
        raise InputError(path, f"a rule needs exactly one of {', '.join(_KINDS)}", line, where.rstrip(".") or None)
    kind, value = kinds[0], obj[kinds[0]]
    if (kind in ("reply", "error") and not isinstance(value, str)) or (kind in ("echo", "judge") and value is not True):
        raise InputError(path, "must be a string" if kind in ("reply", "error") else "must be true", line, where + kind)
    match = None
    if "match" in obj:
        try:
            match = re.compile(obj["match"])
        except (re.error, TypeError) as exc:
            raise InputError(path, f"not a regular expression: {exc}", line, where + "match") from None
    dist = obj.get("distribution")
    if dist is not None and not (isinstance(dist, dict) and dist and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in dist.values())):
        raise InputError(path, "must map labels to weights >= 0", line, where + "distribution")
    return Rule(kind, value, match, dist)


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def judge_text(prompt: str) -> str:
    """The built-in judge's verdict (the same as tests/fakeapi.py's ``judge_reply``)."""
    h = _digest(prompt)
    if "[[A]]" in prompt:
        return f"Both replies were compared. Verdict: [[{'ABC'[h % 3]}]]"
    return f"The reply was assessed. Rating: [[{1 + h % 10}]]"


def words(text: str) -> int:
    return len(text.split())


class MockModel(ChatModel):
    engine = "mock"

    def __init__(self, script: str, name: str):
        self.script = script
        self.name = name
        self.rules = load_rules(script)

    def describe(self) -> dict[str, Any]:
        return {"engine": self.engine, "model": self.name, "script": self.script}

    def stream(self, requests: Sequence[GenRequest]) -> Iterator[tuple[int, GenResult]]:
        # Last request first: callers must not rely on results coming back in request order (real
        # engines finish in any order), and a mock that reverses it makes a test catch one that does.
        for i in reversed(range(len(requests))):
            yield i, self.reply(requests[i])

    def reply(self, request: GenRequest) -> GenResult:
        prompt = "\n".join(m.get("content") or "" for m in request.messages)
        rule = next((r for r in self.rules if r.applies(prompt)), None)
        if rule is None:
            return GenResult(error=f"mock:{self.script}: no rule matches the prompt")
        if rule.kind == "error":
            return GenResult(error=rule.value, prompt_tokens=words(prompt))
        if request.score_choices:
            return self._score(request, rule, prompt)
        text = self._text(rule, request, prompt)
        kept = text.split()[:request.max_new_tokens]
        cut = len(kept) < words(text)
        return GenResult(text=" ".join(kept) if cut else text, prompt_tokens=words(prompt),
                         completion_tokens=len(kept), finish_reason="length" if cut else "stop")

    @staticmethod
    def _text(rule: Rule, request: GenRequest, prompt: str) -> str:
        if rule.kind == "echo":
            users = [m.get("content") or "" for m in request.messages if m.get("role") == "user"]
            return users[-1] if users else ""
        if rule.kind == "judge":
            return judge_text(prompt)
        return rule.value

    def _score(self, request: GenRequest, rule: Rule, prompt: str) -> GenResult:
        labels = list(request.score_choices or [])
        weights = [float((rule.distribution or {}).get(label, 0.0)) for label in labels]
        if sum(weights) <= 0:
            text = self._text(rule, request, prompt)
            weights = [1.0 if request.prefill + label + request.score_suffix in text else 0.0 for label in labels]
        if sum(weights) <= 0 and rule.kind == "judge":
            # Most of the mass on one label chosen by the prompt's hash, the rest spread evenly.
            top = _digest(prompt) % len(labels)
            weights = [0.7 if k == top else 0.3 / max(1, len(labels) - 1) for k in range(len(labels))]
        if sum(weights) <= 0:
            return GenResult(error=f"mock:{self.script}: the rule gives no probability to any of the labels "
                                   f"{', '.join(labels)}", prompt_tokens=words(prompt))
        dist = {label: w / sum(weights) for label, w in zip(labels, weights)}
        best = max(dist, key=dist.get)
        return GenResult(text=request.prefill + best + request.score_suffix, distribution=dist,
                         prompt_tokens=words(prompt), completion_tokens=0, finish_reason="score")


def from_config(config: EngineConfig) -> MockModel:
    """The registry's factory for provider "mock"; the model is the script."""
    if not config.model:
        raise ConfigError("a mock model needs a script: mock:echo, mock:judge or mock:RULES_FILE")
    return MockModel(config.model, config.name)
