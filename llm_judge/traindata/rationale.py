"""Text edits on a teacher judge's rationale (pure functions).

Every edit is one pass of one regular expression, so a rename never sees its own output: swapping
"Response 1" and "Response 2" cannot turn both into the same name, as two ``str.replace`` calls would.
"""
from __future__ import annotations

import re
from typing import Callable, Mapping

_JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
# Punctuation that may follow a verdict marker at the very end of a rationale.
_TRAILING = " \t\r\n.。!！)）」』\"'*"
# A line this short ending in a colon only announces the verdict ("Final verdict:", "最終判定：").
_LEAD_IN_MAX = 40


def is_japanese(text: str) -> bool:
    """True when more than a tenth of the first 2000 characters are kana or kanji."""
    sample = text[:2000]
    return bool(sample) and len(_JAPANESE.findall(sample)) > len(sample) / 10


def rename(text: str | None, mapping: Mapping[str, str]) -> str | None:
    """Replace each key by its value in one pass; a key followed by a letter or digit is left alone
    (so "Assistant 1" does not match inside "Assistant 10")."""
    if not text or not mapping:
        return text
    keys = sorted((k for k in mapping if k), key=len, reverse=True)
    pattern = re.compile("(?:" + "|".join(re.escape(k) for k in keys) + r")(?![0-9A-Za-z])")
    return pattern.sub(lambda m: mapping[m.group(0)], text)


def swap_names(text: str | None, names: tuple[str, str] | None) -> str | None:
    if not names:
        return text
    return rename(text, {names[0]: names[1], names[1]: names[0]})


def strip_final_verdict(text: str, pattern: re.Pattern[str], in_words: Callable[[re.Match[str]], str]) -> str:
    """Remove the source's last verdict marker so the output format can state the verdict its own way.

    A marker at the very end goes, with a short lead-in line such as "Final verdict:". A marker inside a
    sentence ("my final judgment is [[C]] because ...") is replaced by ``in_words(match)`` so the sentence
    still reads. Text without a marker is returned stripped.
    """
    matches = list(pattern.finditer(text))
    if not matches:
        return text.strip()
    m = matches[-1]
    before, after = text[: m.start()], text[m.end():]
    if after.strip(_TRAILING):
        return (before + in_words(m) + after).strip()
    before = before.rstrip()
    last_line = before.rsplit("\n", 1)[-1]
    if before.endswith((":", "：")) and len(last_line.strip()) <= _LEAD_IN_MAX:
        before = before[: len(before) - len(last_line)].rstrip()
    return before
