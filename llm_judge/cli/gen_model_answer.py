"""Step 1: answer a bench's questions with a model.

    python -m llm_judge.gen_model_answer --model-path PATH_OR_ID --model-id NAME [--bench-name mt_bench]
    python -m llm_judge.gen_model_answer --config configs/MODEL.json [flags that override the file]

Writes data/<bench>/model_answer/<model-id>.jsonl (FastChat's format). Rerunning skips answered questions.
An AlpacaEval or Arena-Hard folder also gets the answers in its own layout (results/<model>/model_outputs.json;
model_answer/<model>.jsonl with messages and style metadata): see llm_judge/leaderboards/answers.py.
"""
from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from pathlib import Path
from typing import Sequence

from .. import cli
from ..answering.model_config import ModelConfig, load_model_config
from ..answering.run import AnswerSettings, answer_questions, answer_store, pending
from ..bench import Bench, check_file_name, load_bench
from ..errors import ConfigError, InputError
from ..engines.api.batch_options import BatchOptions
from ..engines.base import ChatModel
from ..engines.config import EngineConfig
from ..engines.registry import open_engine
from ..leaderboards.answers import answer_bench, export_answers
from .engine_flags import add_batch_args, add_engine_args, batch_options, engine_choice, engine_config

log = logging.getLogger("llm_judge.gen_model_answer")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gen_model_answer", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default=None, metavar="FILE",
                   help="a model config file of ja-vicuna-qa-benchmark (JSON); flags given beside it override it")
    p.add_argument("--model-path", "--base_model", dest="model_path", default="default",
                   help="local folder, hub id, .gguf file, API model name, or 'default' (SmolLM2-135M-Instruct)")
    p.add_argument("--model-id", default=None, help="name of the answer file (default: last part of --model-path)")
    cli.add_data_args(p)
    engine_choice(p, "--engine")
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
    p.add_argument("--with-prompt", "--with_prompt", dest="with_prompt", default=None,
                   help="prompt template for models without a chat template (alpaca, alpaca_jp, rinna, llm-jp, vicuna)")
    p.add_argument("--conv-template", default=None, help="a FastChat conversation template (needs fschat)")
    p.add_argument("--tokenizer", default=None, help="a tokenizer other than the model's (path or hub id)")
    add_engine_args(p, judge=False)
    add_batch_args(p)
    cli.add_lock_args(p, "answer file")
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    cli.setup_logging(args.verbose)
    model_config = merge_config(args, given_flags(parser, argv)) if args.config else None
    bench = answer_bench(args.bench_name, args.data_dir) or load_bench(args.bench_name, args.data_dir)
    questions = bench.question_slice(args.question_begin, args.question_end)
    if not questions:
        raise ConfigError(f"--question-begin/--question-end select no question of {bench.name} ({len(bench.questions)} questions)")
    template, prompt_format = _prompt_format(args, model_config)
    model_id = check_file_name(args.model_id, "--model-id") if args.model_id else None
    config = engine_config(args, args.model_path, args.engine, model_id, chat_template=template,
                           prompt_format=prompt_format, seed=args.seed)
    if args.tokenizer:
        config = config.replace(hf=dataclasses.replace(config.hf, tokenizer_path=args.tokenizer))
    batch = batch_options(args, config)
    answer_file = Path(args.answer_file) if args.answer_file else bench.answer_dir / f"{config.name}.jsonl"
    settings = AnswerSettings(max_new_tokens=args.max_new_token, num_choices=args.num_choices,
                              temperature=args.temperature, top_p=args.top_p,
                              repetition_penalty=args.repetition_penalty, seed=args.seed,
                              system_prompt=args.system_prompt, chunk_size=_chunk_size(config),
                              token_map=model_config.special_token_map if model_config else {},
                              model_config=model_config.to_json() if model_config else None)
    with answer_store(answer_file, cli.lock_options(args)) as store:  # its lock freed however the run ends
        todo = pending(questions, store)
        log.info("%s: %d questions, %d already answered in %s", bench.name, len(questions), len(questions) - len(todo),
                 answer_file)
        model_id = config.name
        if todo:
            with _open(config, batch, answer_file, settings, len(todo)) as model:
                summary = answer_questions(model, bench, todo, model_id, store, settings)
            order = {q.question_id: i for i, q in enumerate(bench.questions)}
            store.sort(lambda r: order.get(r["question_id"], len(order)))
            _export(bench, answer_file, model_id)
            print(f"{model_id}: {summary.written} answered, {len(questions) - len(todo)} already done, "
                  f"{summary.failed} failed -> {answer_file}", file=sys.stderr)
            return 1 if summary.failed else 0
    _export(bench, answer_file, model_id)
    print(f"{model_id}: all {len(questions)} questions already answered in {answer_file}", file=sys.stderr)
    return 0


