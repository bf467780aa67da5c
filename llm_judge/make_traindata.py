"""Judge-training data under its documented module name: ``python -m llm_judge.make_traindata``; the command is :mod:`llm_judge.cli.make_traindata`."""
from .cli.make_traindata import build_parser, cli_main, main

__all__ = ["build_parser", "cli_main", "main"]

if __name__ == "__main__":
    cli_main()
