"""The demo's steps and exit code: failed calls make it exit 1 (the later steps still run), a step that
cannot run makes it stop with 2."""
from __future__ import annotations

from pathlib import Path

import pytest

from fakeapi import FakeAPI
from llm_judge.cli import demo, gen_model_answer
from llm_judge.jsonl import read_jsonl

pytestmark = pytest.mark.api

KEY = "sk-test-demo"


def test_quick_steps():
    steps = {name: argv for name, _, argv in demo.demo_steps(demo.build_parser().parse_args(["--quick"]))}
    answer = steps["answer (default model)"]
    assert answer[answer.index("--question-end") + 1] == "4" and answer[answer.index("--max-new-token") + 1] == "32"
    judge = steps["judge pairwise-all"]
    assert judge[judge.index("--first-n") + 1] == "4" and judge[judge.index("--judge-model") + 1] == "default"
    # show_result takes the judge as gen_judgment was given it: "default", not the file's id
    assert steps["show single"][steps["show single"].index("--judge-model") + 1] == "default"
    full = {name: argv for name, _, argv in demo.demo_steps(demo.build_parser().parse_args([]))}
    assert "--question-end" not in full["answer (default model)"] and "--first-n" not in full["judge single"]


@pytest.fixture
def api(monkeypatch):
    """A server on which the model "broken" always answers 500 and every other model works."""
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with FakeAPI(api_key=KEY, faults=lambda body, attempt: "500" if body.get("model") == "broken" else None) as server:
        yield server


def answer_step(name: str, data_dir: Path, api: FakeAPI, model: str) -> demo.Step:
    return (name, gen_model_answer.main, ["--data-dir", str(data_dir), "--model-path", f"openai:{model}",
                                          "--api-base", api.openai_base, "--max-retries", "0",
                                          "--question-end", "2", "--max-new-token", "16"])


def test_failed_calls_exit_1_and_later_steps_run(api, data_dir, capsys):
    steps = [answer_step("answer broken", data_dir, api, "broken"), answer_step("answer ok", data_dir, api, "fine")]
    assert demo.run_steps(steps) == 1
    answers = data_dir / "demo_bench" / "model_answer"
    assert all(r.get("error") for r in read_jsonl(answers / "broken.jsonl"))
    assert [r["question_id"] for r in read_jsonl(answers / "fine.jsonl")] == [1, 2]
    assert "demo: step 'answer broken' exited with 1 (some calls failed" in capsys.readouterr().err


def test_step_that_cannot_run_stops_with_2(api, tmp_path, data_dir, capsys):
    steps = [answer_step("answer", tmp_path / "no-such-dir", api, "fine"), answer_step("answer ok", data_dir, api, "fine")]
    assert demo.run_steps(steps) == 2
    err = capsys.readouterr().err
    assert "error: no bench 'demo_bench'" in err and "demo: step 'answer' exited with 2; stopping" in err
    assert not (data_dir / "demo_bench" / "model_answer").exists()
    assert demo.main(["--quick", "--data-dir", str(tmp_path / "no-such-dir")]) == 2
