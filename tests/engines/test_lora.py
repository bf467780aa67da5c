"""--lora-model: a LoRA adapter (made here with peft on the default model) changes the answers."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from llm_judge import cli
from llm_judge.cli import gen_model_answer

pytestmark = pytest.mark.model


def make_adapter(base_path: str, out: Path, seed: int = 0) -> Path:
    """A small LoRA adapter with random, non-zero weights (peft's init_lora_weights=False), saved to ``out``."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    base = AutoModelForCausalLM.from_pretrained(base_path)
    config = LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], init_lora_weights=False,
                        task_type="CAUSAL_LM")
    get_peft_model(base, config).save_pretrained(out)
    assert (out / "adapter_config.json").exists()
    return out


@pytest.fixture(scope="module")
def adapter(default_model_path, tmp_path_factory) -> Path:
    return make_adapter(default_model_path, tmp_path_factory.mktemp("lora") / "adapter")


def answers(path: Path) -> dict[int, dict]:
    return {r["question_id"]: r for r in map(json.loads, path.open())}


def test_lora_adapter_changes_the_answers(data_dir, adapter):
    # --engine hf: the default model is a GGUF file, which would go to llama.cpp (a PEFT adapter needs transformers)
    common = ["--data-dir", str(data_dir), "--question-end", "2", "--max-new-token", "8", "--temperature", "0",
              "--engine", "hf"]
    assert gen_model_answer.main(common + ["--model-id", "base"]) == 0
    assert gen_model_answer.main(common + ["--model-id", "tuned", "--lora_model", str(adapter)]) == 0
    out = data_dir / "demo_bench" / "model_answer"
    base, tuned = answers(out / "base.jsonl"), answers(out / "tuned.jsonl")
    assert base.keys() == tuned.keys() == {1, 2}
    for qid in base:
        assert tuned[qid]["choices"][0]["turns"][0] != base[qid]["choices"][0]["turns"][0]
        assert tuned[qid]["generation"]["lora_path"] == str(adapter)
        assert "lora_path" not in base[qid]["generation"]


def test_missing_adapter_folder_is_a_clear_error(data_dir, tmp_path, capsys):
    rc = cli.run(gen_model_answer.main, ["--data-dir", str(data_dir), "--question-end", "1", "--engine", "hf",
                                         "--lora-model", str(tmp_path / "nope")])
    assert rc == 2
    assert "--lora-model" in capsys.readouterr().err
    assert not (data_dir / "demo_bench" / "model_answer").exists() or \
        not any((data_dir / "demo_bench" / "model_answer").iterdir())
