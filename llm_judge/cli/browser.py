"""Build the results browser, one self-contained HTML page, and optionally serve it.

    python -m llm_judge browser --data-dir data --out site/            # writes site/index.html
    python -m llm_judge browser --data-dir data --out site/ --serve    # ...and serves it on 127.0.0.1:8000
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from .. import cli
from ..bench import default_data_dir, parse_model_list
from ..results.browser import build, serve


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="llm_judge browser", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=None, help="where benches live (default: ./data, else the bundled ones)")
    p.add_argument("--bench-name", nargs="+", default=None, help="only these benches (default: every bench)")
    p.add_argument("--model-list", nargs="+", default=None, help="only these models")
    p.add_argument("--out", default="site", help="output folder (default: site/)")
    p.add_argument("--serve", action="store_true", help="serve the folder over HTTP after building it")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    data_dir = Path(args.data_dir) if args.data_dir else default_data_dir()
    target = build(data_dir, Path(args.out), args.bench_name, parse_model_list(args.model_list))
    print(f"wrote {target} ({target.stat().st_size // 1024} KiB); open it in a browser", file=sys.stderr)
    if args.serve:
        serve(target.parent, args.host, args.port)
    return 0


def cli_main() -> None:
    sys.exit(cli.run(main))


if __name__ == "__main__":
    cli_main()
