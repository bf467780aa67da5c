"""The offline demo: the three steps on the demo bench with the bundled SmolLM2-135M-Instruct.

    python -m llm_judge.demo [--data-dir DIR] [--max-new-token 128]

Two "models" answer (the default model as it is, and the same model told to be brief), the same model
judges them in single and pairwise-all mode, and the tables are printed. A 135M-parameter model cannot
write a well-formed verdict after an explanation, so the demo judges with --judge-method distribution:
it reads the judge's probabilities for each rating directly. Rerunning resumes.
"""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from .. import cli
from . import gen_judgment, gen_model_answer, show_result

TERSE = "Answer in one or two short sentences."


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="llm_judge demo", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--bench-name", default="demo_bench")
    p.add_argument("--max-new-token", type=int, default=128)
    p.add_argument("--first-n", type=int, default=None, help="judge only the first n questions")
    args = p.parse_args(argv)
    common = ["--bench-name", args.bench_name] + (["--data-dir", args.data_dir] if args.data_dir else [])
    judge = ["--judge-model", "default", "--judge-method", "distribution"] + (
        ["--first-n", str(args.first_n)] if args.first_n else [])
    steps = [
        (gen_model_answer.main, common + ["--model-path", "default", "--max-new-token", str(args.max_new_token)]),
        (gen_model_answer.main, common + ["--model-path", "default", "--model-id", "smollm2-135m-instruct-terse",
                                          "--system-prompt", TERSE, "--max-new-token", str(args.max_new_token)]),
        (gen_judgment.main, common + judge + ["--mode", "single"]),
        (gen_judgment.main, common + judge + ["--mode", "pairwise-all"]),
        (show_result.main, common + ["--judge-model", "smollm2-135m-instruct", "--mode", "single"]),
        (show_result.main, common + ["--judge-model", "smollm2-135m-instruct", "--mode", "pairwise-all"]),
    ]
    worst = 0
    for step, step_args in steps:
        code = step(step_args)
        if code == 2:
            return code
        worst = max(worst, code)  # 1: some calls failed; they are recorded and the demo goes on
    return 0


def cli_main() -> None:
    sys.exit(cli.run(main))


if __name__ == "__main__":
    cli_main()
