"""Arena-Hard-Auto judged by our engine through the loopback OpenAI server: two games per question (game 1 with
the baseline as A), the verdicts read by its rule, its judgment layout written, a rerun asking only the
questions without both verdicts, and the leaderboard of the written folder equal to the hand computation."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from fakeapi import FakeAPI, use_keys
from llm_judge.cli import gen_judgment, show_result

pytestmark = pytest.mark.api

KEY = "sk-test-arena"
BASE = "gpt-4-0314"
# Our own system prompt for the test (the bench's is upstream's, fetched by download, never shipped).
JUDGE_TABLE = '''
TEST_PROMPT = "Compare answer A with answer B and end with one label such as [[A>B]]."
JUDGE_SETTINGS = {"arena-hard-v0.1": {"baseline": "gpt-4-0314", "system_prompt": TEST_PROMPT}}
'''


@pytest.fixture
def bench(tmp_path, published_data) -> Path:
    root = tmp_path / "data"
    folder = root / "arena-hard-v0.1"
    (folder / "model_answer").mkdir(parents=True)
    (root / "config").mkdir()
    (root / "utils").mkdir()
    shutil.copy(published_data("arena_hard", "config", "arena-hard-v0.1.yaml"), root / "config")
    (root / "utils" / "judge_utils.py").write_text(JUDGE_TABLE)
    questions = published_data("arena_hard", "arena-hard-v0.1", "question.jsonl").read_text().splitlines()[:4]
    (folder / "question.jsonl").write_text("\n".join(questions) + "\n")
    uids = [json.loads(q)["uid"] for q in questions]
    base = [line for line in published_data("arena_hard", "arena-hard-v0.1", "model_answer", f"{BASE}.jsonl")
            .read_text().splitlines() if json.loads(line)["uid"] in uids]
    (folder / "model_answer" / f"{BASE}.jsonl").write_text("\n".join(base) + "\n")
    mine = [{"uid": u, "model": "mine", "messages": [{"role": "user", "content": "q"},
             {"role": "assistant", "content": {"answer": f"MINE answer {i}"}}]} for i, u in enumerate(uids)]
    (folder / "model_answer" / "mine.jsonl").write_text("".join(json.dumps(r) + "\n" for r in mine))
    return folder


def judge_reply(body: dict, text: str) -> str:
    user = body["messages"][-1]["content"]
    a_start = user.index("<|The Start of Assistant A's Answer|>")
    mine_is_a = user.index("MINE answer") < user.index("<|The Start of Assistant B's Answer|>") and \
        user.index("MINE answer") > a_start
    q = int(user[user.index("MINE answer") + len("MINE answer "):].split("\n")[0])
    if q == 0:
        return "A is far better: [[A>>B]]" if mine_is_a else "B is far better. [[B>>A]]"
    if q == 1:
        return "[[B>A]]" if mine_is_a else "My verdict: [[a>b]]"
    if q == 2:
        return "I cannot decide." if mine_is_a else "[[A=B]]"
    return "Tie: [[A=B]]"


def run(bench: Path, server: FakeAPI, *extra: str) -> int:
    return gen_judgment.main(["--data-dir", str(bench.parent), "--bench-name", bench.name, "--judge-model",
                              "gpt-4-1106-preview", "--api-base", server.openai_base, "--model-list", "mine", *extra])


def test_two_games_per_question_in_its_layout_and_its_scores(bench, monkeypatch, capsys):
    use_keys(monkeypatch, KEY)
    with FakeAPI(api_key=KEY, reply=judge_reply) as server:
        assert run(bench, server) == 1  # question 2 lacks a verdict in one game
        bodies = list(server.stats.bodies)
        server.reset_stats()
        assert run(bench, server) == 1
        again = list(server.stats.bodies)
    assert len(bodies) == 8 and len(again) == 2 and all("MINE answer 2" in b["messages"][-1]["content"] for b in again)
    for body in bodies:
        assert body["messages"][0] == {"role": "system", "content": "Compare answer A with answer B and end with one "
                                                                   "label such as [[A>B]]."}
        assert body["temperature"] == 0 and body["max_tokens"] == 4096
        assert body["messages"][-1]["content"].startswith("<|User Prompt|>\n")
    rows = [json.loads(line) for line in (bench / "model_judgment" / "gpt-4-1106-preview" / "mine.jsonl")
            .read_text().splitlines()]
    assert [r["baseline"] for r in rows] == [BASE] * 4 and [r["model"] for r in rows] == ["mine"] * 4
    for r in rows:  # game 1 shows the baseline as A, game 2 the model
        g1, g2 = (g["prompt"][1]["content"] for g in r["games"])
        assert g1.index("MINE answer") > g1.index("<|The Start of Assistant B's Answer|>")
        assert g2.index("MINE answer") < g2.index("<|The Start of Assistant B's Answer|>")
    assert [[g["score"] for g in r["games"]] for r in rows] == [["B>>A", "A>>B"], ["A>B", "B>A"], ["A=B", None],
                                                                  ["A=B", "A=B"]]
    # the leaderboard of that folder: q0 [1,1,1]+[1,1,1], q1 [0]+[0], q2 dropped, q3 [0.5]+[0.5]
    battles = np.array([1, 1, 1, 1, 1, 1, 0, 0, 0.5, 0.5])
    rng = np.random.default_rng(0)
    means = [battles[rng.integers(0, 10, 10)].mean() for _ in range(100)]
    assert show_result.main(["--input-file", str(bench / "model_judgment"), "--format", "json"]) == 0
    (table,) = json.loads(capsys.readouterr().out)
    row = next(r for r in table["rows"] if r["model"] == "mine")
    assert row["score"] == pytest.approx(np.mean(means) * 100) and row["lower"] == pytest.approx(
        np.quantile(means, 0.05) * 100)
    assert "1 of 4 questions dropped" in table["note"]


def test_without_the_judge_table_judging_is_refused_in_one_line(bench, monkeypatch, capsys):
    (bench.parent / "utils" / "judge_utils.py").unlink()
    use_keys(monkeypatch, KEY)
    from llm_judge import cli
    with FakeAPI(api_key=KEY, reply=judge_reply) as server:
        code = cli.run(gen_judgment.main, ["--data-dir", str(bench.parent), "--bench-name", bench.name,
                                           "--judge-model", "gpt-4o", "--api-base", server.openai_base])
        assert server.stats.bodies == []
    err = capsys.readouterr().err.strip()
    assert code == 2 and "utils/judge_utils.py" in err and len(err.splitlines()) == 1


def test_first_n_judges_a_prefix_and_a_later_run_the_rest(bench, monkeypatch):
    use_keys(monkeypatch, KEY)
    with FakeAPI(api_key=KEY, reply=judge_reply) as server:
        assert run(bench, server, "--first-n", "2") == 0
        assert len(server.stats.bodies) == 4
        server.reset_stats()
        assert run(bench, server) == 1
        asked = {b["messages"][-1]["content"].split("MINE answer ")[1][0] for b in server.stats.bodies}
    assert asked == {"2", "3"}
    rows = (bench / "model_judgment" / "gpt-4-1106-preview" / "mine.jsonl").read_text().splitlines()
    assert len(rows) == 4



@pytest.mark.parametrize("flag", ["--dry-run", "--batch"])
def test_flags_the_protocol_run_does_not_honour_are_refused_before_any_call(bench, monkeypatch, capsys, flag):
    from llm_judge import cli
    use_keys(monkeypatch, KEY)
    with FakeAPI(api_key=KEY, reply=judge_reply) as server:
        code = cli.run(gen_judgment.main, ["--data-dir", str(bench.parent), "--bench-name", bench.name,
                                           "--judge-model", "gpt-4o", "--api-base", server.openai_base, flag])
        assert server.stats.bodies == []
    assert code == 2 and f"drop {flag}" in capsys.readouterr().err
