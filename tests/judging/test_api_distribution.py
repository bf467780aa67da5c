"""Distribution judging for API judges: label probabilities read from the log-probs of a generated verdict.

Scripted ``top_logprobs`` from the loopback OpenAI server give distributions computed here by hand: a token
that straddles the verdict opener ("[[7"), a label written as two tokens ("1", "0"), pairwise games, and the
cases that must be error records (no log-probs, an untaken token that starts two labels) or refused (Anthropic).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from fakeapi import FakeAPI, token_entries, use_keys
from llm_judge import cli
from llm_judge.cli import gen_judgment, gen_model_answer
from llm_judge.engines.api.logprobs import read_token_logprobs
from llm_judge.engines.base import GenRequest, GenResult
from llm_judge.jsonl import read_jsonl
from llm_judge.judging import api_distribution as ad
from llm_judge.judging.verdicts import parse_five_level, parse_judgelm_single, parse_last_line, parse_rating

pytestmark = pytest.mark.api

KEY = "sk-test-dist"
E = math.exp


def tokens(script: list) -> list:
    return read_token_logprobs({"logprobs": {"content": token_entries(script)}})


def rating_spec() -> GenRequest:
    return GenRequest([], prefill="Rating: [[", score_choices=[str(i) for i in range(1, 11)], score_suffix="]]")


def read(script: list, spec: GenRequest | None = None, parse=parse_rating) -> GenResult:
    text = "".join(t for t, _, _ in script)
    return ad.read_distribution(GenResult(text=text, token_logprobs=tokens(script)), spec or rating_spec(), parse)


def normalised(weights: dict[str, float]) -> dict[str, float]:
    z = sum(weights.values())
    return {k: v / z for k, v in weights.items()}


def assert_distribution(got: dict[str, float], want: dict[str, float]) -> None:
    want = {**{k: 0.0 for k in got}, **want}
    assert got.keys() == want.keys()
    for k in got:
        assert got[k] == pytest.approx(want[k], abs=1e-12), k


# -- where the verdict is --------------------------------------------------------------------------------------

def test_verdict_span_is_the_place_the_parser_reads():
    values = ad.label_values(rating_spec(), parse_rating)
    quoted = "The answer says [[3]] about itself.\nRating: [[7]]"
    assert ad.verdict_span(quoted, values, parse_rating) == (quoted.rindex("7"), "7")
    assert ad.verdict_span("Rating: [[10]]", values, parse_rating) == (10, "10")  # not "1" of "10"
    # JudgeLM reads its first line, rakuda its last: no opener at all, the parser decides
    judgelm = GenRequest([], score_choices=[str(i) for i in range(1, 11)], score_suffix="\n")
    text = "8\nThe reply is good; I would give it 9 or 10."
    assert ad.verdict_span(text, ad.label_values(judgelm, parse_judgelm_single), parse_judgelm_single) == (0, "8")
    last = GenRequest([], score_choices=["1", "2", "3"])
    text = "Assistant 1 wrote 2 lists.\nVerdict: 2"
    assert ad.verdict_span(text, ad.label_values(last, parse_last_line), parse_last_line) == (len(text) - 1, "2")


def test_no_verdict_is_left_to_the_record_as_unparseable():
    got = read([("I cannot decide.", -0.1, [("I", -0.1)])])
    assert got.distribution is None and got.error is None  # single_record writes "unparseable judgment: ..."


# -- reading the probabilities ---------------------------------------------------------------------------------

def test_a_token_straddling_the_opener():
    """" [[7" holds the opener and the label: alternatives sharing " [[" compete; "[[" (other bytes) does not."""
    got = read([("Fine work. Rating:", -0.1, [("Fine", -0.1)]),
                (" [[7", -0.4, [(" [[7", -0.4), (" [[8", -1.4), (" [[10", -2.5), ("[[", -3.0), (" [[seven", -4.0),
                                (" [[", -6.0)]),
                ("]]", -0.01, [("]]", -0.01)])])
    # " [[" alone (it starts every label) holds e^-6 = 0.0025 < UNRESOLVED_LIMIT: left out
    assert got.ok, got.error
    assert_distribution(got.distribution, normalised({"7": E(-0.4), "8": E(-1.4), "10": E(-2.5)}))


def test_a_two_token_label_is_read_along_the_judges_path():
    """The judge wrote "1", "0": P(10) = P("1")·P("0"|"1") and P(1) = P("1")·P("]]"|"1")."""
    got = read([("Rating: [[", -0.05, [("Rating", -0.05)]),
                ("1", -0.3, [("1", -0.3), ("9", -1.5), ("8", -2.5)]),
                ("0", -0.2, [("0", -0.2), ("]]", -1.8), (".", -3.0)]),
                ("]]", -0.01, [("]]", -0.01)])])
    want = normalised({"10": E(-0.3) * E(-0.2), "1": E(-0.3) * E(-1.8), "9": E(-1.5), "8": E(-2.5)})
    assert_distribution(got.distribution, want)


def test_an_untaken_token_starting_two_labels_is_an_error():
    script = [("Rating: [[", -0.05, [("Rating", -0.05)]), ("8", -0.5, [("8", -0.5), ("1", -1.0), ("9", -1.2)]),
              ("]]", -0.01, [("]]", -0.01)])]
    got = read(script)
    assert got.distribution is None and got.error == (
        "no verdict distribution: 0.368 of the probability went to tokens that start several labels (such as '1' of "
        "1 and 10) and were not continued")
    # beside a "10" token the tokenizer writes 10 whole, so its "1" is the label 1
    script[1] = ("8", -0.5, [("8", -0.5), ("1", -1.0), ("10", -1.1), ("9", -1.2)])
    assert_distribution(read(script).distribution,
                        normalised({"8": E(-0.5), "1": E(-1.0), "10": E(-1.1), "9": E(-1.2)}))


def test_a_label_ending_the_text():
    """ "Rating: 1" then the end of the turn: the judge's own end closes label 1 (the parser read 1 there)."""
    got = read([("Rating: ", -0.05, [("Rating", -0.05)]), ("1", -0.3, [("1", -0.3), ("2", -1.5)]),
                ("<|im_end|>", -0.1, [("<|im_end|>", -0.1), ("0", -2.5), ("]]", -3.0)])])
    want = normalised({"1": E(-0.3) * (E(-0.1) + E(-3.0)), "10": E(-0.3) * E(-2.5), "2": E(-1.5)})
    assert_distribution(got.distribution, want)


