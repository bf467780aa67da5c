"""The offline demo: the three steps on the demo bench with the bundled SmolLM2-135M-Instruct.

    python -m llm_judge demo [--data-dir DIR] [--max-new-token 128]
    python -m llm_judge demo --quick          (the first 4 questions, 32 new tokens: a smoke test, as in CI)

Two "models" answer (the default model as it is, and the same model told to be brief), the same model
judges them in single and pairwise-all mode, and the tables are printed. A 135M-parameter model cannot
write a well-formed verdict after an explanation, so the demo judges with --judge-method distribution:
it reads the judge's probabilities for each rating directly. Rerunning resumes.

Exit code: 0 when every step succeeded; 1 when some model or judge calls failed (they are recorded,
and the demo still runs the later steps); 2 when a step could not run at all (the demo stops there).
"""
from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

from .. import cli
from . import gen_judgment, gen_model_answer, show_result

TERSE = "Answer in one or two short sentences."
QUICK_QUESTIONS = 4
QUICK_MAX_NEW_TOKEN = 32

Step = tuple[str, Callable[[Sequence[str] | None], int], list[str]]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="llm_judge demo", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--bench-name", default="demo_bench")
    p.add_argument("--max-new-token", type=cli.positive_int, default=None,
                   help=f"most new tokens per answer (default: 128; with --quick {QUICK_MAX_NEW_TOKEN})")
    p.add_argument("--first-n", type=cli.positive_int, default=None,
                   help=f"answer and judge only the first n questions (with --quick: {QUICK_QUESTIONS})")
    p.add_argument("--quick", action="store_true",
                   help=f"a smoke test: the first {QUICK_QUESTIONS} questions, {QUICK_MAX_NEW_TOKEN} new tokens")
    return p


def demo_steps(args: argparse.Namespace) -> list[Step]:
    """The commands the demo runs, in order, each as (name, main, argv)."""
    first_n = args.first_n or (QUICK_QUESTIONS if args.quick else None)
    tokens = str(args.max_new_token or (QUICK_MAX_NEW_TOKEN if args.quick else 128))
    common = ["--bench-name", args.bench_name] + (["--data-dir", args.data_dir] if args.data_dir else [])
    answer = common + ["--model-path", "default", "--max-new-token", tokens] + (
        ["--question-end", str(first_n)] if first_n else [])
    judge = common + ["--judge-model", "default", "--judge-method", "distribution"] + (
        ["--first-n", str(first_n)] if first_n else [])
    show = common + ["--judge-model", "default"]
    return [
        ("answer (default model)", gen_model_answer.main, answer),
        ("answer (terse)", gen_model_answer.main,
         answer + ["--model-id", "smollm2-135m-instruct-terse", "--system-prompt", TERSE]),
        ("judge single", gen_judgment.main, judge + ["--mode", "single"]),
        ("judge pairwise-all", gen_judgment.main, judge + ["--mode", "pairwise-all"]),
        ("show single", show_result.main, show + ["--mode", "single"]),
        ("show pairwise-all", show_result.main, show + ["--mode", "pairwise-all"]),
    ]


def run_steps(steps: list[Step]) -> int:
    """Run ``steps`` in order; the exit code is the worst step's.

    A step that could not run (2: bad input or settings; 130: interrupted) stops the demo: later steps
    need its output.
    A step with failed calls (1) wrote them as error records, so the later steps still run.
    """
    worst = 0
    for name, step, argv in steps:
        code = cli.run(step, argv)
        if code >= 2:  # 2: bad input or settings; 130: interrupted
            print(f"demo: step '{name}' exited with {code}; stopping", file=sys.stderr)
            return code
        if code:
            print(f"demo: step '{name}' exited with {code} (some calls failed; rerun the demo to retry them)",
                  file=sys.stderr)
        worst = max(worst, code)
    return worst


def main(argv: Sequence[str] | None = None) -> int:
    return run_steps(demo_steps(build_parser().parse_args(argv)))


def cli_main() -> None:
    sys.exit(cli.run(main))


if __name__ == "__main__":
    cli_main()
