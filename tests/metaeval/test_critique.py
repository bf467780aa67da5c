"""Auto-J's critique task through eval_judge critique: critiques compared with the ChatGPT reference by a judge
in both orders, win / tie / loss per scenario group from the judge's known rule."""
import json

import pytest

from fakeapi import PAIR_PROMPT, FakeAPI, longer_wins
from llm_judge.cli import eval_judge
from llm_judge.datasets.autoj import read_critique_set
from llm_judge.jsonl import read_jsonl

pytestmark = pytest.mark.api

KEY = "sk-test-critique-0123456789"


def first_wins(body, text):
    return "Judged. [[A]]"


@pytest.fixture
def files(published_data, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    prompts = tmp_path / "judge.jsonl"
    prompts.write_text(json.dumps(PAIR_PROMPT) + "\n", encoding="utf-8")
    return published_data("autoj", "test", "testdata_critique.jsonl"), \
        published_data("autoj", "test", "reference_chatgpt_critique.jsonl"), prompts


def run(argv, capsys, reply):
    with FakeAPI(api_key=KEY, reply=reply) as api:
        assert eval_judge.main(["critique", *argv, "--judge-model", "gpt-4", "--api-base", api.openai_base,
                                "--format", "json"]) == 0
    [table] = json.loads(capsys.readouterr().out)
    return {r["group"]: r for r in table["rows"]}


def test_released_autoj_critiques_by_a_length_judge(files, tmp_path, capsys):
    test, reference, prompts = files
    rows = run([str(test), "--reference", str(reference), "--judge-file", str(prompts),
                "--output-dir", str(tmp_path)], capsys, longer_wins)
    items = read_critique_set(test, reference)
    # the judge's rule ignores the order: Auto-J's critique wins where it is the longer one, loses where shorter
    for group in ("Code", "overall"):
        members = [i for i in items if group == "overall" or i.group == group]
        wins = sum(len(i.critiques["autoj"]) > len(i.reference) for i in members)
        losses = sum(len(i.critiques["autoj"]) < len(i.reference) for i in members)
        row = rows[group]
        assert row["n"] == len(members)
        assert (row["win %"], row["loss %"]) == pytest.approx((100 * wins / len(members), 100 * losses / len(members)))
        assert row["win_rate %"] == pytest.approx(100 * (wins + (len(members) - wins - losses) / 2) / len(members))
        assert row["lower_95"] <= row["win_rate %"] <= row["upper_95"]
    assert rows["overall"]["n"] == 232 and len(rows) == 9  # eight scenario groups and overall
    records = read_jsonl(tmp_path / "autoj-critique" / "gpt-4_pair.jsonl")
    assert len(records) == 232 and {(r["model_1"], r["model_2"]) for r in records} == {("autoj", "chatgpt-reference")}
    first = next(r for r in records if str(r["question_id"]) == items[0].id)
    assert "[Response]" in first["g1_user_prompt"] and items[0].reference in first["g1_user_prompt"]


def test_a_critic_file_and_a_position_biased_judge(files, tmp_path, capsys):
    test, reference, prompts = files
    critic = tmp_path / "mine.jsonl"
    critic.write_text("".join(json.dumps({"output": f"Critique {i}."}) + "\n" for i in range(232)), encoding="utf-8")
    rows = run([str(test), "--reference", str(reference), "--critiques", str(critic), "--first-n", "10",
                "--judge-file", str(prompts), "--output-dir", str(tmp_path)], capsys, first_wins)
    # a judge that always picks the first shown splits the orders: every pair a tie
    assert (rows["overall"]["n"], rows["overall"]["tie %"], rows["overall"]["win_rate %"]) == (10, 100, 50)
    records = read_jsonl(tmp_path / "autoj-critique" / "gpt-4_pair.jsonl")
    assert {r["model_1"] for r in records} == {"mine"} and records[0]["g1_winner"] == "model_1"


def test_a_critic_file_of_the_wrong_length_is_one_line(files, tmp_path, capsys):
    test, reference, prompts = files
    critic = tmp_path / "short.jsonl"
    critic.write_text(json.dumps({"output": "x"}) + "\n", encoding="utf-8")
    code = eval_judge.cli.run(eval_judge.main, ["critique", str(test), "--reference", str(reference), "--critiques",
                                                str(critic), "--judge-model", "gpt-4"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err[-1] == (f"error: {critic}: has 1 critiques for 232 queries; one per line, in the test "
                                     "file's order")


def test_a_model_writes_the_critiques_through_gen_model_answer(files, tmp_path, capsys):
    from llm_judge.cli import gen_model_answer

    test, reference, prompts = files
    bench = tmp_path / "data" / "autoj_critique"
    assert eval_judge.main(["critique", str(test), "--reference", str(reference), "--write-bench", str(bench)]) == 0
    assert gen_model_answer.main(["--data-dir", str(tmp_path / "data"), "--bench-name", "autoj_critique",
                                  "--model-path", "mock:echo", "--model-id", "echo-critic"]) == 0
    answers = bench / "model_answer" / "echo-critic.jsonl"
    capsys.readouterr()
    rows = run([str(test), "--reference", str(reference), "--critiques", str(answers), "--first-n", "12",
                "--judge-file", str(prompts), "--output-dir", str(tmp_path)], capsys, longer_wins)
    items = read_critique_set(test, reference)[:12]
    # mock:echo writes the task back as its critique: it holds the query and the response, so by length it wins
    # wherever the task is longer than the reference critique
    tasks = [json.loads(line)["turns"][0] for line in (bench / "question.jsonl").read_text().splitlines()[:12]]
    wins = sum(len(t) > len(i.reference) for t, i in zip(tasks, items))
    assert rows["overall"]["n"] == 12 and rows["overall"]["win %"] == pytest.approx(100 * wins / 12)
    assert {r["model_1"] for r in read_jsonl(tmp_path / "autoj-critique" / "gpt-4_pair.jsonl")} == {"echo-critic"}
