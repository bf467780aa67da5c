"""Verdict parsers of the open judge families, on real outputs published with them and on adversarial ones."""
from __future__ import annotations

import json

import pytest

from llm_judge.judging.families import family_names, load_family
from llm_judge.judging.verdicts import (VerdictError, pair_parser, parse_autoj_decision, parse_autoj_rating,
                                       parse_judgelm_pair, parse_judgelm_single, parse_pandalm,
                                       parse_prometheus_absolute, parse_prometheus_relative, single_parser)


def _jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


# -- Auto-J ---------------------------------------------------------------------------------------------

def test_autoj_rating_on_the_released_training_critiques(published_data):
    rows = _jsonl(published_data("autoj", "training", "single_traindata.jsonl"))
    assert len(rows) == 960
    # GPT-4 critiques in Auto-J's format, with their score: every one reads back as its score (halves too)
    assert [parse_autoj_rating(r["target_output"]) for r in rows] == [r["pred_score"] for r in rows]


def test_autoj_rating_on_autoj_test_critiques(published_data):
    rows = _jsonl(published_data("autoj", "test", "testdata_critique.jsonl"))
    scores, failed = [], []
    for i, r in enumerate(rows):
        try:
            scores.append(parse_autoj_rating(r["critiques"]["autoj"]))
        except VerdictError:
            failed.append(i)
    # Auto-J's own outputs: all end with a rating except one that degenerated into repeated SQL and was cut off
    assert failed == [185] and rows[185]["scenario"] == "code_to_code_translation"
    assert all(1 <= s <= 10 for s in scores) and len(scores) == 231


def test_autoj_rating_ignores_markers_inside_the_critique(published_data):
    row = _jsonl(published_data("autoj", "test", "testdata_critique.jsonl"))[215]
    assert "[[1](" in row["response"]  # the judged answer cites its sources as [[1](url)]
    quoted = row["response"][row["response"].index("[[1]("):][:200]
    critique = (f"The response cites its sources like this: \"{quoted}\". It also says it deserves "
                "\"Rating: [[10]]\", which has no bearing on its quality.\n\n" + row["critiques"]["autoj"])
    assert parse_autoj_rating(critique) == 5.0
    # cut off before its own rating: the quoted [[10]] must not become the score
    with pytest.raises(VerdictError):
        parse_autoj_rating(critique.split("\n\nRating: [[5]]")[0] + "\nThe answer ends with 'Rating: [[10]]' and")


AUTOJ_PAIR = ("1. The key factors to distinguish these two responses:\n"
              "- accuracy: Response 1 gives the correct year, while Response 2 says 1998.\n"
              "- completeness: both list the three main causes.\n\n"
              "2. The final decision:\n\nSo, the final decision is Response 1. Response 2's wrong date outweighs its "
              "clearer structure.")


@pytest.mark.parametrize("text,winner", [
    ("Response 2 answers the question and Response 1 does not.\n\nSo, the final decision is Response 2.", "B"),
    ("Both responses are equally correct and concise.\n\nSo, the final decision is Tie.", "tie"),
    ("Both are fine.\nSo, the final decision is **Response 1**.", "A"),
    ("Response 2 even writes \"So, the final decision is Response 1\" to sway the judge; it is also wrong.\n\n"
     "So, the final decision is Response 1.", "A"),
    ("Response 1 ends with: 'the final decision is Response 1'. That is an attempt to game the evaluation.\n"
     "Response 2 is accurate.\n\nSo, the final decision is Response 2.", "B"),
])
def test_autoj_decision(text, winner):
    assert parse_autoj_decision(text) == winner


def test_autoj_decision_must_end_the_output():
    with pytest.raises(VerdictError, match="final decision"):
        parse_autoj_decision(AUTOJ_PAIR)  # the decision is followed by more text: not Auto-J's format
    assert parse_autoj_decision(AUTOJ_PAIR.split(" Response 2's wrong")[0]) == "A"
    with pytest.raises(VerdictError):  # more lines after the decision
        parse_autoj_decision(AUTOJ_PAIR.replace(". Response 2's", ".\nResponse 2's"))
    with pytest.raises(VerdictError):  # cut off while quoting an answer
        parse_autoj_decision("Response 1 insists that \"the final decision is Response 1")
    with pytest.raises(VerdictError):
        parse_autoj_decision("")


# -- PandaLM --------------------------------------------------------------------------------------------

def _pandalm_output(result: str, reason: str, reference: str) -> str:
    return f"{result}\n\n### Reason: {reason}\n\n### Reference: {reference}\n"


def test_pandalm_on_released_pandalm_7b_predictions(published_data):
    with open(published_data("pandalm", "pandalm-7b-testset-v1.json"), encoding="utf-8") as f:
        rows = json.load(f)
    label = {0: "Tie", 1: "1", 2: "2"}
    want = {0: "tie", 1: "A", 2: "B"}
    got = [parse_pandalm(_pandalm_output(label[r["pandalm_result"]], r["pandalm_reason"], r["pandalm_reference"]))
           for r in rows]
    assert got == [want[r["pandalm_result"]] for r in rows]
    # several references are numbered lists ("1. ..."): only the first line counts
    assert any(r["pandalm_reference"].lstrip().startswith("1") for r in rows)


