"""Judge meta-evaluation under its documented module name: ``python -m llm_judge.eval_judge``; the command is :mod:`llm_judge.cli.eval_judge`."""
from .cli.eval_judge import build_parser, cli_main, main

__all__ = ["build_parser", "cli_main", "main"]

if __name__ == "__main__":
    cli_main()
