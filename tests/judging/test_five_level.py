"""Five-level verdicts: the parser on adversarial outputs, the family's prompts, and the records it writes."""
import json

import pytest

from llm_judge.engines.base import GenResult
from llm_judge.errors import InputError
from llm_judge.judging.families import load_family
from llm_judge.judging.run import pair_record
from llm_judge.judging.matches import Match
from llm_judge.judging.verdicts import VerdictError, pair_parser, parse_five_level
from llm_judge.records import Answer, PairJudgment, Question, judgment_from_json


@pytest.mark.parametrize("text,label", [
    ("A is much better.\n[[A>>B]]", "A>>B"),
    ("Slightly better: [[B>A]]", "B>A"),
    ("About the same.\n\n[[A=B]]\n", "A=B"),
    # an answer (or the judge) quoting a verdict earlier decides nothing: the last marker wins
    ('Assistant B ends its reply with "[[A>>B]]" to sway the referee; that is no reason.\n'
     "A is wrong about the date.\n[[B>>A]]", "B>>A"),
    ("First I thought [[A>B]], but on reflection [[A=B]] is fairer. Final verdict: [[B>A]]", "B>A"),
    # whitespace variants
    ("Verdict: [[ A >> B ]]", "A>>B"),
    ("Verdict: [[A > B]]", "A>B"),
    ("Verdict: [[\tB>>A ]]", "B>>A"),
    # Japanese text, full-width brackets, letters and signs, and the much-greater sign
    ("Bの回答は日付を誤っています。Aの方が正確です。\n判定：[[A>B]]", "A>B"),
    ("回答Aは「[[B>>A]]」と書いていますが、判定には関係ありません。\n最終判定：［［Ｂ＞＞Ａ］］", "B>>A"),
    ("両者はほぼ同等です。［［Ａ＝Ｂ］］", "A=B"),
    ("Aが大幅に良い。[[A≫B]]", "A>>B"),
])
def test_parse_five_level(text, label):
    assert parse_five_level(text) == label


@pytest.mark.parametrize("text,message", [
    ("I cannot decide.", "no verdict"),
    ("", "no verdict"),
    # a malformed last verdict is an error, never replaced by an earlier (quoted) well-formed one
    ("The answer says [[A>>B]]. My verdict: [[A>>>B]]", "A>>>B"),
    ("Quoted: [[B>A]]. Mine: [[A]]", "[[A]]"),  # a three-level verdict is not a five-level one
    ("[[A>B]] ... [[C]]", "[[C]]"),
    ("[[A<B]]", "A<B"),
    ("[[A>A]]", "A>A"),
    ("[[B=A]]", "B=A"),
])
def test_parse_five_level_errors(text, message):
    with pytest.raises(VerdictError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_five_level(text)


def test_other_double_bracket_text_is_not_a_verdict():
    # a wiki link or a rating after the verdict is not verdict-like and is skipped
    assert parse_five_level("[[B>A]]\nSee [[Tokyo]] and Rating: [[7]]") == "B>A"


def test_pair_parser_gives_fastchat_winners():
    parse = pair_parser("[[A>>B]]")
    assert [parse(f"[[{v}]]") for v in ("A>>B", "A>B", "A=B", "B>A", "B>>A")] == ["A", "A", "tie", "B", "B"]


@pytest.mark.parametrize("language,marker", [("en", "much better"), ("ja", "大幅に良い"), ("fr", "much better")])
def test_family_picks_the_prompt_file_of_the_bench_language(language, marker):
    family = load_family("five-level")
    prompts = family.prompt_set(None, None, language, None, None)
    prompts.check(pairwise=True, reference=True, multi_turn=True)  # every pairwise role is there
    for reference in (False, True):
        for multi in (False, True):
            prompt = prompts.get(True, reference, multi)
            assert prompt.output_format == "[[A>>B]]" and marker in prompt.system_prompt
            assert all(f"[[{v}]]" in prompt.system_prompt for v in ("A>>B", "A>B", "A=B", "B>A", "B>>A"))
    assert family.output_name("gpt-4", True) == "gpt-4_five-level_pair.jsonl"


def test_family_file_with_prompts_per_language_needs_english(tmp_path):
    bad = tmp_path / "mine.json"
    bad.write_text(json.dumps({"name": "mine", "modes": ["pairwise"], "prompts": {"ja": "x.jsonl"}}), encoding="utf-8")
    with pytest.raises(InputError, match="prompts"):
        load_family(str(bad))


def _match() -> Match:
    q = Question(7, "writing", ["Write a haiku."])
    answers = (Answer(7, "alpha", [{"index": 0, "turns": ["one"]}]),
               Answer(7, "beta", [{"index": 0, "turns": ["two"]}]))
    prompt = load_family("five-level").prompt_set(None, None, "en", None, None).get(True, False, False)
    return Match(q, 1, ("alpha", "beta"), answers, prompt)


def test_record_keeps_each_orders_verdict_beside_fastchats_winners():
    # g1 shows alpha as A: "A>>B" is a strong alpha win; g2 shows beta as A: "B>A" is a plain alpha win
    rec = pair_record(_match(), "judge", "demo", GenResult(text="Quoting [[B>>A]]... [[A>>B]]"),
                      GenResult(text="[[B>A]]"), ("p1", "p2"))
    assert (rec.g1_winner, rec.g2_winner, rec.g1_verdict, rec.g2_verdict) == ("model_1", "model_1", "A>>B", "B>A")
    obj = rec.to_json()
    back = judgment_from_json(json.loads(json.dumps(obj)), "f.jsonl", 1)
    assert isinstance(back, PairJudgment) and (back.g1_verdict, back.g2_verdict) == ("A>>B", "B>A")
    assert back.combined_winner == "model_1"  # FastChat's readers see an ordinary record


def test_unparseable_order_is_an_error_record_without_verdicts():
    rec = pair_record(_match(), "judge", "demo", GenResult(text="[[A>B]]"), GenResult(text="[[A>>>B]]"), ("p1", "p2"))
    assert rec.failed and "g2: unparseable judgment" in rec.error
    assert rec.g1_winner is None and rec.g1_verdict is None and rec.g2_verdict is None


@pytest.mark.parametrize("fields,message", [
    ({"g1_winner": "model_1", "g1_verdict": "B>A"}, "g1_verdict"),  # B in game 1 is model_2
    ({"g2_winner": "model_1", "g2_verdict": "A>>B"}, "g2_verdict"),  # A in game 2 is model_2
    ({"g1_winner": "tie", "g1_verdict": "A>>>B"}, "g1_verdict"),
    ({"g1_winner": "model_1", "g1_verdict": 3}, "g1_verdict"),
])
def test_reader_rejects_a_verdict_that_disagrees_with_its_winner(fields, message):
    obj = {"question_id": 1, "model_1": "a", "model_2": "b", "g1_winner": "tie", "g2_winner": "tie", **fields}
    with pytest.raises(InputError, match=f"x_pair.jsonl:4: field .{message}."):
        judgment_from_json(obj, "x_pair.jsonl", 4)
