"""RM-Bench in eval_judge: the 3x3 matrix and hard / normal / easy accuracies from stored scores and from
judges run in both orders, against hand computations; the real set read as released."""
import json
import re

import numpy as np
import pytest

from fakeapi import FakeAPI
from llm_judge.cli import eval_judge
from llm_judge.jsonl import read_jsonl
from llm_judge.metaeval.loaders import load_set

pytestmark = pytest.mark.api

ACC = "rmbench vs human labels: RM-Bench accuracy (%)"
MATRIX = "rmbench vs human labels: RM-Bench matrix (% chosen beats rejected)"


def _item(item_id, chosen, rejected, subset="alpacaeval"):
    return {"id": item_id, "subset": subset, "prompt": f"Question {item_id}?", "chosen": chosen, "rejected": rejected}


def _text(n, markdown=False):
    return ("**" if markdown else "") + "x" * (n - (4 if markdown else 0)) + ("**" if markdown else "")


# Two chat items whose responses have these lengths (the third style written with markdown, "**"):
CHAT = [_item(1, [_text(10), _text(30), _text(32, True)], [_text(12), _text(28), _text(35, True)]),
        _item(2, [_text(20), _text(40), _text(45, True)], [_text(15), _text(50), _text(44, True)])]


def write_set(folder, items=CHAT, name="chat_filtered.json"):
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(json.dumps(items), encoding="utf-8")
    return folder


def tables(argv, capsys):
    assert eval_judge.main([*argv, "--format", "json"]) == 0
    return {t["title"]: t["rows"] for t in json.loads(capsys.readouterr().out)}


def test_scores_give_the_hand_computed_matrix(tmp_path, capsys):
    root = write_set(tmp_path / "rm")
    write_set(root, [_item(7, ["a", "b", "c"], ["d", "e", "f"], "humanevalpack")], "code_filtered.json")
    scores = tmp_path / "scores.jsonl"
    scores.write_text("".join(json.dumps(r) + "\n" for r in [
        {"id": 1, "subset": "alpacaeval", "score_chosen": [1, 2, 3], "score_rejected": [2, 2, 1]},
        {"id": 2, "subset": "alpacaeval", "score_chosen": [5, 5, 5], "score_rejected": [1, 1, 1]},
        {"id": 7, "subset": "humanevalpack", "score_chosen": [0, 0, 0], "score_rejected": [1, 1, 1]}]),
        encoding="utf-8")
    got = tables(["score", str(root), "--pred", f"rm={scores}", "--group-by", "none"], capsys)
    # item 1: chosen beats rejected in cells (1,2), (2,0), (2,1), (2,2) (2 > 2 and 1 > 1 are not wins);
    # item 2 in all nine. Chat's matrix is the mean of the two.
    matrix = {r["chosen"]: [r["vs concise"], r["vs detailed"], r["vs markdown"]] for r in got[MATRIX]
              if r["domain"] == "chat"}
    assert matrix == {"concise": [50, 50, 50], "detailed": [50, 50, 100], "markdown": [100, 100, 100]}
    rows = {r["domain"]: r for r in got[ACC]}
    chat = rows["chat"]
    assert (chat["items"], chat["hard"], chat["normal"], chat["easy"]) == (2, pytest.approx(200 / 3),
                                                                          pytest.approx(200 / 3), pytest.approx(250 / 3))
    assert chat["total"] == pytest.approx(650 / 9)
    assert (rows["code"]["hard"], rows["code"]["total"]) == (0, 0)
    assert rows["average"]["total"] == pytest.approx((650 / 9 + 0) / 2)
    assert rows["average"]["items"] == 3


_REPLY = re.compile(r"<A>\n(.*)\n</A>\n<B>\n(.*)\n</B>", re.DOTALL)
KEY = "sk-test-rmbench-0123456789"
PROMPT = {"name": "pair-v2", "type": "pairwise", "output_format": "[[A]]",
          "system_prompt": "Pick the better reply. End with [[A]], [[B]] or [[C]] for a tie.",
          "prompt_template": "Question: {question}\n<A>\n{answer_a}\n</A>\n<B>\n{answer_b}\n</B>"}


