"""Every --dtype gen_model_answer offers answers on this CPU with the default model, or is refused in one
line before the model loads: never an error record or a stack trace per answer. Both local CPU engines: the
transformers engine (--engine hf, the GGUF converted) and llama.cpp (the GGUF as it is, --dtype auto only)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import require
from llm_judge.engines.precision import DTYPE_CHOICES, resolve_dtype

pytestmark = pytest.mark.model

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("engine", ["hf", "llamacpp"])
@pytest.mark.parametrize("dtype", DTYPE_CHOICES)
def test_every_dtype_answers_without_errors_or_tracebacks(tmp_path, dtype, engine):
    if engine == "llamacpp":
        require("llama_cpp", "llamacpp")
    answers = tmp_path / "answers.jsonl"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "llm_judge.gen_model_answer", "--model-path", "default",
                           "--engine", engine, "--model-id", "smol", "--dtype", dtype, "--question-end", "2",
                           "--max-new-token", "4", "--temperature", "0", "--answer-file", str(answers)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert "Traceback" not in done.stderr, done.stderr
    if done.returncode != 0:  # a refusal: one line, before anything is written
        lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
        assert done.returncode == 2 and len(lines) == 1 and f"--dtype {dtype}" in lines[0], done.stderr
        assert not answers.exists()
        return
    records = [json.loads(line) for line in answers.read_text().splitlines()]
    assert [r["question_id"] for r in records] == [1, 2]
    for record in records:
        assert "error" not in record and all("error" not in c for c in record["choices"])
        assert record["generation"]["engine"] == engine
        if engine == "hf":
            assert record["generation"]["dtype"] == resolve_dtype(dtype, "cpu")
        turns = [t for c in record["choices"] for t in c["turns"]]
        assert turns and all(t.strip() for t in turns)  # every turn answered: four tokens of text
    assert sum(len(r["choices"][0]["turns"]) for r in records) == 3  # question 1 has one turn, question 2 two


def test_a_dtype_torch_cannot_compute_is_refused_before_loading(tmp_path, monkeypatch, capsys):
    """A torch build without a float16 kernel, simulated at one operation: exit 2, one line, no answers."""
    import torch

    from llm_judge.cli import gen_model_answer
    from llm_judge.engines import hf

    sdpa = torch.nn.functional.scaled_dot_product_attention

    def no_half(query, *args, **kwargs):
        if query.dtype == torch.float16:
            raise RuntimeError('"scaled_dot_product_attention" not implemented for \'Half\'\nmore detail')
        return sdpa(query, *args, **kwargs)

    loaded = []
    monkeypatch.setattr(torch.nn.functional, "scaled_dot_product_attention", no_half)
    monkeypatch.setattr(hf, "load_tokenizer", lambda *a: loaded.append(a))  # must not be reached
    answers = tmp_path / "answers.jsonl"
    monkeypatch.setattr(sys, "argv", ["gen_model_answer", "--model-path", "default", "--engine", "hf",
                                      "--dtype", "float16", "--question-end", "1", "--answer-file", str(answers)])
    with pytest.raises(SystemExit) as exit_:
        gen_model_answer.cli_main()
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2
    assert err[-1] == ("error: --dtype float16: torch cannot compute in float16 on cpu here "
                       "(\"scaled_dot_product_attention\" not implemented for 'Half'); use --dtype float32")
    assert not any(line.startswith(("error", "Traceback")) for line in err[:-1])
    assert not loaded and not answers.exists()
