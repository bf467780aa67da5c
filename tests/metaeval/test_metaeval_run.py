"""A real local judge (the default SmolLM2-135M-Instruct, score-distribution method) over four LLMBar pairs,
in both orders, end to end through ``eval_judge run``: the records, the metrics, and resuming."""
import json

import pytest

from llm_judge.cli import eval_judge
from llm_judge.metaeval.loaders import load_set
from llm_judge.metaeval.metrics import score
from llm_judge.metaeval.run import read_run
from llm_judge.jsonl import read_jsonl

pytestmark = pytest.mark.model

# The four shortest LLMBar pairs, judged with a terse judge prompt (--judge-file): about a hundred prompt
# tokens per call, so the 8 calls take seconds on a CPU. The built-in prompts render through the same code.
IDS = ["Adversarial/Neighbor/76", "Adversarial/Neighbor/35", "Adversarial/Neighbor/79", "Natural/20"]
JUDGE = "smollm2-135m-instruct"
WINNER = {"model_1": "1", "model_2": "2", "tie": "tie"}
TERSE_PROMPT = {
    "name": "pair-v2", "type": "pairwise", "output_format": "[[A]]",
    "system_prompt": "Pick the better reply to the user. End with [[A]], [[B]], or [[C]] for a tie.",
    "prompt_template": "Question: {question}\n\nAssistant A's Reply|>\n{answer_a}\n<|The End\n\n"
                       "Assistant B's Reply|>\n{answer_b}\n<|The End",
}


@pytest.fixture(scope="module")
def ran(tmp_path_factory, default_model_path):
    from conftest import published_path

    root = published_path("llmbar")
    out_dir = tmp_path_factory.mktemp("judge_eval")
    prompts = out_dir / "terse_judge.jsonl"
    prompts.write_text(json.dumps(TERSE_PROMPT) + "\n", encoding="utf-8")
    argv = ["run", str(root), "--ids", *IDS, "--judge-model", "default", "--judge-method", "distribution",
            "--judge-file", str(prompts), "--output-dir", str(out_dir), "--format", "json"]
    return root, out_dir / "llmbar" / f"{JUDGE}_pair.jsonl", argv


@pytest.fixture(scope="module")
def first_run(ran):
    import contextlib
    import io

    root, out, argv = ran
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = eval_judge.main(argv)
    return rc, json.loads(buf.getvalue())


def test_records_are_fastchat_pair_judgments_in_both_orders(ran, first_run):
    root, out, _ = ran
    assert first_run[0] == 0
    items = load_set(root).by_id()
    records = read_jsonl(out)
    assert sorted(r["question_id"] for r in records) == sorted(IDS)
    for r in records:
        pair = items[r["question_id"]]
        assert (r["model_1"], r["model_2"], r["turn"], r["bench"]) == ("output_1", "output_2", 1, "llmbar")
        assert r["judge"] == [JUDGE, "pair-v2"] and r["category"] == pair.subset and "error" not in r
        assert r["g1_winner"] in WINNER and r["g2_winner"] in WINNER
        # game 1 shows response 1 as assistant A, game 2 shows response 2 as A
        a1 = r["g1_user_prompt"].split("Assistant A's Reply|>\n", 1)[1].split("\n<|The End", 1)[0]
        a2 = r["g2_user_prompt"].split("Assistant A's Reply|>\n", 1)[1].split("\n<|The End", 1)[0]
        assert (a1, a2) == (pair.answers_1[0], pair.answers_2[0])
        assert pair.turns[0] in r["g1_user_prompt"]
        for game in ("g1", "g2"):
            dist = r[f"{game}_distribution"]
            assert set(dist) == {"A", "B", "C"} and sum(dist.values()) == pytest.approx(1.0)
            assert r[f"{game}_judgment"] == "[[" + max(dist, key=dist.get) + "]]"