def test_five_level_labels_read_over_several_tokens():
    """[[A>>B]] as "A", ">>", "B": "A" starts A>>B, A>B and A=B, so the judge's own next token splits it. Untaken
    starts of several labels ("B": B>A or B>>A; ">": A>B or A>>B) hold 0.009 <= UNRESOLVED_LIMIT: left out."""
    spec = GenRequest([], prefill="[[", score_choices=["A>>B", "A>B", "A=B", "B>A", "B>>A"], score_suffix="]]")
    script = [("A is far better. [[", -0.1, [("A", -0.1)]), ("A", -0.1, [("A", -0.1), ("B", -5.0), ("C", -6.0)]),
              (">>", -0.4, [(">>", -0.4), ("=", -2.5), (">", -6.0)]), ("B", -0.01, [("B", -0.01)]),
              ("]]", -0.01, [("]]", -0.01)])]
    got = read(script, spec, parse_five_level)
    assert_distribution(got.distribution, normalised({"A>>B": E(-0.1) * E(-0.4), "A=B": E(-0.1) * E(-2.5)}))
    script[2] = (">>", -0.4, [(">>", -0.4), ("=", -2.5), (">", -1.3)])  # e^-0.1·e^-1.3 + e^-5 unsplit
    assert "0.253 of the probability went to tokens that start several labels" in read(script, spec, parse_five_level).error


def test_no_logprobs_is_an_error():
    got = ad.read_distribution(GenResult(text="Rating: [[7]]"), rating_spec(), parse_rating)
    assert got.error == ("no verdict distribution: the server returned no log-probs "
                         "(does it support logprobs/top_logprobs?)")


