"""Rationale edits and the record's swap / reference drop (pure functions, no files)."""
from __future__ import annotations

import re

from llm_judge.traindata.rationale import is_japanese, rename, strip_final_verdict, swap_names
from llm_judge.traindata.record import JudgeRecord, Turn, Verdict

PAIR = re.compile(r"\[\[\s*([ABC])\s*\]\]")


def test_swap_is_one_pass_and_respects_word_ends():
    text = "Response 1 is vague; Response 2 cites Response 10 sources. Response 1!"
    assert swap_names(text, ("Response 1", "Response 2")) == \
        "Response 2 is vague; Response 1 cites Response 10 sources. Response 2!"
    assert rename("アシスタントAが優れています", {"アシスタントA": "Assistant A"}) == "Assistant Aが優れています"
    assert swap_names(None, ("a", "b")) is None


def test_trailing_marker_and_lead_in_are_removed():
    words = lambda m: {"A": "Assistant A", "B": "Assistant B", "C": "a tie"}[m.group(1)]  # noqa: E731
    assert strip_final_verdict("A is better.\n\nFinal verdict: [[A]]", PAIR, words) == "A is better."
    assert strip_final_verdict("Bが優れていると判断します。[[B]]", PAIR, words) == "Bが優れていると判断します。"
    # a marker inside a sentence is put into words so the sentence still reads
    assert strip_final_verdict("したがって、最終的な判断は[[C]]です。", PAIR, words) == "したがって、最終的な判断はa tieです。"
    # only the last marker is the verdict; a quoted one earlier stays
    assert strip_final_verdict("B wrote [[A]] in its answer.\n[[B]]", PAIR, words) == "B wrote [[A]] in its answer."
    assert strip_final_verdict("  no verdict here ", PAIR, words) == "no verdict here"


def test_is_japanese():
    assert is_japanese("ストレスと上手に付き合うには？")
    assert not is_japanese("How can I improve my time management skills?")


def _pair(**kw) -> JudgeRecord:
    base = dict(source="t", instruction="Q", responses=["first", "second"], label="A",
                rationale="Response 1 is right, Response 2 is not.", names=("Response 1", "Response 2"))
    base.update(kw)
    return JudgeRecord(**base)


def test_swapped_record_swaps_everything_and_twice_is_identity():
    rec = _pair(scores=[8.0, 3.0], history=[Turn("q1", ["a1", "b1"])],
                without_reference=Verdict(label="B", scores=[2.0, 9.0], rationale="Response 2 wins."))
    s = rec.swapped()
    assert s.responses == ["second", "first"] and s.label == "B" and s.scores == [3.0, 8.0]
    assert s.rationale == "Response 2 is right, Response 1 is not."
    assert s.history[0].responses == ["b1", "a1"]
    assert s.without_reference.label == "A" and s.without_reference.rationale == "Response 1 wins."
    assert s.meta["swapped"] is True
    back = s.swapped()
    assert (back.responses, back.label, back.rationale, back.meta["swapped"]) == \
        (rec.responses, rec.label, rec.rationale, False)
    assert _pair(label="tie").swapped().label == "tie"
    assert s.group_key() == rec.group_key()  # a swap stays on its original's side of the split


def test_reference_drop_falls_back_to_the_judgment_made_without_it():
    rec = _pair(reference="ref", label="A", rationale="with ref",
                without_reference=Verdict(label="B", scores=[1.0, 2.0], rationale="without ref"))
    d = rec.drop_reference()
    assert (d.reference, d.label, d.rationale, d.scores) == (None, "B", "without ref", [1.0, 2.0])
    plain = _pair(reference="ref").drop_reference()
    assert plain.reference is None and plain.label == "A" and plain.meta["reference_dropped"]


def test_json_round_trip_and_validation():
    rec = _pair(reference="r", history=[Turn("q1", ["a", "b"], "r1")], meta={"k": 1},
                without_reference=Verdict(label="tie"))
    again = JudgeRecord.from_json(rec.to_json())
    assert again.to_json() == rec.to_json()
    single = JudgeRecord(source="t", instruction="Q", responses=["r"], score=4.0, scale=(1.0, 5.0))
    assert JudgeRecord.from_json(single.to_json()).score == 4.0
    for bad in (dict(label="C"), dict(responses=["a", "b", "c"]), dict(instruction="  ")):
        try:
            _pair(**bad).check()
        except ValueError:
            continue
        raise AssertionError(f"{bad} passed the check")