def test_metrics_match_the_records(ran, first_run):
    root, out, _ = ran
    tables = {t["title"].split(": ")[1]: t["rows"] for t in first_run[1]}
    overall = {r["group"]: r for r in tables["both orders"]}["overall"]
    labels = {i: p.label for i, p in load_set(root).by_id().items()}
    # the verdicts in the set's order: game 1's winner as is, game 2 showed the responses swapped
    verdicts = {r["question_id"]: (WINNER[r["g1_winner"]], WINNER[r["g2_winner"]]) for r in read_jsonl(out)}
    n = len(IDS)
    assert overall["n"] == n
    assert overall["order 1 %"] == pytest.approx(100 * sum(v[0] == labels[i] for i, v in verdicts.items()) / n)
    assert overall["order 2 %"] == pytest.approx(100 * sum(v[1] == labels[i] for i, v in verdicts.items()) / n)
    assert overall["consistency %"] == pytest.approx(100 * sum(v[0] == v[1] for v in verdicts.values()) / n)
    first = sum(1 for v in verdicts.values() if v == ("1", "2"))  # "A" both times: the first shown
    assert overall["prefer 1st %"] >= 100 * first / n
    agree = {r["group"]: r for r in tables["agreement"]}["overall"]
    finals = {i: v[0] if v[0] == v[1] else "tie" for i, v in verdicts.items()}
    assert agree["agree %"] == pytest.approx(100 * sum(f == labels[i] for i, f in finals.items()) / n)
    preds = read_run(out, load_set(root), JUDGE)
    assert preds.orders == 2 and preds.verdicts == verdicts
    assert score(load_set(root).items, preds).n == n


def test_rerun_skips_and_a_lost_record_is_judged_again(ran, first_run, capsys):
    _, out, argv = ran
    capsys.readouterr()
    before = out.read_text(encoding="utf-8")
    assert eval_judge.main(argv) == 0
    assert out.read_text(encoding="utf-8") == before  # nothing judged twice, the model not even loaded
    assert "4 already judged" in capsys.readouterr().err
    lines = before.splitlines(keepends=True)
    out.write_text("".join(lines[:-1]) + lines[-1][:40], encoding="utf-8")  # killed while writing the last record
    assert eval_judge.main(argv) == 0
    assert "3 already judged" in capsys.readouterr().err
    after = read_jsonl(out)
    assert len(after) == 4 and {r["question_id"] for r in after} == set(IDS)
    lost = json.loads(lines[-1])
    again = next(r for r in after if r["question_id"] == lost["question_id"])
    assert (again["g1_winner"], again["g2_winner"]) == (lost["g1_winner"], lost["g2_winner"])


def test_a_judge_family_runs_in_its_own_layout(ran, tmp_path):
    """--judge-family pandalm: PandaLM's prompt layout without a chat template, its 1/2/Tie labels read from
    the judge's distribution, its own file name; the verdicts are scored like any other run's."""
    root = ran[0]
    argv = ["run", str(root), "--ids", *IDS[:2], "--judge-model", "default", "--judge-method", "distribution",
            "--judge-family", "pandalm", "--output-dir", str(tmp_path), "--format", "json"]
    assert eval_judge.main(argv) == 0
    out = tmp_path / "llmbar" / f"{JUDGE}_pandalm_pair.jsonl"
    records = read_jsonl(out)
    assert sorted(r["question_id"] for r in records) == sorted(IDS[:2])
    items = load_set(root).by_id()
    for r in records:
        assert r["judge"] == [JUDGE, "pandalm-pair"] and "error" not in r
        prompt = r["g1_user_prompt"]
        assert prompt.endswith("### Evaluation:\n")
        assert prompt.split("### Response 1:\n", 1)[1].startswith(items[r["question_id"]].answers_1[0])
        for game in ("g1", "g2"):
            dist = r[f"{game}_distribution"]
            assert set(dist) == {"1", "2", "Tie"} and sum(dist.values()) == pytest.approx(1.0)
            best = max(dist, key=dist.get)
            assert r[f"{game}_judgment"] == best + "\n"
            # game 1 shows model_1 as response 1; game 2 shows model_2 as response 1
            shown_first, shown_second = ("model_1", "model_2") if game == "g1" else ("model_2", "model_1")
            assert r[f"{game}_winner"] == {"1": shown_first, "2": shown_second, "Tie": "tie"}[best]
    assert read_run(out, load_set(root), JUDGE).orders == 2
