"""The judge id and judgment file name, one rule for gen_judgment and show_result."""
from __future__ import annotations

from pathlib import Path

import pytest

from llm_judge.engines.registry import resolve
from llm_judge.errors import ConfigError
from llm_judge.judging.families import load_family
from llm_judge.judging.judge_id import judge_id_for, judgment_files, judgment_path


@pytest.mark.parametrize("judge_model, judge_model_id, expected", [
    ("gpt-4", None, "gpt-4"),
    ("default", None, "smollm2-135m-instruct"),
    ("openai:gpt-4o-mini", None, "gpt-4o-mini"),
    ("anthropic:claude-3-haiku", None, "claude-3-haiku"),
    ("hf:HuggingFaceTB/SmolLM2-360M-Instruct", None, "SmolLM2-360M-Instruct"),
    ("/models/my-judge/", None, "my-judge"),
    ("/models/judge.Q8_0.gguf", None, "judge.Q8_0"),
    ("openai:gpt-4o", "my-judge", "my-judge"),
    ("mock:rules/flaky.jsonl", None, "flaky"),  # a rules file: its stem, as the engine names itself
])
def test_judge_id(judge_model, judge_model_id, expected):
    assert judge_id_for(judge_model, judge_model_id) == expected
    if judge_model_id is None:  # the name the engine's config gets when gen_model_answer is given no --model-id
        assert resolve(judge_model).name == expected


@pytest.mark.parametrize("judge_model, judge_model_id", [
    ("gpt-4", "a/b"), ("gpt-4", "../x"), ("gpt-4", ".hidden"), ("gpt-4", "a\\b"), ("openai:..", None),
])
def test_path_like_judge_id_refused(judge_model, judge_model_id):
    with pytest.raises(ConfigError, match="not a plain file name") as err:
        judge_id_for(judge_model, judge_model_id)
    assert "\n" not in str(err.value)


def test_judgment_path_names_family(tmp_path: Path):
    assert judgment_path(tmp_path, "j", load_family(None), False) == tmp_path / "j_single.jsonl"
    assert judgment_path(tmp_path, "j", load_family("prometheus"), True) == tmp_path / "j_prometheus_pair.jsonl"


def test_judgment_files_by_kind(tmp_path: Path):
    for name in ("a_single.jsonl", "b_prometheus_single.jsonl", "a_pair.jsonl", "notes.jsonl"):
        (tmp_path / name).write_text("")
    (tmp_path / "old_single.jsonl").mkdir()  # a folder is not a judgment file
    assert [p.name for p in judgment_files(tmp_path, False)] == ["a_single.jsonl", "b_prometheus_single.jsonl"]
    assert [p.name for p in judgment_files(tmp_path, True)] == ["a_pair.jsonl"]
