"""make_traindata's judgments source reads a folder of ja-vicuna-qa-benchmark's per-pair (per-model) files
into the records the same judgments give from FastChat's file, references and per-model answer folders included."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from conftest import mock_answers
import llm_judge
from llm_judge.errors import ConfigError
from llm_judge.traindata.convert import SourceSpec, read_source


def convert(spec: str) -> list:
    return read_source(SourceSpec.parse(spec), Counter())


def content(records: list) -> list[tuple]:
    """What a record teaches, in an order that does not depend on the file layout."""
    return sorted((r.meta["question_id"], r.meta["turn"], r.meta["game"] if "game" in r.meta else "",
                   tuple(r.meta["models"]), r.instruction, tuple(r.responses), r.reference or "", str(r.label),
                   str(r.score), r.rationale or "") for r in records)


@pytest.fixture
def bench(data_dir: Path, tmp_path: Path) -> Path:
    """Two mock models' answers (one in a per-model folder), judged by mock:judge in both layouts and modes."""
    mock_answers(data_dir, tmp_path, {"model-a": {"reply": "A short answer."},
                                      "model-b": {"reply": "B answers at length."}}, in_folder="model-b")
    for mode in ("single", "pairwise-all"):
        for layout in ("fastchat", "ja-vicuna"):
            run = llm_judge.judge("demo_bench", "mock:judge", mode, data_dir=data_dir, judgment_layout=layout)
            assert run.exit_code == 0 and run.judges[0].written == (54 if mode == "single" else 27)
    return data_dir / "demo_bench"


@pytest.mark.parametrize("kind,fastchat", [("pairwise", "judge_pair.jsonl"), ("single", "judge_single.jsonl")])
def test_a_judge_folder_gives_the_records_of_fastchats_file(bench, kind, fastchat):
    expected = content(convert(f"judgments={bench / 'model_judgment' / fastchat}"))
    assert any(row[6] for row in expected)  # reference-guided judgments keep their reference
    assert content(convert(f"judgments={bench / 'model_judgment' / kind / 'judge'}")) == expected


def test_the_judgment_folder_holds_both_kinds(bench):
    records = convert(f"judgments={bench / 'model_judgment' / 'pairwise'}")
    both = convert(f"judgments={bench / 'model_judgment'}")
    assert len(both) == len(records) + len(convert(f"judgments={bench / 'model_judgment' / 'single'}"))
    assert len(records) == 2 * 27  # 20 questions, 7 with a second turn, each judged in two orders


def test_a_folder_without_judgment_files_is_refused(bench):
    empty = bench / "model_judgment" / "empty"
    empty.mkdir()
    with pytest.raises(ConfigError, match="a folder without judgment files"):
        convert(f"judgments={empty}")
