"""Step 1 under FastChat's name: ``python -m llm_judge.gen_model_answer``; the command is :mod:`llm_judge.cli.gen_model_answer`."""
from .cli.gen_model_answer import build_parser, cli_main, main

__all__ = ["build_parser", "cli_main", "main"]

if __name__ == "__main__":
    cli_main()
