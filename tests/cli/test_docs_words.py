"""The docs speak to users: README.md and docs/*.md state what a command does and how to measure it (the command,
a date, the CPU), with no lab-notebook words: no "this machine", no load averages, no aims, nothing about how the
project was developed."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
PHRASES = ["this machine", "load average", "aim", "aims", "aimed", "before this work", "development machine",
           "other engineers", "shared machine", "an earlier version of this"]
# each phrase in any case, its words apart by any whitespace; "this machine" also with one word between
PATTERNS = [re.escape(p).replace(r"\ ", r"\s+") for p in PHRASES] + [r"this\s+[\w-]+\s+machine"]
FORBIDDEN = re.compile(r"\b(?:" + "|".join(PATTERNS) + r")\b", re.IGNORECASE)


def hits(text: str) -> list[tuple[int, str]]:
    """(line, phrase) of each forbidden phrase; a phrase may run over a line break."""
    return [(text.count("\n", 0, m.start()) + 1, m.group(0)) for m in FORBIDDEN.finditer(text)]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_no_lab_notebook_words(doc):
    found = [f"{doc.name}:{line}: {phrase!r}" for line, phrase in hits(doc.read_text(encoding="utf-8"))]
    assert found == []


def test_each_phrase_is_caught_in_any_case_and_across_a_line_break():
    for phrase in PHRASES:
        assert hits(f"Measured on {phrase.upper()}.") == [(1, phrase.upper())]
    assert hits("the load\naverage was 3") == [(1, "load\naverage")]
    assert hits("a claim, an aimless run, Aim: 10") == [(1, "Aim")]
    assert hits("on this 2-core machine") == [(1, "this 2-core machine")]
