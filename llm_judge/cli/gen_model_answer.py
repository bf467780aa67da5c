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
import sys
from typing import Sequence

from .. import cli
from ..answering.model_config import ModelConfig, load_model_config
from ..api import answer
from ..bench import check_file_name
from ..errors import InputError
from .engine_flags import add_batch_args, add_engine_args, batch_flags, engine_choice, engine_config


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
    template, prompt_format = _prompt_format(args, model_config)
    model_id = check_file_name(args.model_id, "--model-id") if args.model_id else None
    config = engine_config(args, args.model_path, args.engine, model_id, chat_template=template,
                           prompt_format=prompt_format, seed=args.seed)
    if args.tokenizer:
        config = config.replace(hf=dataclasses.replace(config.hf, tokenizer_path=args.tokenizer))
    run = answer(args.bench_name, config, data_dir=args.data_dir, wait=args.wait, share=args.share,
                 answer_file=args.answer_file, question_begin=args.question_begin,
                 question_end=args.question_end, batch=batch_flags(args), verbose=True,
                 max_new_tokens=args.max_new_token, num_choices=args.num_choices, temperature=args.temperature,
                 top_p=args.top_p, repetition_penalty=args.repetition_penalty, seed=args.seed,
                 system_prompt=args.system_prompt, token_map=model_config.special_token_map if model_config else {},
                 model_config=model_config.to_json() if model_config else None)
    return run.exit_code


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


def cli_main() -> None:
    sys.exit(cli.run(main))


if __name__ == "__main__":
    cli_main()