def _export(bench: Bench, answer_file: Path, model_id: str) -> None:
    """AlpacaEval and Arena-Hard benches get the answers in their own layout too (llm_judge/leaderboards/)."""
    written = export_answers(bench, answer_file, model_id)
    if written:
        print(f"{model_id}: answers in {bench.name}'s layout -> {written}", file=sys.stderr)


def given_flags(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> set[str]:
    """The destinations of the flags on the command line: parsed again with every default suppressed, so a
    flag left out is absent while one given (even with its default value) is present."""
    quiet = build_parser()
    for action in quiet._actions:  # not set_defaults: that would put SUPPRESS itself into the namespace
        action.default = argparse.SUPPRESS
    return set(vars(quiet.parse_args(sys.argv[1:] if argv is None else argv)))


def merge_config(args: argparse.Namespace, given: set[str]) -> ModelConfig:
    """Fill ``args`` from the --config file where no flag was given; the config as used, flags included.

    A flag given beside the file wins over the file; a flag left at its default does not.
    """
    mc = load_model_config(args.config)
    gen = dict(mc.generation_config)
    # (flag dest, the file's value, the generation_config key a given flag is written to, a key it replaces)
    overrides = (("max_new_token", mc.max_new_tokens(), "max_new_tokens", "max_length"),
                 ("temperature", mc.temperature(), "temperature", "do_sample"),
                 ("top_p", gen.get("top_p"), "top_p", None),
                 ("repetition_penalty", gen.get("repetition_penalty"), "repetition_penalty", None))
    for dest, value, key, replaced in overrides:
        if dest in given:
            gen[key] = getattr(args, dest)
            gen.pop(replaced, None)
        elif value is not None:
            setattr(args, dest, value)
    fields: dict[str, str | None] = {}
    for dest, name in (("model_path", "model_name_or_path"), ("model_id", "model_id"),
                       ("lora_model", "lora_model_name_or_path"), ("tokenizer", "tokenizer_name_or_path")):
        fields[name] = getattr(args, dest) if dest in given else getattr(mc, name)
    if not fields["model_name_or_path"]:
        raise InputError(mc.path, "is null (an API model's config?); give the model with --model-path",
                         field="model_name_or_path")
    mc = mc.replace(generation_config=gen, **fields)
    args.model_path, args.model_id, args.lora_model = (mc.model_name_or_path, mc.model_id,
                                                       mc.lora_model_name_or_path)
    args.tokenizer = mc.tokenizer_path()
    return mc


def _prompt_format(args: argparse.Namespace, model_config: ModelConfig | None) -> tuple[str | None, str | None]:
    """(chat template, its origin) from --with-prompt / --conv-template, else the --config file's
    prompt_template; (None, None): the model's own."""
    from ..engines.chat_templates import chat_template_for

    with_prompt, conv = args.with_prompt, args.conv_template
    if model_config and not with_prompt and not conv:
        return model_config.chat_template(), f"config:{model_config.path}"
    template = chat_template_for(with_prompt, conv)
    return template, f"with-prompt:{with_prompt}" if with_prompt else f"conv-template:{conv}" if conv else None


def _open(config: EngineConfig, batch: BatchOptions | None, answer_file: Path, settings: AnswerSettings,
          todo: int) -> ChatModel:
    """The engine; with --batch, the model's batch engine, and every question in one chunk (one batch per turn)."""
    if batch is None:
        return open_engine(config)
    from ..engines.api.batch import open_batch

    settings.chunk_size = max(1, todo)
    return open_batch(config, answer_file, batch)


def _chunk_size(config: EngineConfig) -> int:
    """Questions per chunk: every turn of a chunk is one batch, which should keep the engine busy."""
    chunk = AnswerSettings.chunk_size
    if config.is_api:  # one batch fills --parallel
        chunk = max(chunk, config.api.parallel)
    if config.pool:  # a batch is spread over the workers: give each a full share
        chunk = max(chunk, 64 * config.pool.workers)
    return chunk


def cli_main() -> None:
    sys.exit(cli.run(main))


if __name__ == "__main__":
    cli_main()
