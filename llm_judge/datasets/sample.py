"""The one record every published judge dataset is read into, and the verdict values.

A verdict says which of two responses is better *in the dataset's own order*: ``"1"`` (response 1),
``"2"`` (response 2) or ``"tie"``. Whatever a dataset writes (PandaLM 0/1/2 with 0 = tie, Auto-J 0/1/2 with
2 = tie, MT-bench ``model_a``/``model_b``) is translated into these three values by its reader, with the
dataset's one label map. ``None`` stands for "no verdict" (an unparseable judgment, no majority).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional, Union

from .rows import Location

ONE, TWO, TIE = "1", "2", "tie"
VERDICTS = (ONE, TWO, TIE)
Verdict = Optional[str]


def flip(verdict: Verdict) -> Verdict:
    """The same judgment seen with the two responses swapped."""
    return {ONE: TWO, TWO: ONE}.get(verdict, verdict) if verdict is not None else None


def majority(votes: Iterable[str]) -> Verdict:
    """The verdict more annotators gave than any other; None when the top count is shared (or no votes)."""
    counts = Counter(votes).most_common()
    if not counts or (len(counts) > 1 and counts[0][1] == counts[1][1]):
        return None
    return counts[0][0]


@dataclass(frozen=True)
class Turn:
    """An earlier turn of a multi-turn conversation: the user's message and each response to it."""

    question: str
    responses: tuple[str, ...]
    reference: str | None = None


@dataclass(frozen=True)
class Judgment:
    """A teacher judge's verdict on a sample, as published: pairwise scores and the explanation."""

    votes: tuple[str, ...] = ()
    scores: tuple[float, float] | None = None
    rationale: str | None = None


@dataclass(frozen=True)
class Sample:
    """One judging task of a published dataset with its labels.

    ``instruction`` (and ``input``, PandaLM's second field) is the last user message; ``history`` holds
    earlier turns. ``responses`` are one (single grading) or two (pairwise, in the dataset's order).
    ``votes`` are the pairwise labels, one per annotator or teacher judge, as verdicts; ``score`` on
    ``scale`` is a single-response grade. ``rationale`` is the teacher's text as published (verdict
    markers included: users of the text decide what to strip). ``with_reference`` is a second judgment
    made while seeing ``reference`` (JudgeLM ships both). ``quirks`` name repairs the reader made.
    """

    dataset: str
    id: str
    where: Location
    instruction: str
    responses: tuple[str, ...]
    input: str = ""
    history: tuple[Turn, ...] = ()
    reference: str | None = None
    rubric: str | None = None
    votes: tuple[str, ...] = ()
    score: float | None = None
    scores: tuple[float, float] | None = None
    scale: tuple[float, float] | None = None
    rationale: str | None = None
    with_reference: Judgment | None = None
    subset: str = ""
    category: str = ""
    models: tuple[str, ...] = ()
    question_id: Union[int, str, None] = None
    quirks: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def question(self) -> str:
        """What the user asked in the last turn, as one text: the instruction followed by its input, if any."""
        return "\n\n".join(part for part in (self.instruction, self.input) if part.strip())

    @property
    def label(self) -> Verdict:
        return majority(self.votes)
