"""Step 3 under FastChat's name: ``python -m llm_judge.show_result``; the command is :mod:`llm_judge.cli.show_result`."""
from .cli.show_result import build_parser, cli_main, main

__all__ = ["build_parser", "cli_main", "main"]

if __name__ == "__main__":
    cli_main()
