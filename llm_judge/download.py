"""Public benches under their documented module name: ``python -m llm_judge.download``; the command is :mod:`llm_judge.cli.download`."""
from .cli.download import build_parser, cli_main, main

__all__ = ["build_parser", "cli_main", "main"]

if __name__ == "__main__":
    cli_main()
