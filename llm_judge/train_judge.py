"""``python -m llm_judge.train_judge``: the command is :mod:`llm_judge.cli.train_judge`."""
from .cli.train_judge import build_parser, cli_main, main

__all__ = ["build_parser", "cli_main", "main"]

if __name__ == "__main__":
    cli_main()
