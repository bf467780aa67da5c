"""The unified judge record every converter produces and every later stage reads.

A record is one judging task with its answer: a user instruction (and optional input), one response
(single grading) or two (pairwise, in the order shown to the judge), an optional reference answer, and
the label: ``label`` "A" / "B" / "tie" for pairwise, ``score`` on ``scale`` for single. ``rationale`` is the
teacher judge's explanation with the source's own verdict marker removed (the output format adds the
verdict back in its own syntax); ``names`` says how that rationale calls the two responses ("Response 1",
"Assistant A", ...), so swapping and re-rendering can rename them.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from typing import Any

from .rationale import swap_names

PAIR_LABELS = ("A", "B", "tie")
_SWAPPED_LABEL = {"A": "B", "B": "A", "tie": "tie"}
_SPACE = re.compile(r"\s+")


@dataclass
class Turn:
    """An earlier turn of a multi-turn conversation: the user's message and each response to it."""

    question: str
    responses: list[str]
    reference: str | None = None


@dataclass
class Verdict:
    """A judgment of a record made *without* its reference answer (JudgeLM ships both)."""

    label: str | None = None
    score: float | None = None
    scores: list[float] | None = None
    rationale: str | None = None


@dataclass
class JudgeRecord:
    source: str
    instruction: str
    responses: list[str]
    input: str = ""
    reference: str | None = None
    label: str | None = None  # pairwise: "A" (the first response is better), "B" or "tie"
    score: float | None = None  # single: the grade on ``scale``
    scores: list[float] | None = None  # pairwise sources that grade both responses (JudgeLM)
    scale: tuple[float, float] = (1.0, 10.0)
    rationale: str | None = None
    names: tuple[str, str] | None = None  # how the rationale refers to the first and second response
    scenario: str = "general"
    history: list[Turn] = field(default_factory=list)
    rubric: str | None = None
    without_reference: Verdict | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def pairwise(self) -> bool:
        return len(self.responses) == 2

    @property
    def has_reference(self) -> bool:
        return self.reference is not None or any(t.reference is not None for t in self.history)

    @property
    def question(self) -> str:
        """What the user asked, as one text: the instruction followed by its input, if any."""
        return "\n\n".join(part for part in (self.instruction, self.input) if part.strip())

    def check(self) -> None:
        """Raise ValueError if the record cannot be rendered (converters turn it into an InputError)."""
        if not self.question.strip():
            raise ValueError("empty instruction and input")
        if len(self.responses) not in (1, 2):
            raise ValueError(f"needs one or two responses, got {len(self.responses)}")
        if self.pairwise:
            if self.label not in PAIR_LABELS:
                raise ValueError(f"pairwise label must be one of {PAIR_LABELS}, got {self.label!r}")
        else:
            lo, hi = self.scale
            if self.score is None or not lo <= self.score <= hi:
                raise ValueError(f"score {self.score!r} is not on the scale {lo:g}..{hi:g}")
        for turn in self.history:
            if len(turn.responses) != len(self.responses):
                raise ValueError("every turn needs as many responses as the last one")

    def group_key(self) -> str:
        """Which question this is: records sharing it never end up on both sides of a train/test split."""
        first = self.history[0].question if self.history else self.instruction
        text = _SPACE.sub(" ", f"{first}\n{self.input}".strip().lower())
        return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]

    def content_key(self) -> str:
        """Identity of the task the judge sees (not of the label): equal keys are duplicates."""
        parts = [self.instruction, self.input, self.reference or "", *self.responses]
        for turn in self.history:
            parts += [turn.question, turn.reference or "", *turn.responses]
        return hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()

    def swapped(self) -> "JudgeRecord":
        """The same pairwise task with the responses in the other order and everything that follows."""
        if not self.pairwise:
            raise ValueError("only a pairwise record can be swapped")
        alt = self.without_reference
        if alt is not None:
            alt = replace(alt, label=_SWAPPED_LABEL.get(alt.label or "", alt.label),
                          scores=alt.scores[::-1] if alt.scores else None,
                          rationale=swap_names(alt.rationale, self.names))
        return replace(
            self,
            responses=self.responses[::-1],
            label=_SWAPPED_LABEL[self.label or "tie"],
            scores=self.scores[::-1] if self.scores else None,
            rationale=swap_names(self.rationale, self.names),
            history=[replace(t, responses=t.responses[::-1]) for t in self.history],
            without_reference=alt,
            meta={**self.meta, "swapped": not self.meta.get("swapped", False)},
        )

    def drop_reference(self) -> "JudgeRecord":
        """The record as a judge without the reference answer would see it (JudgeLM's reference drop).

        When the source also judged the task without the reference, that verdict replaces the label and
        rationale; otherwise they stay (the teacher's verdict does not depend on being shown the answer).
        """
        out = replace(self, reference=None, history=[replace(t, reference=None) for t in self.history],
                      without_reference=None, meta={**self.meta, "reference_dropped": True})
        alt = self.without_reference
        if alt is not None:
            out.label, out.score, out.scores, out.rationale = alt.label, alt.score, alt.scores, alt.rationale
        return out

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"source": self.source, "scenario": self.scenario, "instruction": self.instruction}
        if self.input:
            out["input"] = self.input
        out["responses"] = self.responses
        for key in ("reference", "label", "score", "scores", "rationale", "rubric"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        out["scale"] = list(self.scale)
        if self.names:
            out["names"] = list(self.names)
        if self.history:
            out["history"] = [{"question": t.question, "responses": t.responses, "reference": t.reference}
                              for t in self.history]
        if self.without_reference is not None:
            out["without_reference"] = {k: v for k, v in vars(self.without_reference).items() if v is not None}
        if self.meta:
            out["meta"] = self.meta
        return out

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> "JudgeRecord":
        """Inverse of :meth:`to_json`; KeyError / TypeError / ValueError on a malformed object."""
        history = [Turn(str(t["question"]), [str(r) for r in t["responses"]], t.get("reference"))
                   for t in obj.get("history") or []]
        alt = obj.get("without_reference")
        scale = obj.get("scale") or (1.0, 10.0)
        rec = cls(
            source=str(obj.get("source") or "records"), instruction=str(obj["instruction"]),
            responses=[str(r) for r in obj["responses"]], input=str(obj.get("input") or ""),
            reference=obj.get("reference"), label=obj.get("label"),
            score=None if obj.get("score") is None else float(obj["score"]),
            scores=None if obj.get("scores") is None else [float(s) for s in obj["scores"]],
            scale=(float(scale[0]), float(scale[1])), rationale=obj.get("rationale"),
            names=tuple(obj["names"]) if obj.get("names") else None,  # type: ignore[arg-type]
            scenario=str(obj.get("scenario") or "general"), history=history, rubric=obj.get("rubric"),
            without_reference=Verdict(**alt) if isinstance(alt, dict) else None, meta=dict(obj.get("meta") or {}),
        )
        rec.check()
        return rec
