"""train_judge's command line on a tiny randomly initialised Llama (the default model's tokenizer, 2 layers):
a run resumes from its checkpoint, an output folder with checkpoints is not overwritten, bad input is one
line and exit code 2."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import published_path
from llm_judge.__main__ import main as dispatch
from llm_judge.cli import make_traindata, train_judge

transformers = pytest.importorskip("transformers")
pytest.importorskip("peft")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """A 2-layer Llama with the default model's tokenizer, saved as a model folder."""
    from llm_judge.engines.weights import bundled_gguf, convert_gguf

    tokenizer = transformers.AutoTokenizer.from_pretrained(str(convert_gguf(bundled_gguf())))
    config = transformers.LlamaConfig(vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32,
                                      num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2,
                                      max_position_embeddings=2048, tie_word_embeddings=True)
    folder = tmp_path_factory.mktemp("tiny")
    transformers.LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("data")
    assert make_traindata.main(["--out-dir", str(out), "--source",
                                f"autoj={published_path('autoj', 'training', 'single_traindata.jsonl')}",
                                "--max-per-source", "12", "--test-ratio", "0.25"]) == 0
    return out


def argv(data: Path, out: Path, tiny: Path, *extra: str) -> list[str]:
    return ["--data-dir", str(data), "--output-dir", str(out), "--model-path", str(tiny), "--objective", "raft+ce",
            "--batch-size", "2", "--grad-accum", "1", "--max-len", "256", "--max-examples", "4",
            "--eval-examples", "2", "--save-steps", "1", *extra]


def test_a_run_resumes_from_its_last_checkpoint(data, tiny, tmp_path, capsys):
    out = tmp_path / "judge"
    assert train_judge.main(argv(data, out, tiny, "--steps", "2")) == 0
    assert (out / "checkpoints" / "checkpoint-2").is_dir() and (out / "eval.json").exists()
    before = json.loads((out / "eval_before.json").read_text())
    assert dispatch(["train_judge", *argv(data, out, tiny, "--steps", "2")]) == 2  # not overwritten by accident
    assert "--resume" in capsys.readouterr().err
    assert train_judge.main(argv(data, out, tiny, "--steps", "3", "--resume")) == 0
    assert "3 steps" in capsys.readouterr().out  # steps 1-2 from the checkpoint's log, then step 3
    assert (out / "checkpoints" / "checkpoint-3").is_dir()
    report = json.loads((out / "eval.json").read_text())
    assert report["before"] == before and len(report["losses"]) == 3


def test_bad_input_is_one_line_and_exit_2(data, tiny, tmp_path, capsys):
    (tmp_path / "nothing").mkdir()
    assert dispatch(["train_judge", *argv(tmp_path / "nothing", tmp_path / "o", tiny, "--steps", "1")]) == 2
    assert "no make_traindata outputs" in capsys.readouterr().err
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in data.iterdir():
        if f.is_file():
            (broken / f.name).write_bytes(f.read_bytes())
    lines = (broken / "judge_sft_train.records.jsonl").read_text().splitlines()
    (broken / "judge_sft_train.records.jsonl").write_text("\n".join(lines[:1] + ["{}"] + lines[2:]) + "\n")
    assert dispatch(["train_judge", *argv(broken, tmp_path / "o2", tiny, "--steps", "1")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "judge_sft_train.records.jsonl" in err[0] and ":2" in err[0], err
