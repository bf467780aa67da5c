"""Step 2 under FastChat's name: ``python -m llm_judge.gen_judgment``; the command is :mod:`llm_judge.cli.gen_judgment`."""
from .cli.gen_judgment import build_parser, cli_main, main

__all__ = ["build_parser", "cli_main", "main"]

if __name__ == "__main__":
    cli_main()
