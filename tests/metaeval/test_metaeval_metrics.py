"""The metric functions on small hand-worked cases."""
import random

import pytest

from llm_judge.metaeval.metrics import final_verdict, macro_prf, position_score, relabel, score, score_groups
from llm_judge.metaeval.pairs import LabelledPair, flip, majority
from llm_judge.metaeval.predictions import Predictions
from llm_judge.stats import cohen_kappa


def pair(pid, label, subset="s"):
    return LabelledPair(pid, ("q",), ("a",), ("b",), (label,) if label else (), subset=subset)


def test_verdict_helpers():
    assert (flip("1"), flip("2"), flip("tie"), flip(None)) == ("2", "1", "tie", None)
    assert majority(["1", "2", "1"]) == "1" and majority(["1", "2"]) is None and majority([]) is None
    assert final_verdict(("2",)) == "2" and final_verdict(("1", "1")) == "1"
    assert final_verdict(("1", "2")) == "tie" and final_verdict(("1", None)) is None  # FastChat: disagreement is a tie
    # order 2 shows response 2 first, so "2" there is the first position winning
    assert (position_score("1", 1), position_score("2", 2), position_score("1", 2), position_score("tie", 1)) == (1, 1, -1, 0)


def test_cohen_kappa_by_hand_and_bit_for_bit_like_sklearn():
    # po = 3/4; chance: .5*.25 + .5*.75 = .5; kappa = (.75 - .5) / (1 - .5)
    assert cohen_kappa([1, 1, 2, 2], [1, 2, 2, 2]) == 0.5
    assert cohen_kappa(["1", "1"], ["1", "1"]) is None  # chance agreement 1: undefined
    np = pytest.importorskip("numpy")
    rng = random.Random(7)
    for k in (2, 3, 4):
        for _ in range(20):
            a = [rng.randrange(k) for _ in range(rng.randrange(5, 60))]
            b = [rng.randrange(k) if rng.random() < 0.5 else x for x in a]
            labels = sorted(set(a) | set(b))
            conf = np.zeros((len(labels), len(labels)), dtype=np.int64)
            for x, y in zip(a, b):
                conf[labels.index(x), labels.index(y)] += 1
            expected = np.outer(conf.sum(axis=0), conf.sum(axis=1)) / conf.sum(axis=0).sum()
            w = np.ones_like(conf)
            w.flat[:: len(labels) + 1] = 0
            if np.sum(w * expected) == 0:
                continue
            assert cohen_kappa(a, b) == 1 - np.sum(w * conf) / np.sum(w * expected)  # sklearn's formula, exactly


def test_macro_prf_counts_classes_seen_in_labels_or_verdicts():
    gold = ["1", "1", "2", "2"]
    pred = ["1", "tie", "2", None]  # a tie the labels never use; a missing verdict is no class
    p, r, f = macro_prf(gold, pred)
    # classes 1, 2, tie: precision 1, 1, 0; recall 1/2, 1/2, 0; F1 2/3, 2/3, 0
    assert (p, r) == (2 / 3, 1 / 3)
    assert f == pytest.approx((2 / 3 + 2 / 3) / 3)


def test_missing_verdicts_never_right_unless_counted_as_ties():
    items = [pair("a", "tie"), pair("b", "1"), pair("c", "2"), pair("d", None)]
    preds = Predictions("j", 1, {"a": (None,), "b": ("1",), "c": ("tie",), "d": ("1",), "zzz": ("1",)})
    strict = score(items, preds)
    assert (strict.pairs, strict.n, strict.no_verdict, strict.agreement) == (3, 3, 1, 1 / 3)
    assert (strict.n_no_tie, strict.agreement_no_tie) == (1, 1.0)  # only b: a's label and c's verdict are ties
    lenient = score(items, preds, invalid_as_tie=True)
    assert (lenient.agreement, lenient.no_verdict) == (2 / 3, 1)


def test_position_shares_add_up_and_groups_end_with_overall():
    items = [pair("a", "1", "x"), pair("b", "2", "x"), pair("c", "1", "y"), pair("d", "2", "y")]
    preds = Predictions("j", 2, {"a": ("1", "2"), "b": ("1", "2"), "c": ("tie", "1"), "d": ("2", None)})
    # a, b: first shown won twice; c: tie, then second shown won; d: no order-2 verdict
    m = score(items, preds)
    assert (m.consistency, m.prefer_first, m.prefer_second) == (0.0, 2 / 4, 1 / 4)
    assert (m.acc_1, m.acc_2, m.acc_avg, m.acc_both) == (2 / 4, 2 / 4, 2 / 4, 0.0)
    assert m.agreement == 0.0  # finals: tie, tie, tie, none
    assert [name for name, _ in score_groups(items, preds)] == ["x", "y", "overall"]
    assert [name for name, _ in score_groups(items, preds, "none")] == ["overall"]


def test_relabel_scores_one_judge_against_another():
    items = [pair("a", "1"), pair("b", "1"), pair("c", "2")]
    ref = Predictions("ref", 2, {"a": ("2", "2"), "b": ("1", "2"), "c": (None, "2")})
    relabelled = relabel(items, ref)
    assert [(p.id, p.label) for p in relabelled] == [("a", "2"), ("b", "tie")]  # c: no final verdict
    other = Predictions("other", 1, {"a": ("2",), "b": ("1",), "c": ("2",)})
    assert score(relabelled, other).agreement == 1 / 2
