"""The produced data trains the default model: prompt masking, and a few real LoRA steps with falling loss."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from llm_judge.cli import make_traindata
from llm_judge.traindata.finetune import IGNORE, encode

pytestmark = pytest.mark.model


def test_only_the_answer_is_learned_and_it_survives_truncation(default_model_path):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(default_model_path)
    messages = [{"role": "system", "content": "You judge."}, {"role": "user", "content": "Which is better? " * 40},
                {"role": "assistant", "content": "A is clearer.\n\n[[A]]"}]
    ids, labels = encode(tok, messages, max_len=1000)
    learned = [t for t, y in zip(ids, labels) if y != IGNORE]
    assert tok.decode(learned).startswith("A is clearer.\n\n[[A]]")
    assert labels[: len(ids) - len(learned)] == [IGNORE] * (len(ids) - len(learned))
    short_ids, short_labels = encode(tok, messages, max_len=40)
    assert len(short_ids) == 40 and [y for y in short_labels if y != IGNORE] == learned  # prompt cut, answer kept


@pytest.mark.slow
def test_cli_builds_data_and_a_short_lora_run_lowers_the_loss(tmp_path: Path, published_data, capsys):
    code = make_traindata.main([
        "--out-dir", str(tmp_path), "--source", f"llmbar={published_data('llmbar', 'Natural', 'dataset.json')}",
        "--source", f"autoj={published_data('autoj', 'training', 'single_traindata.jsonl')}", "--max-per-source", "40",
        "--train-steps", "4", "--train-examples", "2", "--train-max-len", "48"])
    out = capsys.readouterr().out
    assert code == 0
    line = next(x for x in out.splitlines() if x.startswith("short fine-tuning (lora"))
    losses = [float(x) for x in line.split("loss ")[1].split()]
    assert len(losses) == 4 and all(x == x for x in losses)  # four steps, no NaN
    assert losses[-1] < losses[0] * 0.6, losses
    trainable = int(re.search(r"(\d+) trainable", line).group(1))
    assert 0 < trainable < 5_000_000  # LoRA adapters only, not the 135M base weights


def test_a_family_wrapper_replaces_the_chat_template(default_model_path):
    from transformers import AutoTokenizer

    from llm_judge.judging import families

    tok = AutoTokenizer.from_pretrained(default_model_path)
    template = families.load_family("autoj").chat_template()
    messages = [{"role": "user", "content": "Compare them."}, {"role": "assistant", "content": "So, the final decision is Tie"}]
    ids, labels = encode(tok, messages, max_len=1000, chat_template=template)
    prompt = tok.decode([t for t, y in zip(ids, labels) if y == IGNORE])
    assert prompt.endswith("[INST] Compare them. [/INST]") and "<|im_start|>user" not in prompt
    learned = tok.decode([t for t, y in zip(ids, labels) if y != IGNORE])
    assert learned == "So, the final decision is Tie" + tok.eos_token
