"""eval_judge reads a folder of ja-vicuna-qa-benchmark's per-pair judgment files as fastchat predictions: the
same verdicts as the same judgments in FastChat's single file."""
from __future__ import annotations

import json

import pytest

from llm_judge.errors import InputError
from llm_judge.metaeval.loaders import load_set
from llm_judge.metaeval.predictions import PredSpec, load_predictions


def vote(qid: int, a: str, b: str, winner: str, turn: int = 1) -> dict:
    """One expert vote in MT-bench's human-judgment format."""
    def conv(model: str) -> list[dict]:
        return [m for t in range(1, turn + 1) for m in ({"role": "user", "content": f"q{qid}-{t}"},
                                                        {"role": "assistant", "content": f"{model} {qid}-{t}"})]
    return {"question_id": qid, "model_a": a, "model_b": b, "winner": winner, "judge": "expert_1", "turn": turn,
            "conversation_a": conv(a), "conversation_b": conv(b)}


# (question, model_1, model_2, g1_winner, g2_winner, turn, error) as a judge wrote them
JUDGED = [(81, "vicuna", "alpaca", "model_1", "model_1", 1, None),
          (81, "alpaca", "vicuna", "model_1", "model_2", 2, None),
          (82, "alpaca", "vicuna", None, None, 1, "g1: timeout"), (83, "alpaca", "vicuna", "tie", "model_2", 1, None)]


@pytest.fixture
def files(tmp_path):
    human = tmp_path / "human.json"
    human.write_text(json.dumps([vote(81, "vicuna", "alpaca", "model_a"), vote(81, "alpaca", "vicuna", "tie", 2),
                                 vote(82, "alpaca", "vicuna", "model_b"), vote(83, "vicuna", "alpaca", "model_b")]))
    fastchat, folder = tmp_path / "gpt-4_pair.jsonl", tmp_path / "pairwise" / "gpt-4"
    folder.mkdir(parents=True)
    for qid, m1, m2, g1, g2, turn, error in JUDGED:
        common = {"question_id": qid, "model_1": m1, "model_2": m2, "g1_winner": g1, "g2_winner": g2}
        extra = {"turn": turn} if turn > 1 else {}
        extra.update({"error": error} if error else {})
        with open(fastchat, "a") as fh:
            fh.write(json.dumps({**common, "judge": ["gpt-4", "pair-v2"], "turn": turn, **extra}) + "\n")
        with open(folder / f"pairwise:{m1}_{m2}.jsonl", "a") as fh:
            fh.write(json.dumps({**common, "question": "q", "answer_1": "a", "answer_2": "b", "g1_judgment": "",
                                 "g2_judgment": "", "judge_model": "gpt-4", "judge_prompt": "pair", **extra}) + "\n")
    return human, fastchat, tmp_path / "pairwise"


def test_a_folder_of_per_pair_files_gives_the_verdicts_of_the_single_file(files):
    human, fastchat, folder = files
    labelled = load_set(human)
    expected = load_predictions(PredSpec.parse(str(fastchat)), labelled)
    for path in (folder, folder / "gpt-4"):
        preds = load_predictions(PredSpec.parse(f"gpt-4={path}"), labelled)
        assert (preds.name, preds.orders, preds.verdicts) == ("gpt-4", 2, expected.verdicts)
    assert expected.verdicts == {"81/alpaca/vicuna/turn1": ("2", "2"), "81/alpaca/vicuna/turn2": ("1", "2"),
                                 "82/alpaca/vicuna/turn1": (None, None), "83/alpaca/vicuna/turn1": ("tie", "2")}


def test_a_folder_without_per_pair_files_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="is a folder without pairwise judgment files"):
        PredSpec.parse(str(tmp_path))
