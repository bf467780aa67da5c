"""gen_model_answer on the two leaderboards' folders: their prompts answered (Arena-Hard's string uids as
question ids), the answers written in each bench's own layout and read back by its readers."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from llm_judge.cli import gen_model_answer
from llm_judge.leaderboards import alpaca_files, arena_files


def mock(tmp_path: Path) -> str:
    script = tmp_path / "mock.jsonl"
    script.write_text(json.dumps({"reply": "# Plan\n- step one\n- step **two**\n```\n# not a header\n```"}) + "\n")
    return f"mock:{script}"


def test_arena_hard_answers_in_its_layout(tmp_path, published_data):
    folder = tmp_path / "data" / "arena_hard_v2"
    folder.mkdir(parents=True)
    lines = published_data("arena_hard", "arena-hard-v2.0", "question.jsonl").read_text().splitlines()[:3]
    (folder / "question.jsonl").write_text("\n".join(lines) + "\n")
    assert gen_model_answer.main(["--data-dir", str(tmp_path / "data"), "--bench-name", "arena_hard_v2",
                                  "--model-path", mock(tmp_path), "--model-id", "mine"]) == 0
    answers = arena_files.read_answers(folder / "model_answer" / "mine.jsonl")
    uids = [json.loads(line)["uid"] for line in lines]
    assert list(answers) == uids and all(isinstance(u, str) for u in uids)
    first = answers[uids[0]]
    assert first.answer.startswith("# Plan") and first.model == "mine"
    assert first.metadata["header_count"]["h1"] == 1 and first.metadata["list_count"]["unordered"] == 2
    assert first.metadata["bold_count"]["**"] == 1 and first.metadata["token_len"] > 5


def test_alpaca_eval_answers_in_its_layout(tmp_path, published_data):
    folder = tmp_path / "data" / "alpaca_eval" / "results" / alpaca_files.BASELINE
    folder.mkdir(parents=True)
    rows = json.loads(published_data("alpaca_eval", "results", alpaca_files.BASELINE,
                                     alpaca_files.OUTPUTS_FILE).read_text())[:3]
    (folder / alpaca_files.OUTPUTS_FILE).write_text(json.dumps(rows))
    assert gen_model_answer.main(["--data-dir", str(tmp_path / "data"), "--bench-name", "alpaca_eval",
                                  "--model-path", mock(tmp_path), "--model-id", "mine"]) == 0
    got = alpaca_files.read_outputs(tmp_path / "data" / "alpaca_eval" / "results" / "mine" / alpaca_files.OUTPUTS_FILE)
    assert [o.instruction for o in got] == [r["instruction"] for r in rows]
    assert [o.dataset for o in got] == [r["dataset"] for r in rows]
    assert all(o.generator == "mine" and o.output.startswith("# Plan") for o in got)
