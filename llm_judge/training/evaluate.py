"""The judge measured on the test split, as ``gen_judgment --judge-method distribution`` would run it.

Each test example's prompt is rendered (the family's wrapper as chat template), the family's prefill is
appended, and every label's probability is read with engines/scoring.py. For single examples, the
*expected* score (probabilities renormalised over the labels) and the *greedy* score (the most probable
label, the verdict distribution judging records) are compared with the example's own verdict: Pearson,
Spearman, Kendall, MSE. For pairwise examples the most probable label is the verdict; an example and its
swapped copy (make_traindata --swap) are the two orders of one pair, scored with eval_judge's metrics:
agreement, agreement without ties, position consistency.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from ..engines import scoring
from ..metaeval.metrics import score as pair_score
from ..metaeval.pairs import ONE, TIE, TWO, LabelledPair
from ..metaeval.predictions import Predictions
from ..traindata.record import JudgeRecord
from . import verdict
from .examples import Split
from ..stats import score_metrics

_LETTER = {1.0: "A", 0.0: "B", 0.5: "tie"}
_SET_TERMS = {"A": ONE, "B": TWO, "tie": TIE}
_FLIP = {ONE: TWO, TWO: ONE, TIE: TIE}


@dataclass
class Case:
    messages: list[dict[str, str]]  # the prompt, without the answer
    scale: verdict.Scale
    target: float
    record: JudgeRecord


def cases(split: Split, family_scales: dict[bool, list[verdict.Scale]], limit: int | None = None) -> list[Case]:
    """Test examples whose verdict can be read; ``limit``: of the first that many questions (a pair counts once)."""
    out = []
    for ex, rec in zip(split.examples, split.records):
        site = verdict.find(ex["messages"][-1]["content"], family_scales[rec.pairwise])
        if site is not None:
            out.append(Case(ex["messages"][:-1], site.scale, site.target, rec))
    if limit is None or len(out) <= limit:
        return out
    keep = set(list(dict.fromkeys(_pair_key(c.record) for c in out))[:limit])  # a pair's two orders stay together
    return [c for c in out if _pair_key(c.record) in keep]


def label_probabilities(model: Any, tokenizer: Any, items: Sequence[Case], chat_template: str | None,
                        batch_size: int = 2, bf16: bool = False) -> list[list[float]]:
    """Per case, the probability of each label of its scale, renormalised over the labels (``bf16``: under
    bfloat16 autocast, as training ran)."""
    import torch

    built = []
    for case in items:
        text = tokenizer.apply_chat_template(case.messages, tokenize=False, add_generation_prompt=True,
                                             chat_template=chat_template) + case.scale.prefill
        labels = [text + label + case.scale.suffix for label in case.scale.labels]
        built.append(scoring.build_item(tokenizer(labels, add_special_tokens=False)["input_ids"]))
    base = model.get_base_model() if hasattr(model, "get_base_model") else model  # LoRA layers live in it
    was_training = base.training
    base.eval()
    out: list[list[float]] = [[] for _ in items]
    device = next(base.parameters()).device.type
    try:
        with torch.autocast(device, dtype=torch.bfloat16, enabled=bf16):
            for i, logprobs in scoring.score_items(base, built, batch_size, tokenizer.pad_token_id, torch):
                out[i] = scoring.normalise(logprobs)
    finally:
        base.train(was_training)
    return out


def measure(items: Sequence[Case], probs: Sequence[Sequence[float]]) -> dict[str, Any]:
    """The metrics of single and of pairwise cases, each present when the split holds such cases."""
    out: dict[str, Any] = {}
    single = [(c, p) for c, p in zip(items, probs) if not c.record.pairwise]
    if single:
        labels = [c.target for c, _ in single]
        expected = [sum(pk * v for pk, v in zip(p, c.scale.values)) for c, p in single]
        greedy = [c.scale.values[max(range(len(p)), key=p.__getitem__)] for c, p in single]
        out["single"] = {"n": len(single), "expected": score_metrics(expected, labels),
                         "greedy": score_metrics(greedy, labels)}
    pairs = [(c, p) for c, p in zip(items, probs) if c.record.pairwise]
    if pairs:
        out["pairwise"] = _pairwise(pairs)
    return out


def _pair_key(rec: JudgeRecord) -> str:
    return (rec.swapped() if rec.meta.get("swapped") else rec).content_key() if rec.pairwise else rec.content_key()


def _pairwise(pairs: list[tuple[Case, Sequence[float]]]) -> dict[str, Any]:
    orders: dict[str, dict[bool, str]] = {}
    labelled: dict[str, LabelledPair] = {}
    for case, p in pairs:
        rec, swapped = case.record, bool(case.record.meta.get("swapped"))
        key = _pair_key(rec)
        letter = _LETTER[case.scale.values[max(range(len(p)), key=p.__getitem__)]]
        said = _SET_TERMS[letter]
        orders.setdefault(key, {})[swapped] = _FLIP[said] if swapped else said
        original = rec.swapped() if swapped else rec
        labelled[key] = LabelledPair(key, (original.question,), (original.responses[0],), (original.responses[1],),
                                     votes=(_SET_TERMS[original.label or "tie"],))
    both = all(len(v) == 2 for v in orders.values())
    preds = Predictions("judge", 2 if both else 1)
    for key, got in orders.items():
        preds.verdicts[key] = (got[False], got[True]) if both else (got.get(False, got.get(True)),)
    m = pair_score(list(labelled.values()), preds)
    return {"n": m.n, "orders": m.orders, "agreement": m.agreement, "agreement_no_tie": m.agreement_no_tie,
            "consistency": m.consistency}
