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
from ..answering.run import AnswerSettings, answer_questions, answer_store, pending
from ..bench import check_file_name, load_bench
from ..errors import ConfigError
from ..engines.config import EngineConfig
from ..engines.registry import open_engine
from .engine_flags import add_engine_args, engine_choice, engine_config

log = logging.getLogger("llm_judge.gen_model_answer")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gen_model_answer", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
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
    add_engine_args(p, judge=False)
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cli.setup_logging(args.verbose)
    bench = load_bench(args.bench_name, args.data_dir)
    questions = bench.question_slice(args.question_begin, args.question_end)
    if not questions:
        raise ConfigError(f"--question-begin/--question-end select no question of {bench.name} ({len(bench.questions)} questions)")
    template, prompt_format = _prompt_format(args)
    model_id = check_file_name(args.model_id, "--model-id") if args.model_id else None
    config = engine_config(args, args.model_path, args.engine, model_id, chat_template=template,
                           prompt_format=prompt_format, seed=args.seed)
    answer_file = Path(args.answer_file) if args.answer_file else bench.answer_dir / f"{config.name}.jsonl"
    settings = AnswerSettings(max_new_tokens=args.max_new_token, num_choices=args.num_choices,
                              temperature=args.temperature, top_p=args.top_p,
                              repetition_penalty=args.repetition_penalty, seed=args.seed,
                              system_prompt=args.system_prompt, chunk_size=_chunk_size(config))
    store = answer_store(answer_file)
    todo = pending(questions, store)
    log.info("%s: %d questions, %d already answered in %s", bench.name, len(questions), len(questions) - len(todo), answer_file)
    model_id = config.name
    if todo:
        with open_engine(config) as model:
            summary = answer_questions(model, bench, todo, model_id, store, settings)
        order = {q.question_id: i for i, q in enumerate(bench.questions)}
        store.sort(lambda r: order.get(r["question_id"], len(order)))
        print(f"{model_id}: {summary.written} answered, {len(questions) - len(todo)} already done, "
              f"{summary.failed} failed -> {answer_file}", file=sys.stderr)
        return 1 if summary.failed else 0
    store.close()
    print(f"{model_id}: all {len(questions)} questions already answered in {answer_file}", file=sys.stderr)
    return 0


def _prompt_format(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """(chat template, its origin) from --with-prompt / --conv-template; (None, None): the model's own."""
    from ..engines.chat_templates import chat_template_for

    with_prompt, conv = args.with_prompt, args.conv_template
    template = chat_template_for(with_prompt, conv)
    return template, f"with-prompt:{with_prompt}" if with_prompt else f"conv-template:{conv}" if conv else None


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
