"""Published judge datasets as training records: each kind's samples from llm_judge.datasets, as JudgeRecord.

The datasets give the published labels and texts; here they become what a judge is trained to write:
a pairwise label "A" / "B" / "tie", a rationale without the source's own verdict marker (the output
format adds the verdict back in its own syntax), and the names the rationale calls the responses by.
Every reader takes the path, its options and a counter of the rows it skipped or repaired, and why.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from ...datasets import autoj, judgelm, llmbar, pandalm, prometheus
from ...datasets.rows import checked
from ...datasets.sample import ONE, TIE, TWO, Judgment, Sample, Verdict
from ..rationale import strip_final_verdict
from ..record import JudgeRecord
from ..record import Verdict as AltVerdict

PAIR_LABEL = {ONE: "A", TWO: "B", TIE: "tie"}
JUDGELM_NAMES = ("Assistant 1", "Assistant 2")


def _record(sample: Sample, skipped: Counter, **fields) -> JudgeRecord:
    for quirk in sample.quirks:
        skipped[quirk] += 1
    fields.setdefault("instruction", sample.instruction)
    fields.setdefault("responses", list(sample.responses))
    return checked(sample.where, JudgeRecord(source=sample.dataset, **fields))


def read_autoj(path: Path, options: dict[str, str], skipped: Counter) -> list[JudgeRecord]:
    """Auto-J training data: GPT-4's grade (single) or decision (pairwise) and its critique."""
    records = []
    for s in autoj.read_training(path):
        scenario = s.category or "general"
        if s.votes:
            rationale = strip_final_verdict(s.rationale or "", autoj.DECISION, lambda m: m.group(0))
            human = s.extra["human_label"]
            records.append(_record(s, skipped, label=PAIR_LABEL[s.votes[0]], rationale=rationale, names=autoj.NAMES,
                                   scenario=scenario, meta={"source_dataset": s.extra["source_dataset"],
                                                            "human_label": PAIR_LABEL.get(human) if human else None}))
        else:
            rationale = strip_final_verdict(s.rationale or "", autoj.RATING, lambda m: m.group(1))
            records.append(_record(s, skipped, score=s.score, scale=s.scale, rationale=rationale, scenario=scenario,
                                   meta={"source_dataset": s.extra["source_dataset"]}))
    return records


def read_llmbar(path: Path, options: dict[str, str], skipped: Counter) -> list[JudgeRecord]:
    """LLMBar: the output that follows the instruction; no ties, no rationales; the subset as scenario."""
    return [_record(s, skipped, label=PAIR_LABEL[s.votes[0]], scenario=s.subset or "llmbar")
            for s in llmbar.read(path)]


def _pandalm_reasons(path: Path) -> dict[str, tuple[Verdict, str]]:
    """idx -> (predicted verdict, reason) from a released prediction file; unparseable verdicts left out."""
    return {str(out.idx): (out.verdict, out.reason.strip())
            for out in pandalm.read_outputs(path) if out.verdict and out.reason}


def read_pandalm(path: Path, options: dict[str, str], skipped: Counter) -> list[JudgeRecord]:
    """PandaLM's test set: the annotators' majority (rows without one are skipped). Option ``rationales=FILE``
    joins a released prediction file on ``idx`` and keeps its reason only where its verdict equals the human
    label, so no rationale argues against its label."""
    reasons = _pandalm_reasons(Path(options["rationales"])) if options.get("rationales") else {}
    records = []
    for s in pandalm.read(path):
        label = s.label
        if label is None:
            skipped["no majority among the annotators"] += 1
            continue
        predicted = reasons.get(s.id)
        rationale = predicted[1] if predicted and predicted[0] == label else None
        if predicted and rationale is None:
            skipped["rationale dropped: its verdict differs from the human label"] += 1
        records.append(_record(s, skipped, input=s.input, label=PAIR_LABEL[label], rationale=rationale,
                               names=pandalm.NAMES if rationale else None, scenario=s.category or "general",
                               meta=dict(s.extra)))
    return records


def _scored(sample: Sample, judgment: Judgment, score_key: str) -> AltVerdict:
    if judgment.scores is None:
        raise sample.where.error("is missing", score_key)
    a, b = judgment.scores
    return AltVerdict(label="A" if a > b else "B" if b > a else "tie", scores=[a, b], rationale=judgment.rationale)


def read_judgelm(path: Path, options: dict[str, str], skipped: Counter) -> list[JudgeRecord]:
    """JudgeLM: GPT-4's two scores and explanation. With a reference, the judgment made seeing it is the
    label and the one made without it is kept, so that reference drop can fall back to it, as JudgeLM trains."""
    records = []
    for s in judgelm.read(path):
        plain = _scored(s, Judgment(s.votes, s.scores, s.rationale), "score")
        main, alt, reference = plain, None, s.reference
        if s.with_reference is not None:
            main, alt = _scored(s, s.with_reference, "score_w_reference"), plain
        elif reference:
            reference = None  # no judgment made with the reference: train on the plain one, without it
            skipped["reference left out: no text_w_reference judgment"] += 1
        records.append(_record(s, skipped, instruction=s.instruction.strip(), reference=reference, label=main.label,
                               scores=main.scores, scale=(1.0, 10.0), rationale=main.rationale, names=JUDGELM_NAMES,
                               without_reference=alt,
                               meta={"question_id": s.question_id, "models": s.extra["models"]}))
    return records


def read_prometheus(path: Path, options: dict[str, str], skipped: Counter) -> list[JudgeRecord]:
    """Prometheus: a 1-5 grade on a rubric, with a reference answer and GPT-4's feedback."""
    return [_record(s, skipped, reference=s.reference, rubric=s.rubric, score=s.score, scale=s.scale,
                    rationale=s.rationale, scenario=s.category or "general", meta=dict(s.extra))
            for s in prometheus.read(path)]