def test_tokens_holding_part_of_a_character():
    """A server decoding each token alone writes U+FFFD for a split UTF-8 character: the verdict is still found."""
    # "答" is two byte-level tokens, each decoded alone as U+FFFD (3 bytes for the 3 of "答": offsets shift)
    script = [("良い", -0.1, [("良い", -0.1)]), ("\ufffd", -0.1, [("\ufffd", -0.1)]), ("\ufffd", -0.1, [("\ufffd", -0.1)]),
              ("え。評価：[[", -0.1, [("え", -0.1)]),
              ("6", -0.2, [("6", -0.2), ("5", -1.0)]), ("]]", -0.01, [("]]", -0.01)])]
    text = "良い答え。評価：[[6]]"
    result = GenResult(text=text, token_logprobs=tokens(script))
    spec = GenRequest([], prefill="評価：[[", score_choices=[str(i) for i in range(1, 11)], score_suffix="]]")
    got = ad.read_distribution(result, spec, parse_rating)
    assert_distribution(got.distribution, normalised({"6": E(-0.2), "5": E(-1.0)}))


# -- end to end: gen_judgment against the loopback server -------------------------------------------------------

SINGLE = [("The reply is correct and clear. Rating: [[", -0.1, [("The", -0.1)]),
          ("7", -0.4, [("7", -0.4), ("8", -1.4), ("6", -2.0), ("seven", -3.0)]), ("]]", -0.01, [("]]", -0.01)])]
PAIR = [("Both are fine; the first is clearer. [[", -0.1, [("Both", -0.1)]),
        ("A", -0.3, [("A", -0.3), ("B", -1.5), ("C", -2.2)]), ("]]", -0.01, [("]]", -0.01)])]
PAIR_SWAPPED = [("The second is clearer. [[", -0.1, [("The", -0.1)]),
                ("B", -0.2, [("B", -0.2), ("A", -2.0), ("C", -2.5)]), ("]]", -0.01, [("]]", -0.01)])]


def scripted(body: dict, text: str) -> str:
    return "".join(t for t, _, _ in _script(text))


def script_tokens(body: dict, reply: str) -> list[dict]:
    return token_entries(_script("\n".join(m["content"] for m in body["messages"])))


def _script(prompt: str) -> list:
    if "[[A]]" not in prompt:
        return SINGLE
    # answers mention their model (see `answered`): mock-x first is game 1 of the pair
    return PAIR if prompt.index("answer-of-x") < prompt.index("answer-of-y") else PAIR_SWAPPED


@pytest.fixture
def answered(data_dir, tmp_path, monkeypatch):
    use_keys(monkeypatch, KEY)
    for model in ("x", "y"):
        script = tmp_path / f"{model}.jsonl"
        script.write_text(json.dumps({"reply": f"answer-of-{model}"}) + "\n", encoding="utf-8")
        assert gen_model_answer.main(["--data-dir", str(data_dir), "--model-path", f"mock:{script}"]) == 0
    return data_dir / "demo_bench"


def judge(bench: Path, server: FakeAPI, *extra: str) -> int:
    return gen_judgment.main(["--data-dir", str(bench.parent), "--judge-model", "gpt-4o", "--api-base",
                              server.openai_base, "--judge-method", "distribution", "--model-list", "x", "y",
                              "--first-n", "2", *extra])


def test_single_records_hold_the_distribution_and_the_greedy_verdict(answered):
    with FakeAPI(api_key=KEY, reply=scripted, logprobs=script_tokens) as server:
        assert judge(answered, server, "--mode", "single") == 0
    rows = read_jsonl(answered / "model_judgment" / "gpt-4o_single.jsonl")
    assert len(rows) >= 4 and {r["model"] for r in rows} == {"x", "y"}
    want = normalised({"7": E(-0.4), "8": E(-1.4), "6": E(-2.0)})
    for r in rows:
        assert r["score"] == 7.0 and "error" not in r  # the greedy verdict, as with --judge-method generate
        assert_distribution(r["score_distribution"], want)
        assert r["expected_score"] == round(sum(int(k) * v for k, v in want.items()), 4)


def test_pairwise_records_match_the_local_fields(answered):
    with FakeAPI(api_key=KEY, reply=scripted, logprobs=script_tokens) as server:
        assert judge(answered, server, "--mode", "pairwise-all") == 0
    rows = read_jsonl(next((answered / "model_judgment").glob("gpt-4o_pair*.jsonl")))
    assert rows
    g1 = normalised({"A": E(-0.3), "B": E(-1.5), "C": E(-2.2)})
    g2 = normalised({"B": E(-0.2), "A": E(-2.0), "C": E(-2.5)})
    for r in rows:
        first_is_x = r["model_1"] == "x"
        mine1, mine2 = (g1, g2) if first_is_x else (g2, g1)
        assert_distribution(r["g1_distribution"], mine1)
        assert_distribution(r["g2_distribution"], mine2)
        p1 = {"A": mine1["A"], "B": mine1["B"], "tie": mine1["C"]}
        p2 = {"A": mine2["A"], "B": mine2["B"], "tie": mine2["C"]}
        assert r["g1_verdict_probs"] == pytest.approx(p1) and r["g2_verdict_probs"] == pytest.approx(p2)
        assert r["win_probs"] == pytest.approx({"model_1": (p1["A"] + p2["B"]) / 2, "model_2": (p1["B"] + p2["A"]) / 2,
                                                "tie": (p1["tie"] + p2["tie"]) / 2})
        assert (r["g1_winner"], r["g2_winner"]) == ("model_1", "model_1") if first_is_x else ("model_2", "model_2")


