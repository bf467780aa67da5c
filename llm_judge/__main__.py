"""``python -m llm_judge COMMAND [flags]``: one entry point for every command."""
from __future__ import annotations

import importlib
import sys

from . import cli

COMMANDS = {
    "gen_model_answer": "answer a bench's questions with a model (step 1)",
    "gen_judgment": "judge the answers (step 2)",
    "show_result": "tables of scores and win rates (step 3)",
    "eval_judge": "how well a judge agrees with human labels (PandaLM, LLMBar, Auto-J, MT-bench, JudgeLM sets)",
    "demo": "the three steps offline on the demo bench with the bundled model",
    "make_traindata": "judge-training data for LLaMA-Factory from published judgment sets and our judgments",
    "train_judge": "train a judge on make_traindata's output (sft, raft, raft+ce), measured before and after",
    "download": "fetch a public bench (mt_bench, jp_bench, ...), checksums verified",
    "browser": "a local web page to read questions, answers and judgments side by side",
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0].replace("-", "_") not in COMMANDS:
        print("usage: python -m llm_judge COMMAND [flags]\n\ncommands:")
        for name, what in COMMANDS.items():
            print(f"  {name:18s} {what}")
        return 0 if not argv or argv[0] in ("-h", "--help") else 2
    module = importlib.import_module(f"llm_judge.cli.{argv[0].replace('-', '_')}")
    return cli.run(module.main, argv[1:])


def cli_main() -> None:
    sys.exit(main())


if __name__ == "__main__":
    cli_main()
