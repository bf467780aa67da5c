"""The engine flags: the same on the three generating commands, resolved once into one EngineConfig."""
from __future__ import annotations

import pytest

from llm_judge.cli import eval_judge, gen_judgment, gen_model_answer
from llm_judge.cli.engine_flags import engine_config
from llm_judge.engines.config import APIOptions, PoolOptions
from llm_judge.errors import ConfigError

ENGINE_FLAGS = {"dtype", "batch_size", "num_gpus_per_model", "num_gpus_total", "max_gpu_memory", "revision",
                "trust_remote_code", "lora_model", "enforce_eager", "num_workers", "ray_address", "parallel",
                "api_base", "api_key_env", "max_retries", "request_timeout"}


def judge_args(*argv: str):
    return gen_judgment.build_parser().parse_args(list(argv))


def no_gpu() -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.device_count():
        pytest.skip("this machine has a GPU")


@pytest.mark.model
def test_every_generating_command_has_the_engine_flags():
    answer = vars(gen_model_answer.build_parser().parse_args([]))
    judge = vars(judge_args())
    run = vars(eval_judge.build_parser().parse_args(["run", "set.jsonl", "--judge-model", "mock:judge"]))
    for ns in (answer, judge, run):
        assert ENGINE_FLAGS <= set(ns), ENGINE_FLAGS - set(ns)
    assert (answer["batch_size"], judge["batch_size"], run["batch_size"]) == (None, 8, 8)  # answers: auto (by free memory)
    assert (judge["max_retries"], judge["request_timeout"], judge["parallel"]) == (6, 300.0, 16)


def test_flags_land_in_their_groups():
    args = judge_args("--dtype", "bfloat16", "--batch-size", "3", "--revision", "v2")
    local = engine_config(args, "default", "hf", None, chat_template="T")
    assert (local.provider, local.model, local.name) == ("hf", "default", "smollm2-135m-instruct")
    assert engine_config(judge_args(), "default", None, None).provider == "llamacpp"  # the bundled GGUF as it is
    assert (local.hf.dtype, local.hf.batch_size, local.hf.revision, local.hf.chat_template) == ("bfloat16", 3, "v2", "T")
    # with --api-base a plain name is a model on that server
    args = judge_args("--parallel", "5", "--max-retries", "0", "--request-timeout", "7.5", "--api-base", "http://h/v1")
    served = engine_config(args, "qwen-judge", None, "q")
    assert (served.provider, served.model, served.name) == ("openai", "qwen-judge", "q")
    assert served.api == APIOptions(parallel=5, api_base="http://h/v1", max_retries=0, request_timeout=7.5)
    claude = engine_config(judge_args(), "claude-3-5-sonnet", None, None)
    assert claude.provider == "anthropic" and claude.api == APIOptions() and claude.pool is None


def test_num_workers_makes_a_pool_of_local_engines_only():
    no_gpu()
    args = judge_args("--num-workers", "2")
    assert engine_config(args, "default", None, None).pool == PoolOptions(workers=2, gpus_per_worker=0)
    assert engine_config(args, "mock:judge", None, None).pool == PoolOptions(workers=2)
    assert engine_config(args, "gpt-4", None, None).pool is None  # API engines have --parallel instead
    assert engine_config(judge_args(), "default", None, None).pool is None


@pytest.mark.model
@pytest.mark.parametrize("flag", ["--num-gpus-total", "--num-gpus-per-model"])
def test_gpu_flags_without_a_gpu_are_an_error(data_dir, capsys, flag):
    no_gpu()
    code = gen_model_answer.cli.run(gen_model_answer.main, ["--data-dir", str(data_dir), flag, "2"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1] == (f"error: {flag} 2: no GPU found; use --num-workers N for N copies on the CPU "
                       "(or --ray-address to use a cluster's GPUs)")
    assert not (data_dir / "demo_bench" / "model_answer").exists()
    # with a cluster the GPUs may be elsewhere: the flags keep their meaning
    pool = engine_config(judge_args(flag, "2", "--ray-address", "auto"), "default", None, None).pool
    assert pool is not None and pool.address == "auto"


def test_lora_must_be_a_folder(tmp_path):
    with pytest.raises(ConfigError, match="--lora-model .*: not a folder"):
        engine_config(judge_args("--lora-model", str(tmp_path / "none")), "default", "hf", None)
    with pytest.raises(ConfigError, match="llamacpp engine does not take --lora-model.*--engine hf"):
        engine_config(judge_args("--lora-model", str(tmp_path)), "default", None, None)