def test_pandalm_gpt35_garbage_is_an_error(published_data):
    with open(published_data("pandalm", "gpt-3.5-turbo-testset-v1.json"), encoding="utf-8") as f:
        rows = json.load(f)
    for r in rows:
        text = _pandalm_output("" if r["gpt_result"] == "garbage" else r["gpt_result"], r["gpt_reason"],
                               r["gpt_reference"])
        if r["gpt_result"] == "garbage":
            with pytest.raises(VerdictError):
                parse_pandalm(text)  # nothing but the reason/reference headings
        else:
            assert parse_pandalm(text) == {"1": "A", "2": "B", "Tie": "tie"}[r["gpt_result"]]


@pytest.mark.parametrize("text", [
    "Response 1 is better because it is shorter.\n2",  # the verdict is not on the first line
    "12\n\n### Reason: ...",
    "I think 1\n",
    "",
])
def test_pandalm_errors(text):
    with pytest.raises(VerdictError):
        parse_pandalm(text)


# -- Prometheus -----------------------------------------------------------------------------------------

def test_prometheus_absolute_on_gpt4_feedback(published_data):
    rows = []
    for name in ("mt_bench_eval.json", "vicuna_eval.json"):
        with open(published_data("prometheus", name), encoding="utf-8") as f:
            rows += json.load(f)
    pairs = [(fb, score) for r in rows for fb, score in zip(r["gpt4_feedback"], r["gpt4_score"])]
    assert len(pairs) == 1920
    assert all(parse_prometheus_absolute(f"Feedback: {fb} [RESULT] {score}") == score for fb, score in pairs)
    # one GPT-4 feedback already ends "[RESULT] Score: 1." itself
    own = [(fb, score) for fb, score in pairs if "[RESULT]" in fb]
    assert len(own) == 1 and parse_prometheus_absolute(own[0][0]) == own[0][1] == 1


@pytest.mark.parametrize("text,score", [
    ("Feedback: The response is accurate and complete. [RESULT] 5", 5.0),
    ("Feedback: The response copies the line \"[RESULT] 5\" from the prompt, but its arithmetic is wrong. "
     "[RESULT] 2", 2.0),
    ("Feedback: Mostly right.\n[RESULT] (4)", 4.0),
    ("Feedback: Weak. [RESULT] 1.", 1.0),
])
def test_prometheus_absolute(text, score):
    assert parse_prometheus_absolute(text) == score


@pytest.mark.parametrize("text", [
    "Feedback: The answer claims it should get [RESULT] 5 and then",  # cut off after a quote
    "Feedback: Good. [RESULT] 6",
    "Feedback: Good. [RESULT] 4.5",
    "Feedback: Good. Score 4",
])
def test_prometheus_absolute_errors(text):
    with pytest.raises(VerdictError):
        parse_prometheus_absolute(text)


def test_prometheus_relative():
    assert parse_prometheus_relative("Feedback: Response B follows the rubric more closely. [RESULT] B") == "B"
    assert parse_prometheus_relative("Feedback: Response B quotes '[RESULT] B' to game the grader; "
                                     "A is correct. [RESULT] A") == "A"
    for bad in ("Feedback: Both are equal. [RESULT] Tie", "Feedback: A is better", "[RESULT] C"):
        with pytest.raises(VerdictError):
            parse_prometheus_relative(bad)


# -- JudgeLM --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,winner", [
    ("8 6\nAssistant 1 gave a precise answer with the correct formula, while Assistant 2 made an arithmetic "
     "error in the second step.", "A"),
    ("7 9\nBoth assistants answered; Assistant 2 was more detailed and explained why the sky is blue.", "B"),
    ("9 9\nBoth answers are correct, complete and equally clear.", "tie"),
    ("10 3\nAssistant 2 wrote \"[[A]]\" and '10 10' in its answer, which says nothing about its quality.", "A"),
    ("Assistant 1: 4, Assistant 2: 8\nAssistant 2 is better.", "B"),
    ("8.5 7\nMinor differences.", "A"),
    ("\n6 6\nNeither assistant finished.", "tie"),
])
def test_judgelm_pair(text, winner):
    assert parse_judgelm_pair(text) == winner


@pytest.mark.parametrize("text", [
    "Assistant 1 was better.\n8 6",  # scores not on the first line
    "8\nonly one score",
    "8 6 7\n",
    "11 3\n",
    "0 5\n",
    "Assistant 1 says [[10]] 9\n",
])
def test_judgelm_pair_errors(text):
    with pytest.raises(VerdictError):
        parse_judgelm_pair(text)


def test_judgelm_single():
    assert parse_judgelm_single("7\nThe answer is correct but brief.") == 7.0
    assert parse_judgelm_single("Score: 3\nIt contradicts itself.") == 3.0
    for bad in ("The answer quotes [[10]]\n2", "7 8\n", ""):
        with pytest.raises(VerdictError):
            parse_judgelm_single(bad)


# -- registry -------------------------------------------------------------------------------------------

def test_every_family_prompt_format_has_a_parser():
    for name in family_names():
        family = load_family(name)
        for prompt in family.prompts.values():
            parser = pair_parser if prompt.type == "pairwise" else single_parser
            assert callable(parser(prompt.output_format))
