"""The real LLaMA-Factory trains on what make_traindata writes: its YAML, dataset_info.json and data files.

LLaMA-Factory pins its own transformers, so it lives in its own virtual environment: LLM_JUDGE_LF_VENV, by
default ~/.cache/llm_judge/llamafactory-venv. Without it the test is skipped with the command that makes
it; under CI=true the test makes it (about 6 GB: LLaMA-Factory
0.9.5 imports torchaudio when it starts, and PyPI's torchaudio wheels are CUDA builds whose newest, 2.11.0,
needs torch 2.11.0 exactly, so the venv holds PyPI's torch 2.11.0 CUDA build, which runs on the CPU; the
local CPU-only torch 2.13 cannot load any torchaudio).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import published_path, under_ci
from llm_judge.cli import make_traindata

pytestmark = [pytest.mark.model, pytest.mark.slow]

VENV = Path(os.environ.get("LLM_JUDGE_LF_VENV", Path.home() / ".cache" / "llm_judge" / "llamafactory-venv"))
PACKAGES = ["torch==2.11.0", "torchaudio==2.11.0", "torchvision==0.26.0", "llamafactory==0.9.5"]
INSTALL = (f"{sys.executable} -m venv {VENV} && PIP_CONSTRAINT= {VENV}/bin/pip install " +
           " ".join(f"'{p}'" for p in PACKAGES))


def lf_cli() -> Path:
    cli = VENV / "bin" / "llamafactory-cli"
    if cli.exists():
        return cli
    if not under_ci():
        pytest.skip(f"LLaMA-Factory is not installed in {VENV}; make it with: {INSTALL}")
    # PIP_CONSTRAINT is emptied: the machine's pip constraints cap torch at the local CPU wheel (see above)
    subprocess.run(INSTALL, shell=True, check=True)
    return cli


def test_llamafactory_trains_a_lora_adapter_on_make_traindata_output(tmp_path: Path, default_model_path: str):
    cli = lf_cli()
    data = tmp_path / "data"
    assert make_traindata.main([
        "--out-dir", str(data), "--source", f"autoj={published_path('autoj', 'training', 'single_traindata.jsonl')}",
        "--source", f"llmbar={published_path('llmbar', 'Natural', 'dataset.json')}", "--max-per-source", "8",
        "--model-path", default_model_path, "--template", "smollm2", "--cutoff-len", "128"]) == 0
    out = tmp_path / "saves"
    # the YAML as written, shortened to two steps on the CPU; "eval_steps" keeps its eval set out of the way
    overrides = ["max_steps=2", "logging_steps=1", "gradient_accumulation_steps=1", "eval_steps=1000",
                 "bf16=false", "disable_gradient_checkpointing=true", "preprocessing_num_workers=1",
                 f"output_dir={out}"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": "", "DISABLE_VERSION_CHECK": "1"}
    run = subprocess.run([str(cli), "train", str(data / "judge_sft_lora_sft.yaml"), *overrides], env=env,
                         capture_output=True, text=True, timeout=1800)
    assert run.returncode == 0, run.stderr[-3000:]
    log = [json.loads(line) for line in (out / "trainer_log.jsonl").read_text().splitlines()]
    losses = [row["loss"] for row in log if "loss" in row]
    assert len(losses) == 2 and all(x > 0 for x in losses)
    assert (out / "adapter_model.safetensors").stat().st_size > 0
    config = json.loads((out / "adapter_config.json").read_text())
    assert config["peft_type"] == "LORA" and config["base_model_name_or_path"] == default_model_path
