"""Step 1: answer a bench's questions with a model.

    python -m llm_judge.gen_model_answer --model-path PATH_OR_ID --model-id NAME [--bench-name mt_bench]

Writes data/<bench>/model_answer/<model-id>.jsonl (FastChat's format). Rerunning skips answered questions.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Sequence

from .. import cli
from ..answering.run import AnswerSettings, answer_questions, answer_store
from ..bench import check_file_name, load_bench
from ..errors import ConfigError
from ..engines.api.base import add_api_args
from ..engines.registry import engine_for

log = logging.getLogger("llm_judge.gen_model_answer")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gen_model_answer", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model-path", "--base_model", dest="model_path", default="default",
                   help="local folder, hub id, .gguf file, API model name, or 'default' (SmolLM2-135M-Instruct)")
    p.add_argument("--model-id", default=None, help="name of the answer file (default: last part of --model-path)")
    cli.add_data_args(p)
    p.add_argument("--engine", choices=["hf", "vllm", "api", "openai", "anthropic"], default=None,
                   help="inference engine (default: chosen from --model-path)")
    p.add_argument("--question-begin", type=int, default=None, help="index of the first question (debugging)")
    p.add_argument("--question-end", type=int, default=None, help="index after the last question (debugging)")
    p.add_argument("--answer-file", default=None, help="output file (default: data/<bench>/model_answer/<model-id>.jsonl)")
    p.add_argument("--max-new-token", "--max_new_tokens", "--max-new-tokens", dest="max_new_token", type=cli.positive_int,
                   default=1024, help="most new tokens per turn (default: 1024)")
    p.add_argument("--num-choices", type=cli.positive_int, default=1, help="answers per question (default: 1)")
    p.add_argument("--temperature", type=float, default=None,
                   help="one temperature for every question (default: per category, FastChat's table)")
    p.add_argument("--top-p", type=float, default=1.0)
    p.add_argument("--repetition-penalty", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=None, help="seed for sampled answers")
    p.add_argument("--system-prompt", default=None, help="a system message before every conversation")
    p.add_argument("--dtype", default="auto", choices=["auto", "float32", "float16", "bfloat16"])
    p.add_argument("--batch-size", type=cli.positive_int, default=16, help="prompts per batch (local engines)")
    p.add_argument("--num-gpus-per-model", type=cli.positive_int, default=1)
    p.add_argument("--num-gpus-total", "--gpus", dest="num_gpus_total", type=cli.positive_int, default=1)
    p.add_argument("--num-workers", type=cli.positive_int, default=None,
                   help="engine copies working at once through Ray (CPU workers on a machine without GPUs)")
    p.add_argument("--ray-address", default=None, help="join an existing Ray cluster (e.g. auto or host:6379)")
    p.add_argument("--max-gpu-memory", default=None, help="per-GPU memory cap, e.g. 20GiB")
    p.add_argument("--enforce-eager", action=argparse.BooleanOptionalAction, default=None,
                   help="vLLM: skip graph compilation (default: on CPU yes, on GPU vLLM's default)")
    p.add_argument("--revision", default=None, help="model revision (branch, tag or commit)")
    p.add_argument("--trust-remote-code", action="store_true", help="allow model code from the hub (off by default)")
    p.add_argument("--lora-model", "--lora_model", dest="lora_model", default=None, help="a LoRA adapter to apply")
    p.add_argument("--with-prompt", "--with_prompt", dest="with_prompt", default=None,
                   help="prompt template for models without a chat template (alpaca, alpaca_jp, rinna, llm-jp, vicuna)")
    p.add_argument("--conv-template", default=None, help="a FastChat conversation template (needs fschat)")
    p.add_argument("--parallel", type=cli.positive_int, default=16, help="requests in flight (API engines)")
    add_api_args(p)
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cli.setup_logging(args.verbose)
    bench = load_bench(args.bench_name, args.data_dir)
    questions = bench.question_slice(args.question_begin, args.question_end)
    if not questions:
        raise ConfigError(f"--question-begin/--question-end select no question of {bench.name} ({len(bench.questions)} questions)")
    from ..engines.registry import model_id_for, split_provider

    args.engine = engine_for(args.model_path, args.engine, args.api_base)
    provider, _ = split_provider(args.model_path, args.engine)
    model_id = check_file_name(args.model_id or model_id_for(split_provider(args.model_path, args.engine)[1]),
                               "--model-id")
    answer_file = Path(args.answer_file) if args.answer_file else bench.answer_dir / f"{model_id}.jsonl"
    settings = AnswerSettings(max_new_tokens=args.max_new_token, num_choices=args.num_choices,
                              temperature=args.temperature, top_p=args.top_p,
                              repetition_penalty=args.repetition_penalty, seed=args.seed,
                              system_prompt=args.system_prompt)
    if provider in ("openai", "anthropic"):  # one turn of a chunk is one batch: let it fill --parallel
        settings.chunk_size = max(settings.chunk_size, args.parallel)
    store = answer_store(answer_file)
    todo = [q for q in questions if q.question_id not in store]
    log.info("%s: %d questions, %d already answered in %s", bench.name, len(questions), len(questions) - len(todo), answer_file)
    if todo:
        from ..engines.pool import EngineSpec, open_engine, pool_options

        pool = pool_options(args, provider)
        if pool:  # every turn of a chunk is one batch spread over the workers: give each a full share
            settings.chunk_size = max(settings.chunk_size, 64 * pool.workers)
        spec = EngineSpec(args.model_path, model_id, args.engine, _engine_options(args, provider))
        with open_engine(spec, pool) as model:
            summary = answer_questions(model, bench, todo, model_id, store, settings)
        order = {q.question_id: i for i, q in enumerate(bench.questions)}
        store.sort(lambda r: order.get(r["question_id"], len(order)))
        print(f"{model_id}: {summary.written} answered, {summary.skipped + len(questions) - len(todo)} already done, "
              f"{summary.failed} failed -> {answer_file}", file=sys.stderr)
        return 1 if summary.failed else 0
    store.close()
    print(f"{model_id}: all {len(questions)} questions already answered in {answer_file}", file=sys.stderr)
    return 0


def _engine_options(args: argparse.Namespace, provider: str) -> dict:
    """Keyword arguments for load_model built from the flags, for the chosen provider."""
    if provider in ("hf", "vllm"):
        from ..engines.hf import HFOptions
        from ..engines.chat_templates import chat_template_for

        with_prompt, conv = args.with_prompt, args.conv_template
        template = chat_template_for(with_prompt, conv)
        prompt_format = f"with-prompt:{with_prompt}" if with_prompt else f"conv-template:{conv}" if conv else None
        lora = args.lora_model
        if lora and not Path(lora).expanduser().is_dir():
            raise ConfigError(f"--lora-model {lora}: not a folder (give the folder holding adapter_config.json)")
        hf = HFOptions(dtype=args.dtype, batch_size=args.batch_size, num_gpus=args.num_gpus_per_model,
                       max_gpu_memory=args.max_gpu_memory, revision=args.revision,
                       trust_remote_code=args.trust_remote_code, lora_path=lora, chat_template=template,
                       prompt_format=prompt_format)
        out: dict = {"hf_options": hf}
        if provider == "vllm":
            from ..engines.vllm import VLLMOptions

            out["vllm_options"] = VLLMOptions(tensor_parallel_size=args.num_gpus_per_model,
                                              enforce_eager=args.enforce_eager, seed=args.seed or 0)
        return out
    from ..engines.api.base import APIOptions

    return {"api_options": APIOptions.from_args(args)}


def cli_main() -> None:
    sys.exit(cli.run(main))


if __name__ == "__main__":
    cli_main()
