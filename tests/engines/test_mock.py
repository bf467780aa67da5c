"""The mock engine: scripted replies by rule, scripted failures, truncation, usage, score requests, and its
rules files checked like any input; reached through the provider table like every engine."""
from __future__ import annotations

import json
import pickle

import pytest

from fakeapi import judge_reply
from llm_judge.engines.base import GenRequest
from llm_judge.engines.mock import MockModel
from llm_judge.engines.registry import load, open_engine, resolve
from llm_judge.errors import ConfigError, InputError

pytestmark = pytest.mark.api


def ask(text: str, system: str | None = None, **kw) -> GenRequest:
    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": text}]
    return GenRequest(messages, **kw)


def rules_file(tmp_path, rules: list[dict], suffix: str = ".jsonl"):
    path = tmp_path / f"rules{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps(rules), encoding="utf-8")
    else:
        path.write_text("".join(json.dumps(r) + "\n" for r in rules), encoding="utf-8")
    return path


def test_rules_pick_replies_errors_and_echo_in_order(tmp_path):
    path = rules_file(tmp_path, [
        {"match": "Assistant B", "error": "scripted failure"},
        {"match": "(?i)capital of france", "reply": "Paris. Rating: [[9]]"},
        {"echo": True},
    ])
    model = load(resolve(f"mock:{path}"))
    assert isinstance(model, MockModel) and model.name == "rules" and model.engine == "mock"
    reqs = [ask("What is the CAPITAL of France?", "Be brief."), ask("Compare Assistant A and Assistant B."),
            ask("say this back")]
    order = [i for i, _ in model.stream(reqs)]
    assert order == [2, 1, 0]  # results come back out of request order, as real engines' may
    paris, failed, echoed = model.generate(reqs)
    assert (paris.text, paris.finish_reason, paris.error) == ("Paris. Rating: [[9]]", "stop", None)
    # usage: words of all message texts, words of the reply
    assert (paris.prompt_tokens, paris.completion_tokens) == (2 + 6, 3)
    assert failed.error == "scripted failure" and failed.text is None and not failed.ok
    assert echoed.text == "say this back"


def test_replies_are_cut_to_the_token_budget():
    model = load(resolve("mock:echo"))
    [cut] = model.generate([ask("one two three four five six", max_new_tokens=4)])
    assert (cut.text, cut.completion_tokens, cut.finish_reason) == ("one two three four", 4, "length")


def test_built_in_judge_is_the_loopback_servers_judge():
    model = load(resolve("mock:judge"))
    pair = ask("Compare the two replies. Output [[A]], [[B]] or [[C]].", "You are a judge.")
    single = ask("Rate the reply from 1 to 10.")
    got = model.generate([pair, single])
    for request, result in zip((pair, single), got):
        text = "\n".join(m["content"] for m in request.messages)
        assert result.text == judge_reply({}, text)


def test_score_requests_read_a_distribution_over_the_labels(tmp_path):
    path = rules_file(tmp_path, [
        {"match": "weighted", "reply": "unused", "distribution": {"A": 3, "B": 1, "Z": 4}},
        {"match": "verdict", "reply": "I pick [[B]]."},
        {"match": "nothing", "reply": "no label here"},
        {"judge": True},
    ], suffix=".json")
    model = load(resolve(f"mock:{path}"))
    score = dict(prefill="[[", score_choices=["A", "B", "C"], score_suffix="]]", max_new_tokens=1)
    weighted, verdict, nothing, hashed = model.generate([ask("weighted", **score), ask("verdict", **score),
                                                         ask("nothing", **score), ask("anything", **score)])
    # labels the request does not ask for are dropped, the rest normalised
    assert weighted.distribution == pytest.approx({"A": 0.75, "B": 0.25, "C": 0.0})
    assert (weighted.text, weighted.finish_reason, weighted.completion_tokens) == ("[[A]]", "score", 0)
    assert verdict.distribution == {"A": 0.0, "B": 1.0, "C": 0.0} and verdict.text == "[[B]]"
    assert nothing.error.endswith("gives no probability to any of the labels A, B, C")
    assert sum(hashed.distribution.values()) == pytest.approx(1.0) and max(hashed.distribution.values()) > 0.5
    # the built-in judge's rating lands on its label: "Rating: [[k]]" is prefill + k + suffix
    rating = ask("Rate it.", prefill="Rating: [[", score_choices=[str(k) for k in range(1, 11)], score_suffix="]]")
    [scored] = model.generate([rating])
    assert scored.text == judge_reply({}, "Rate it.").split("assessed. ")[1]


@pytest.mark.parametrize("rule,line,where,message", [
    ({"reply": "x", "echo": True}, 2, None, "exactly one of reply, echo, judge, error"),
    ({"reply": 3}, 2, "reply", "must be a string"),
    ({"echo": "yes"}, 2, "echo", "must be true"),
    ({"match": "(", "reply": "x"}, 2, "match", "not a regular expression"),
    ({"reply": "x", "weights": {}}, 2, "weights", "unknown key"),
    ({"reply": "x", "distribution": {"A": -1}}, 2, "distribution", "weights >= 0"),
])
def test_a_bad_rule_names_file_line_and_field(tmp_path, rule, line, where, message):
    path = rules_file(tmp_path, [{"echo": True}, rule])
    with pytest.raises(InputError, match=message) as err:
        load(resolve(f"mock:{path}"))
    assert (err.value.path, err.value.line, err.value.field) == (str(path), line, where)


def test_bad_rules_files(tmp_path):
    path = rules_file(tmp_path, [{"echo": True}, {"reply": 1}], suffix=".json")
    with pytest.raises(InputError) as err:
        load(resolve(f"mock:{path}"))
    assert err.value.field == "[1].reply"
    path.write_text('{"echo": true}\n', encoding="utf-8")
    with pytest.raises(InputError, match="a JSON list of rules"):
        load(resolve(f"mock:{path}"))
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"echo": true}\n{"reply": \n', encoding="utf-8")
    with pytest.raises(InputError, match="not valid JSON") as err:
        load(resolve(f"mock:{broken}"))
    assert err.value.line == 2
    with pytest.raises(ConfigError, match="not a built-in script"):
        load(resolve("mock:nope"))
    with pytest.raises(ConfigError, match="needs a name"):
        resolve("mock:")


def test_a_prompt_no_rule_matches_fails_that_call_only(tmp_path):
    model = load(resolve(f"mock:{rules_file(tmp_path, [{'match': '^yes', 'reply': 'ok'}])}", name="m"))
    no, yes = model.generate([ask("no"), ask("yes")])
    assert "no rule matches the prompt" in no.error and yes.text == "ok"


def test_configs_pickle_and_open_in_process(tmp_path):
    config = resolve("mock:judge", name="judge-x")
    assert (config.provider, config.model, config.name, config.pool) == ("mock", "judge", "judge-x", None)
    assert pickle.loads(pickle.dumps(config)) == config  # what Ray ships to each worker
    with open_engine(config) as model:
        assert model.describe() == {"engine": "mock", "model": "judge-x", "script": "judge"}
    assert resolve("judge", engine="mock").provider == "mock"
    with pytest.raises(ConfigError, match="names provider 'mock' but the engine flag says 'hf'"):
        resolve("mock:judge", engine="hf")
