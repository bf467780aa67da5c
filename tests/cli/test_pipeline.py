"""The three steps end to end on the real default model (SmolLM2-135M-Instruct), in all three modes."""
import json

import pytest

from llm_judge.cli import gen_judgment, gen_model_answer, show_result
from conftest import REPO
from llm_judge.jsonl import read_jsonl

pytestmark = pytest.mark.model

SLICE = ["--question-begin", "5", "--question-end", "7"]  # q6 (math, 1 turn), q7 (math, 2 turns): both with references


@pytest.fixture(scope="module")
def answered(tmp_path_factory, default_model_path):
    import shutil

    root = tmp_path_factory.mktemp("pipe") / "data" / "demo_bench"
    root.mkdir(parents=True)
    repo = REPO
    for name in ("question.jsonl", "bench.json"):
        shutil.copy(repo / "data" / "demo_bench" / name, root / name)
    data = str(root.parent)
    common = ["--data-dir", data, "--max-new-token", "24"] + SLICE
    assert gen_model_answer.main(common + ["--model-path", "default"]) == 0
    # a second "model": the same weights, sampled at temperature 1 with a fixed seed
    assert gen_model_answer.main(common + ["--model-path", "default", "--model-id", "terse",
                                           "--temperature", "1.0", "--seed", "3"]) == 0
    return root


def test_answer_files(answered):
    rows = read_jsonl(answered / "model_answer" / "smollm2-135m-instruct.jsonl")
    assert [r["question_id"] for r in rows] == [6, 7]
    for r in rows:
        assert set(r) >= {"question_id", "answer_id", "model_id", "choices", "tstamp"}
        assert r["model_id"] == "smollm2-135m-instruct" and r["choices"][0]["index"] == 0
        assert all(isinstance(t, str) and t for t in r["choices"][0]["turns"])
        assert r["generation"]["engine"] == "llamacpp" and r["generation"]["temperature"] == 0.0  # math is greedy
    assert len(rows[1]["choices"][0]["turns"]) == 2  # turn 2 answered after turn 1
    sampled = read_jsonl(answered / "model_answer" / "terse.jsonl")
    assert sampled[0]["generation"]["temperature"] == 1.0 and sampled[0]["generation"]["seed"] == 3
    assert [r["choices"] for r in sampled] != [r["choices"] for r in rows]


def test_answer_rerun_skips_and_never_duplicates(answered, capsys):
    path = answered / "model_answer" / "smollm2-135m-instruct.jsonl"
    before = path.read_text(encoding="utf-8")
    assert gen_model_answer.main(["--data-dir", str(answered.parent), "--model-path", "default"] + SLICE) == 0
    assert path.read_text(encoding="utf-8") == before
    assert "already answered" in capsys.readouterr().err


def judge(answered, *extra):
    return gen_judgment.main(["--data-dir", str(answered.parent), "--judge-model", "default",
                              "--judge-method", "distribution", "--model-list", "smollm2-135m-instruct", "terse",
                              *extra])


def test_single_mode(answered, capsys):
    assert judge(answered, "--mode", "single") == 0
    rows = read_jsonl(answered / "model_judgment" / "smollm2-135m-instruct_single.jsonl")
    # 2 models x (q6 turn 1, q7 turn 1, q7 turn 2); the other 18 questions have no answers and are skipped
    assert len(rows) == 6
    keys = {(r["question_id"], r["model"], r["turn"]) for r in rows}
    assert len(keys) == 6
    for r in rows:
        assert set(r) >= {"question_id", "model", "judge", "user_prompt", "judgment", "score", "turn", "tstamp"}
        assert "error" not in r and 1 <= r["score"] <= 10 and r["score"] == int(r["score"])
        assert abs(sum(r["score_distribution"].values()) - 1) < 1e-6
        assert 1 <= r["expected_score"] <= 10
        name = "single-math-v1-multi-turn" if r["turn"] == 2 else "single-math-v1"
        assert r["judge"] == ["smollm2-135m-instruct", name]
        assert "Reference Solution" in r["user_prompt"]
    # a rerun finds everything done and writes nothing
    path = answered / "model_judgment" / "smollm2-135m-instruct_single.jsonl"
    before = path.read_text(encoding="utf-8")
    capsys.readouterr()
    assert judge(answered, "--mode", "single") == 0
    assert path.read_text(encoding="utf-8") == before
    assert "0 to do" in capsys.readouterr().err
    assert show_result.main(["--data-dir", str(answered.parent), "--judge-model", "smollm2-135m-instruct",
                             "--format", "json"]) == 0
    table = json.loads(capsys.readouterr().out)[0]
    by_model = {row["model"]: row for row in table["rows"]}
    mine = [r["score"] for r in rows if r["model"] == "terse"]
    assert by_model["terse"]["score"] == pytest.approx(sum(mine) / len(mine))
    assert by_model["terse"]["n"] == 3 and by_model["terse"]["failed"] == 0


@pytest.mark.parametrize("mode,extra", [("pairwise-all", []), ("pairwise-baseline", ["--baseline-model", "terse"])])
def test_pairwise_modes(answered, mode, extra, capsys):
    out = answered / "model_judgment" / f"{mode}.jsonl"
    assert judge(answered, "--mode", mode, "--output-file", str(out), *extra) == 0
    rows = read_jsonl(out)
    assert len(rows) == 3
    for r in rows:
        assert (r["model_1"], r["model_2"]) == ("smollm2-135m-instruct", "terse")
        # each game's winner is its most probable verdict; in game 2 the models sit the other way round
        for game, means in (("g1", {"A": "model_1", "B": "model_2", "C": "tie"}),
                            ("g2", {"A": "model_2", "B": "model_1", "C": "tie"})):
            dist = r[f"{game}_distribution"]
            assert set(dist) == {"A", "B", "C"} and r[f"{game}_winner"] == means[max(dist, key=dist.get)]
        # g2 shows the models the other way round
        assert r["g1_user_prompt"] != r["g2_user_prompt"]
    capsys.readouterr()
    assert show_result.main(["--input-file", str(out), "--mode", mode, "--format", "json"] +
                            (["--baseline-model", "terse"] if extra else [])) == 0
    tables = json.loads(capsys.readouterr().out)
    per_model = {row["model"]: row for row in tables[0]["rows"]}
    assert sum(per_model["smollm2-135m-instruct"][k] for k in ("win", "loss", "tie")) == 3
    if mode == "pairwise-baseline":
        assert "terse" not in per_model


def test_generated_verdicts_parse_or_fail_with_raw_text(answered):
    out = answered / "model_judgment" / "generate.jsonl"
    code = gen_judgment.main(["--data-dir", str(answered.parent), "--judge-model", "default", "--mode", "single",
                              "--model-list", "terse", "--judge-max-new-token", "48", "--output-file", str(out)])
    rows = read_jsonl(out)
    assert len(rows) == 3
    for r in rows:
        assert r["judgment"]  # the judge's raw text is always kept
        if r.get("error"):
            assert r["score"] is None and r["error"].startswith("unparseable judgment")
        else:
            assert 1 <= r["score"] <= 10
    assert code == (1 if any(r.get("error") for r in rows) else 0)
