"""What every command shares: logging set-up, and turning LlmJudgeError into one line and exit code 2."""
from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Callable, Sequence

from ..errors import LlmJudgeError


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr, force=True)
    for noisy in ("httpx", "httpcore", "urllib3", "filelock", "transformers", "accelerate"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def run(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> int:
    try:
        return main(argv)
    except LlmJudgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; rerun the same command to resume", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of our output went away (`show_result ... | head`): stop quietly, as Unix tools do.
        # stdout now points at /dev/null, so the interpreter's last flush cannot raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def add_data_args(parser: argparse.ArgumentParser, several_benches: bool = False) -> None:
    """--bench-name and --data-dir; with ``several_benches`` (show_result) bench_name is a list."""
    if several_benches:
        parser.add_argument("--bench-name", "--benchmark", dest="bench_name", nargs="+", default=["demo_bench"],
                            help="bench folder(s) under --data-dir, shown side by side (default: demo_bench)")
    else:
        parser.add_argument("--bench-name", "--benchmark", dest="bench_name", default="demo_bench",
                            help="bench folder under --data-dir (default: demo_bench)")
    parser.add_argument("--data-dir", default=None,
                        help="where benches live (default: ./data when present, else the bundled benches)")


def int_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse ``type`` for integers >= ``minimum``."""
    def parse(value: str) -> int:
        n = int(value)
        if n < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {n}")
        return n

    parse.__name__ = "int"  # argparse names the type in its error ("invalid int value: 'x'")
    return parse


positive_int = int_at_least(1)


def add_correction_args(p: argparse.ArgumentParser) -> None:
    """show_result's --human-labels and --calibration."""
    p.add_argument("--human-labels", metavar="FILE", default=None,
                   help="human verdicts (pairwise) or scores (single) on a random sample of the games, keyed like "
                        "the judgments: win rates, mean scores (and with --ratings, ratings) judge-only, human-only "
                        "and prediction-powered, with 95%% intervals (docs/results.md, Human-corrected results)")
    p.add_argument("--calibration", metavar="FILE", default=None,
                   help="with --verdict-rule pooled: the verdict probabilities through this map (eval_judge "
                        "calibrate's) first")


def add_wandb_args(parser: argparse.ArgumentParser, what: str, default_name: str) -> None:
    """--wandb and --wandb-run-name: ``what`` the command logs, ``default_name`` the run's name when none is given."""
    parser.add_argument("--wandb", action="store_true",
                        help=f"log {what} to a Weights & Biases run (project and entity from WANDB_PROJECT / "
                             "WANDB_ENTITY; WANDB_MODE=offline keeps it local); needs llm_judge[wandb]")
    parser.add_argument("--wandb-run-name", default=None, metavar="NAME",
                        help=f"the W&B run's name (default: {default_name})")


def add_lock_args(parser: argparse.ArgumentParser, what: str) -> None:
    """--wait and --share: what a run does when another run writes the same ``what`` (docs/api.md, Reliability)."""
    g = parser.add_argument_group("several runs writing the same files")
    g.add_argument("--wait", action="store_true",
                   help=f"when another run is writing the {what}, wait for it to finish (default: refuse, naming "
                        "its host and pid); with --share, wait only for a run without --share")
    g.add_argument("--share", action="store_true",
                   help=f"divide the {what} with the other runs given --share (on this machine or others sharing "
                        "the folder): each key is claimed before its calls and bought once; the keys of a run "
                        "that dies are finished by the others")


def lock_options(args: argparse.Namespace, chunk: int | None = 64) -> "LockOptions | None":
    """The --wait/--share flags as the stores take them (None for --dry-run, which writes nothing, not even a
    lock); ``chunk``: keys a --share run claims at a time."""
    from ..locks import LockOptions

    if getattr(args, "dry_run", False):
        return None
    return LockOptions(wait=args.wait, share=args.share, chunk=chunk)