def markdown_then_length(body, text):
    """A judge with a known taste: markdown beats plain text, else the longer reply wins."""
    a, b = _REPLY.search(body["messages"][-1]["content"]).groups()
    key_a, key_b = ("**" in a, len(a)), ("**" in b, len(b))
    return "Judged. " + ("[[A]]" if key_a > key_b else "[[B]]" if key_b > key_a else "[[C]]")


def test_scripted_judge_in_both_orders_gives_the_hand_computed_matrix(tmp_path, monkeypatch, capsys):
    root = write_set(tmp_path / "rm")
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    prompts = tmp_path / "judge.jsonl"
    prompts.write_text(json.dumps(PROMPT) + "\n", encoding="utf-8")
    with FakeAPI(api_key=KEY, reply=markdown_then_length) as api:
        got = tables(["run", str(root), "--judge-model", "gpt-4", "--judge-file", str(prompts), "--output-dir",
                      str(tmp_path), "--group-by", "none", "--api-base", api.openai_base], capsys)
    # By hand, chosen beats rejected (1) or not (0), item 1 | item 2:
    #   concise:  10<12 0 | 20>15 1;  10<28 0 | 20<50 0;  plain<md 0 | 0
    #   detailed: 30>12 1 | 1;        30>28 1 | 40<50 0;  plain<md 0 | 0
    #   markdown: md>plain 1 | 1;     1 | 1;              32<35 0 | 45>44 1
    matrix = {r["chosen"]: [r["vs concise"], r["vs detailed"], r["vs markdown"]] for r in got[MATRIX]}
    assert matrix == {"concise": [50, 0, 0], "detailed": [100, 50, 0], "markdown": [100, 100, 50]}
    [chat] = got[ACC]
    assert (chat["hard"], chat["normal"], chat["easy"], chat["total"]) == (0, 50, 100, 50)
    records = read_jsonl(tmp_path / "rmbench" / "gpt-4_pair.jsonl")
    assert len(records) == 18 and all(r["g1_winner"] == r["g2_winner"] for r in records)  # the rule ignores order


def test_real_set_scored_by_length_matches_a_direct_count(published_data, tmp_path, capsys):
    root = published_data("rm_bench", "data")
    items = {f.name: json.loads(f.read_text(encoding="utf-8")) for f in sorted(root.glob("*.json"))}
    scores = tmp_path / "length.jsonl"
    scores.write_text("".join(json.dumps({"id": r["id"], "subset": r["subset"],
                                          "score_chosen": [len(c) for c in r["chosen"]],
                                          "score_rejected": [len(c) for c in r["rejected"]]}) + "\n"
                              for rows in items.values() for r in rows), encoding="utf-8")
    got = tables(["score", str(root), "--pred", f"length={scores}", "--group-by", "none"], capsys)
    rows = {r["domain"]: r for r in got[ACC]}
    safety = items["safety-refuse_filtered.json"] + items["safety-response_filtered.json"]
    for domain, data in (("chat", items["chat_filtered.json"]), ("code", items["code_filtered.json"]),
                         ("safety", safety)):
        m = np.array([[np.mean([len(r["chosen"][i]) > len(r["rejected"][j]) for r in data]) for j in range(3)]
                      for i in range(3)])
        assert rows[domain]["items"] == len(data)
        assert rows[domain]["hard"] == pytest.approx(100 * (m[0, 1] + m[0, 2] + m[1, 2]) / 3)
        assert rows[domain]["easy"] == pytest.approx(100 * (m[1, 0] + m[2, 0] + m[2, 1]) / 3)
        assert rows[domain]["normal"] == pytest.approx(100 * np.trace(m) / 3)
    assert len(load_set(root).items) == 9 * (129 + 228 + 284 + 157)


