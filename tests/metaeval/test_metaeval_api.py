"""An API judge (the real openai SDK against the loopback server) over LLMBar pairs through ``eval_judge run``.

The server plays a judge that always prefers the longer reply, so its verdicts, and every metric, can be
worked out from the set itself; a server error on some calls leaves error records that the next run
judges again.
"""
import json
import re

import pytest

from fakeapi import FakeAPI
from llm_judge.cli import eval_judge
from llm_judge.metaeval.loaders import load_set
from llm_judge.jsonl import read_jsonl

pytestmark = pytest.mark.api

KEY = "sk-test-meta-0123456789"
PROMPT = {
    "name": "pair-v2", "type": "pairwise", "output_format": "[[A]]",
    "system_prompt": "Pick the better reply. End with [[A]], [[B]] or [[C]] for a tie.",
    "prompt_template": "Question: {question}\n<A>\n{answer_a}\n</A>\n<B>\n{answer_b}\n</B>",
}
_REPLY = re.compile(r"<A>\n(.*)\n</A>\n<B>\n(.*)\n</B>", re.DOTALL)


def longer_wins(body: dict, text: str) -> str:
    a, b = _REPLY.search(body["messages"][-1]["content"]).groups()
    return "Judged. " + ("[[A]]" if len(a) > len(b) else "[[B]]" if len(b) > len(a) else "[[C]]")


@pytest.fixture
def setup(published_data, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    prompts = tmp_path / "judge.jsonl"
    prompts.write_text(json.dumps(PROMPT) + "\n", encoding="utf-8")
    root = published_data("llmbar")
    pairs = [p for p in load_set(root).items if p.subset == "Natural"][:12]
    argv = ["run", str(root), "--subset", "Natural", "--first-n", "12", "--judge-model", "gpt-4",
            "--judge-file", str(prompts), "--output-dir", str(tmp_path), "--parallel", "4", "--max-retries", "0",
            "--format", "json"]
    return pairs, argv, tmp_path / "llmbar" / "gpt-4_pair.jsonl"


def run(argv, capsys):
    rc = eval_judge.main(argv)
    captured = capsys.readouterr()
    return rc, {t["title"].split(": ")[1]: t["rows"][-1] for t in json.loads(captured.out)}, captured.err


def test_api_judge_metrics_follow_from_its_rule(setup, capsys):
    pairs, argv, out = setup
    bad = pairs[3]  # every call about this pair fails with a server error

    def fault(body: dict, attempt: int):
        return "500" if bad.answers_1[0] in body["messages"][-1]["content"] else None

    with FakeAPI(api_key=KEY, reply=longer_wins, faults=fault) as api:
        rc, tables, err = run(argv + ["--api-base", api.openai_base], capsys)
        assert rc == 1 and "11 judged" in err and "1 failed" in err
        assert KEY not in err and KEY not in out.read_text()
        expected = {p.id: "1" if len(p.answers_1[0]) > len(p.answers_2[0]) else "2" for p in pairs}
        right = sum(expected[p.id] == p.label for p in pairs if p is not bad)
        agreement = tables["agreement"]
        assert (agreement["n"], agreement["no verdict"]) == (12, 2)  # the failed pair has no verdict in either order
        assert agreement["agree %"] == pytest.approx(100 * right / 12)
        both = tables["both orders"]
        assert both["consistency %"] == pytest.approx(100 * 11 / 12)  # a length rule ignores the order
        assert (both["prefer 1st %"], both["prefer 2nd %"]) == (0.0, 0.0)
        failed = [r for r in read_jsonl(out) if r.get("error")]
        assert [r["question_id"] for r in failed] == [bad.id]

        api.faults = lambda body, attempt: None
        rc, tables, err = run(argv + ["--api-base", api.openai_base], capsys)
        assert rc == 0 and "11 already judged" in err and "1 judged" in err
        records = read_jsonl(out)
        assert len(records) == 12 and not any(r.get("error") for r in records)
        assert tables["agreement"]["agree %"] == pytest.approx(100 * sum(expected[p.id] == p.label for p in pairs) / 12)
        assert tables["both orders"]["consistency %"] == 100.0


def test_two_turn_and_reference_pairs_use_those_prompts(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    rows = [
        {"id": "chat", "question": ["Name a fruit.", "Now a red one."], "response_1": ["Pear.", "Cherry."],
         "response_2": ["Banana.", "Lime."], "label": "1"},
        {"id": "sum", "question": "What is 17 + 25?", "response_1": "42", "response_2": "43", "label": "1",
         "reference": "17 + 25 = 42"},
    ]
    path = tmp_path / "mine.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with FakeAPI(api_key=KEY) as api:
        assert eval_judge.main(["run", str(path), "--judge-model", "gpt-4", "--api-base", api.openai_base,
                                "--output-dir", str(tmp_path), "--format", "json"]) == 0
    records = {r["question_id"]: r for r in read_jsonl(tmp_path / "mine" / "gpt-4_pair.jsonl")}
    chat, math = records["chat"], records["sum"]
    assert (chat["judge"], chat["turn"]) == (["gpt-4", "pair-v2-multi-turn"], 2)
    for text in ("Name a fruit.", "Now a red one.", "Pear.", "Cherry.", "Banana.", "Lime."):
        assert text in chat["g1_user_prompt"]
    assert chat["g1_user_prompt"].index("Pear.") < chat["g1_user_prompt"].index("Banana.")  # response 1 is A
    assert chat["g2_user_prompt"].index("Banana.") < chat["g2_user_prompt"].index("Pear.")
    assert math["judge"] == ["gpt-4", "pair-math-v1"] and "17 + 25 = 42" in math["g1_user_prompt"]
    tables = json.loads(capsys.readouterr().out)
    assert tables[0]["rows"][-1]["n"] == 2
