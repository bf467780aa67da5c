"""The pair a judge is scored on, built from a dataset's :class:`~llm_judge.datasets.sample.Sample`.

Verdicts ("1", "2", "tie"; None = no verdict) are the datasets' own, re-exported here for the metrics.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from ..datasets.sample import ONE, TIE, TWO, VERDICTS, Sample, Turn, Verdict, flip, majority

__all__ = ["ONE", "TWO", "TIE", "VERDICTS", "Verdict", "flip", "majority", "LabelledPair", "LabelledSet", "pair_of"]


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


def pair_of(sample: Sample) -> LabelledPair:
    """The pair of a two-response sample: its turns, each response's replies to them, its votes."""
    turns = sample.history + (Turn(sample.question, sample.responses, sample.reference),)
    references = tuple(t.reference for t in turns)
    reference = references if any(r is not None for r in references) else None
    return LabelledPair(sample.id, tuple(t.question for t in turns), tuple(t.responses[0] for t in turns),
                        tuple(t.responses[1] for t in turns), sample.votes, subset=sample.subset,
                        category=sample.category, question_id=sample.question_id,
                        model_1=sample.models[0] if sample.models else "output_1",
                        model_2=sample.models[1] if sample.models else "output_2",
                        reference=reference)  # type: ignore[arg-type]