def test_malformed_item_is_one_line(tmp_path, capsys):
    bad = [CHAT[0], {**CHAT[1], "chosen": CHAT[1]["chosen"][:2]}]
    root = write_set(tmp_path / "rm", bad)
    code = eval_judge.cli.run(eval_judge.main, ["score", str(root), "--interannotator"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1] == f"error: {root / 'chat_filtered.json'}[1]: field 'chosen': must be a list of 3 responses " \
                      "(concise, detailed, markdown)"


@pytest.mark.model
def test_default_judge_runs_one_item_in_both_orders(published_data, tmp_path, default_model_path, capsys):
    root = published_data("rm_bench", "data")
    pairs = load_set(root).items
    item = min({p.id.rsplit("/", 1)[0] for p in pairs},
               key=lambda it: sum(len(p.answers_1[0]) + len(p.answers_2[0]) for p in pairs if p.id.startswith(it + "/")))
    ids = [p.id for p in pairs if p.id.startswith(item + "/")]
    got = tables(["run", str(root), "--ids", *ids, "--judge-model", "default", "--judge-method", "distribution",
                  "--output-dir", str(tmp_path), "--group-by", "none"], capsys)
    records = read_jsonl(next((tmp_path / "rmbench").glob("*_pair.jsonl")))
    assert len(records) == 9 and all(r.get("g1_distribution") and r.get("g2_distribution") for r in records)
    # Each cell by hand from the records: response 1 (chosen) scores +1 per order it wins, -1 per order it loses.
    points = {"model_1": 1, "model_2": -1, "tie": 0}
    cell = {r["question_id"][-2:]: 100.0 * (points[r["g1_winner"]] + points[r["g2_winner"]] > 0) for r in records}
    styles = ("concise", "detailed", "markdown")
    matrix = {r["chosen"]: [r["vs concise"], r["vs detailed"], r["vs markdown"]] for r in got[MATRIX]}
    assert matrix == {styles[i]: [cell[f"{i}{j}"] for j in range(3)] for i in range(3)}
    [row] = got[ACC]
    assert row["items"] == 1
    assert row["hard"] == pytest.approx((cell["01"] + cell["02"] + cell["12"]) / 3)
    assert row["easy"] == pytest.approx((cell["10"] + cell["20"] + cell["21"]) / 3)


def test_single_scores_through_gen_judgment(tmp_path, capsys):
    from llm_judge.cli import gen_judgment

    # Each response carries a token the scripted judge scores it by: chosen c<item><style>, rejected r<item><style>.
    items = [_item(k, [f"c{k}{s} text" for s in range(3)], [f"r{k}{s} text" for s in range(3)]) for k in (1, 2)]
    root = write_set(tmp_path / "rm", items)
    score = {"c10": 5, "c11": 7, "c12": 9, "r10": 6, "r11": 6, "r12": 8,   # item 1
             "c20": 2, "c21": 4, "c22": 4, "r20": 1, "r21": 4, "r22": 3}   # item 2
    rules = tmp_path / "rules.jsonl"
    rules.write_text("".join(json.dumps({"match": token, "reply": f"Rating: [[{s}]]"}) + "\n"
                             for token, s in score.items()), encoding="utf-8")
    bench = tmp_path / "data" / "rmb"
    assert eval_judge.main(["score", str(root), "--write-bench", str(bench)]) == 0
    assert gen_judgment.main(["--data-dir", str(tmp_path / "data"), "--bench-name", "rmb", "--judge-model",
                              f"mock:{rules}", "--judge-model-id", "scripted"]) == 0
    judged = bench / "model_judgment" / "scripted_single.jsonl"
    assert len(read_jsonl(judged)) == 12
    capsys.readouterr()
    got = tables(["score", str(root), "--pred", f"scripted={judged}", "--group-by", "none"], capsys)
    # chosen i beats rejected j when its score is higher (a tie is not a win), item 1 | item 2:
    #   concise  5: vs 6 0, 6 0, 8 0  |  2: vs 1 1, 4 0, 3 0
    #   detailed 7: vs 6 1, 6 1, 8 0  |  4: vs 1 1, 4 0, 3 1
    #   markdown 9: 1, 1, 1           |  4: 1, 0, 1
    matrix = {r["chosen"]: [r["vs concise"], r["vs detailed"], r["vs markdown"]] for r in got[MATRIX]}
    assert matrix == {"concise": [50, 0, 0], "detailed": [100, 50, 50], "markdown": [100, 50, 100]}
    [chat] = got[ACC]
    assert (chat["hard"], chat["normal"], chat["easy"]) == (pytest.approx(50 / 3), pytest.approx(200 / 3),
                                                            pytest.approx(250 / 3))
