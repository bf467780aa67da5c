"""The one record every labelled pairwise set is normalised to, and the verdict values.

A verdict says which of the two responses is better *in the set's own order*: ``"1"`` (response 1),
``"2"`` (response 2) or ``"tie"``. Whatever a set or a judge writes (PandaLM 0/1/2 with 0 = tie, Auto-J
0/1/2 with 2 = tie, MT-bench ``model_a``/``model_b``) is translated into these three values on reading.
``None`` stands for "no verdict": an unparseable judge output, or a pair whose annotators have no majority.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Optional, Union

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
class LabelledPair:
    """Two responses to the same conversation and the human verdicts on them.

    ``turns`` are the user messages up to the judged turn; ``answers_1``/``answers_2`` each response's
    replies to them (one element each for single-turn sets). ``label`` is the gold verdict used by the
    metrics: the strict majority of ``votes``.
    """

    id: str
    turns: tuple[str, ...]
    answers_1: tuple[str, ...]
    answers_2: tuple[str, ...]
    votes: tuple[str, ...] = ()
    subset: str = ""
    category: str = ""
    question_id: Union[int, str, None] = None  # the source's question id when pairs share questions (MT-bench)
    model_1: str = "output_1"
    model_2: str = "output_2"
    reference: tuple[str, ...] | None = None  # reference answers per turn, for reference-guided judge prompts
    label: Verdict = field(default=None, init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "label", majority(self.votes))

    @property
    def turn(self) -> int:
        return len(self.turns)

    @property
    def qid(self) -> Union[int, str]:
        """The question id written into judgment records: the source's, else the pair's own id."""
        return self.id if self.question_id is None else self.question_id


@dataclass
class LabelledSet:
    name: str  # e.g. "llmbar", "pandalm"; names the output folder of judge runs
    format: str  # the loader that read it
    items: list[LabelledPair]

    def by_id(self) -> dict[str, LabelledPair]:
        return {p.id: p for p in self.items}

    def subsets(self) -> list[str]:
        return list(dict.fromkeys(p.subset for p in self.items))
