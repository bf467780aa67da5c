"""Style features of answers, for ratings that hold style equal (``show_result --style-control``).

Each answer turn is measured by four counts, as Arena-Hard's style control measures it:

* ``length``: tokens. A token is a run of non-space characters, except that every CJK character (kanji,
  kana, Hangul, CJK punctuation and full-width forms) is a token of its own, so Japanese, which has no
  spaces, is counted about as a subword tokenizer would count it. No tokenizer is loaded: the counts are
  the same on every machine and need no extra package.
* ``headers``: markdown header lines (``#`` to ``######`` then a space);
* ``lists``: list items (``-``, ``*``, ``+``, ``•``, ``・`` or a number then ``.``, ``)``, ``．``, ``）``);
* ``bold``: bold spans (``**text**`` or ``__text__``).

Markdown inside fenced code blocks is not style and is not counted (code still counts toward length).
A game's feature is the normalised difference of its two answers, (a - b) / (a + b), 0 when both are 0.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from ..errors import ConfigError

FEATURES = ("length", "headers", "lists", "bold")
LENGTH_ONLY = ("length",)

_CJK = "\u1100-\u11ff\u2e80-\u2fff\u3001-\u303f\u3040-\u30ff\u3100-\u31ff\u3400-\u4dbf\u4e00-\u9fff" \
       "\uac00-\ud7af\uf900-\ufaff\uff01-\uffef"
_TOKEN = re.compile(f"[{_CJK}]|[^\\s{_CJK}]+")
_CODE = re.compile(r"^\s*(```|~~~).*?^\s*\1", re.MULTILINE | re.DOTALL)
_HEADER = re.compile(r"^ {0,3}#{1,6}[ \t]+\S", re.MULTILINE)
_LIST = re.compile(r"^[ \t]*(?:[-*+•・]|\d+[.)．）])[ \t]*\S", re.MULTILINE)
_BOLD = re.compile(r"\*\*(?=\S)[^*\n]+?\*\*|__(?=\S)[^_\n]+?__")

Key = tuple[str, Any, int]  # (model, question_id, turn)


def count_tokens(text: str) -> int:
    return len(_TOKEN.findall(text))


def style_of(text: str, features: tuple[str, ...] = FEATURES) -> tuple[int, ...]:
    """The counts of ``features`` in one answer turn."""
    prose = _CODE.sub("", text)
    counts = {"length": lambda: count_tokens(text), "headers": lambda: len(_HEADER.findall(prose)),
              "lists": lambda: len(_LIST.findall(prose)), "bold": lambda: len(_BOLD.findall(prose))}
    return tuple(counts[f]() for f in features)


@dataclass(frozen=True)
class Styles:
    """Every answer turn's style counts, and the features they are."""

    features: tuple[str, ...]
    values: Mapping[Key, tuple[float, ...]]

    def diff(self, key_1: Key, key_2: Key) -> tuple[float, ...]:
        """The normalised difference (a - b) / (a + b) of each feature between two answers."""
        missing = [k for k in (key_1, key_2) if k not in self.values]
        if missing:
            m, qid, t = missing[0]
            raise ConfigError(f"no answer of {m} to question {qid!r} turn {t}; style control needs every answer")
        return tuple((a - b) / (a + b) if a + b else 0.0 for a, b in zip(self.values[key_1], self.values[key_2]))


def answer_styles(answers: Mapping[str, Mapping[Any, Any]], features: tuple[str, ...] = FEATURES) -> Styles:
    """The style counts of every turn of ``answers`` (as Bench.load_answers returns them)."""
    unknown = [f for f in features if f not in FEATURES]
    if unknown:
        raise ConfigError(f"unknown style feature {unknown[0]!r} (known: {', '.join(FEATURES)})")
    values = {(model, qid, t): style_of(text, features)
              for model, by_qid in answers.items() for qid, answer in by_qid.items()
              for t, text in enumerate(answer.turns, 1)}
    return Styles(features, values)