def test_a_server_without_logprobs_gives_error_records(answered):
    with FakeAPI(api_key=KEY, reply=scripted) as server:
        assert judge(answered, server, "--mode", "single") == 1
    rows = read_jsonl(answered / "model_judgment" / "gpt-4o_single.jsonl")
    assert rows and all(r["error"].startswith("no verdict distribution: the server returned no log-probs")
                        and r["score"] is None and "score_distribution" not in r for r in rows)


CONTINUED = [("Clear. Rating: [[", -0.1, [("Clear", -0.1)]), ("8", -0.5, [("8", -0.5), ("1", -1.0), ("9", -1.2)]),
             ("]]", -0.01, [("]]", -0.01)])]
AFTER_ONE = [("0", -0.7, [("0", -0.7), ("]]", -0.9), ("5", -3.0)])]


def continued_reply(body: dict, text: str) -> str:
    return "0" if body.get("continue_final_message") else "".join(t for t, _, _ in CONTINUED)


def continued_tokens(body: dict, reply: str) -> list[dict]:
    if body.get("continue_final_message"):  # vLLM's way to go on from a prefilled assistant message
        assert body["messages"][-1] == {"role": "assistant", "content": "Clear. Rating: [[1"}
        assert body["add_generation_prompt"] is False and body["max_tokens"] == 1 and body["top_logprobs"] == 20
        return token_entries(AFTER_ONE)
    return token_entries(CONTINUED)


def test_a_compatible_server_continues_an_untaken_label_start(answered):
    """The judge wrote "8"; its alternative "1" (0.37) starts 1 and 10, so one more call asks the server to go
    on from "...[[1": P(10) = P("1")·P("0"|"1"), P(1) = P("1")·P("]]"|"1"); "15" is no label."""
    with FakeAPI(api_key=KEY, reply=continued_reply, logprobs=continued_tokens) as server:
        assert judge(answered, server, "--mode", "single") == 0
        calls = server.stats.count(200)
    rows = read_jsonl(answered / "model_judgment" / "gpt-4o_single.jsonl")
    assert calls == 2 * len(rows)  # one continuation per judgment
    want = normalised({"8": E(-0.5), "9": E(-1.2), "10": E(-1.0) * E(-0.7), "1": E(-1.0) * E(-0.9)})
    for r in rows:
        assert r["score"] == 8.0
        assert_distribution(r["score_distribution"], want)
        # the fake server counts a token per 4 characters of the reply: "Clear. Rating: [[8]]" is 5, "0" is 1
        assert r["usage"]["completion_tokens"] == 5 + 1


def test_anthropic_is_refused_before_any_call(answered, capsys):
    with FakeAPI(api_key=KEY, reply=scripted) as server:
        code = cli.run(gen_judgment.main, ["--data-dir", str(answered.parent), "--judge-model", "anthropic:claude-3-haiku",
                                  "--judge-method", "distribution", "--model-list", "x", "y"])
        assert code == 2 and server.stats.requests == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: --judge-method distribution needs token log-probs, which the anthropic API")


def test_the_request_asks_for_top_logprobs():
    from llm_judge.engines.api.logprobs import request_fields

    assert request_fields(GenRequest([], top_logprobs=20), False) == {"logprobs": True, "top_logprobs": 20}
    assert request_fields(GenRequest([], top_logprobs=50), True) == {"logprobs": True, "top_logprobs": 20}
    assert request_fields(GenRequest([]), False) == {}
    with pytest.raises(ValueError, match="cannot continue"):  # api.openai.com has no such extension
        request_fields(GenRequest([], prefill="Rating: [[1"), False)
