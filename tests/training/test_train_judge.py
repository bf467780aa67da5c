"""train_judge on the default model: each objective lowers its loss; the judge it saves is used as it is by
gen_judgment and eval_judge; the before/after measurement is written next to it."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from llm_judge.cli import eval_judge, gen_judgment, gen_model_answer, make_traindata, train_judge
from llm_judge.jsonl import read_jsonl

from conftest import published_path

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def traindata(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("traindata")
    assert make_traindata.main([
        "--out-dir", str(out), "--source", f"autoj={published_path('autoj', 'training', 'single_traindata.jsonl')}",
        "--source", f"llmbar={published_path('llmbar', 'Natural', 'dataset.json')}", "--max-per-source", "24",
        "--test-ratio", "0.2"]) == 0
    return out


def train(data: Path, out: Path, objective: str, *extra: str) -> None:
    assert train_judge.main(["--data-dir", str(data), "--output-dir", str(out), "--model-path", "default",
                             "--objective", objective, "--steps", "4", "--batch-size", "4", "--grad-accum", "1",
                             "--max-examples", "4", "--max-len", "320", "--verdict-only", "--learning-rate", "2e-3",
                             "--threads", "1", *extra]) == 0


def assert_measures(expected: dict, model, tokenizer, data: Path) -> None:
    """``model`` scores make_traindata's test split in ``data`` (its first 3 questions) as ``expected`` says."""
    from llm_judge.judging.families import load_family
    from llm_judge.training import evaluate, examples, verdict

    dataset = examples.load(data)
    family = load_family(dataset.family)
    cases = evaluate.cases(dataset.test, {p: verdict.scales(family, p) for p in (False, True)}, 3)
    got = evaluate.measure(cases, evaluate.label_probabilities(model, tokenizer, cases, family.chat_template()))
    assert got["single"]["expected"]["mse"] == pytest.approx(expected["single"]["expected"]["mse"], rel=1e-3)
    assert got["single"]["greedy"] == expected["single"]["greedy"]
    assert got["pairwise"] == expected["pairwise"]


@pytest.mark.parametrize("objective", ["sft", "raft", "raft+ce"])
def test_a_few_steps_lower_the_loss(traindata, tmp_path, objective, capsys):
    train(traindata, tmp_path / objective, objective, "--no-eval")
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith(f"{objective}: 4 steps"))
    first, last = (float(x) for x in line.split("loss ")[1].split(",")[0].split(" -> "))
    assert last < first * 0.8, line
    assert (tmp_path / objective / "adapter_config.json").exists()


def test_the_trained_judge_is_measured_and_used_by_gen_judgment_and_eval_judge(traindata, tmp_path, data_dir, capsys,
                                                                             default_model_path):
    judge = tmp_path / "raft-judge"
    train(traindata, judge, "raft", "--eval-examples", "3")
    out = capsys.readouterr().out
    report = json.loads((judge / "eval.json").read_text())
    # the first 3 test questions: 2 single examples and 1 pair in both orders (an example and its swapped copy)
    assert (report["objective"], report["test_examples"]) == ("raft", 4)
    for when in ("before", "after"):
        assert (report[when]["single"]["n"], report[when]["pairwise"]["n"], report[when]["pairwise"]["orders"]) == \
            (2, 1, 2)
    assert report["before"] == json.loads((judge / "eval_before.json").read_text())
    assert "single" in out and "pairwise" in out

    from llm_judge.engines.config import HFOptions
    from llm_judge.engines.hf import HFModel

    # "before" is the base model's measurement, "after" the judge's as saved (the adapter loaded on top of the
    # base model it names), each measured again here
    base = HFModel(default_model_path, "base", HFOptions(dtype="float32"))
    assert_measures(report["before"], base.model, base.tokenizer, traindata)
    base.close()
    engine = HFModel(str(judge), "raft-judge", HFOptions(dtype="float32"))
    assert engine.model.peft_config
    assert_measures(report["after"], engine.model, engine.tokenizer, traindata)
    engine.close()

    assert gen_model_answer.main(["--data-dir", str(data_dir), "--model-path", "mock:echo", "--model-id", "alpha",
                                  "--question-end", "1"]) == 0
    assert gen_judgment.main(["--data-dir", str(data_dir), "--judge-model", str(judge), "--judge-method",
                              "distribution", "--first-n", "1"]) == 0
    rows = read_jsonl(data_dir / "demo_bench" / "model_judgment" / "raft-judge_single.jsonl")
    assert rows and all(r["judge"][0] == "raft-judge" and r["score"] is not None for r in rows)

    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(json.dumps({"id": "p1", "question": "What is 2 + 2?", "response_1": "4", "response_2": "5",
                                 "label": "1"}) + "\n", encoding="utf-8")
    assert eval_judge.main(["run", str(pairs), "--judge-model", str(judge), "--judge-method", "distribution",
                            "--output-dir", str(tmp_path / "eval"), "--format", "json"]) == 0
    records = read_jsonl(tmp_path / "eval" / "pairs" / "raft-judge_pair.jsonl")
    assert len(records) == 1 and not records[0].get("error")
