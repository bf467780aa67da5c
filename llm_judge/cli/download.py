"""Fetch public benches and judge data sets into data/<name>/, every file's sha256 checked.

    python -m llm_judge download jp_bench [--with-answers] [--with-judgments] [--mirror DIR_OR_URL]
    python -m llm_judge download pandalm llmbar --with-judgments   data sets: data/pandalm/testset-v1.json, ...
    python -m llm_judge download --cache all                        every file into the download cache
    python -m llm_judge download --list                             the benches and data sets of the registry
    python -m llm_judge download mt_bench --with-answers --urls     upstream URL, mirror path, sha256 per file

Files come from their upstream repositories at pinned commits, or from a mirror: a local folder or base
URL holding each file at its registry ``mirror`` path (the layout of the download cache). Without --mirror,
a bench or data set that the download cache holds whole is copied from there. A folder never
holds a half-written file; an interrupted run resumes (see :mod:`llm_judge.benches.download`).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from .. import cli
from ..benches.cache import cache_dir, fill, is_filled
from ..benches.download import Outcome, absent_note, check_mirror, download_bench
from ..benches.registry import RegistryEntry, load_registry, registry_names
from ..judging.prompts import load_prompt_file


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="download", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("benches", nargs="*", metavar="BENCH",
                   help="bench(es) or data set(s) of the registry, 'all', or a registry .json file")
    p.add_argument("--with-answers", action="store_true", help="also the published model answers")
    p.add_argument("--with-judgments", action="store_true", help="also the published judgments")
    p.add_argument("--mirror", default=None,
                   help="a folder or http(s) base URL laid out like the download cache, instead of the upstream hosts")
    p.add_argument("--data-dir", default="data", help="where bench and data set folders go (default: ./data)")
    p.add_argument("--cache", action="store_true",
                   help="put every file (answers and judgments too) in the download cache instead, as upstream "
                        "publishes it: $LLM_JUDGE_CACHE/data, else ~/.cache/llm_judge/data; the tests read it")
    p.add_argument("--force", action="store_true", help="replace files that differ from the published ones")
    p.add_argument("--list", action="store_true", help="list the benches of the registry and stop")
    p.add_argument("--urls", action="store_true",
                   help="print upstream URL, mirror path and sha256 of each file (to build a mirror) and stop")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds to wait on a silent connection")
    p.add_argument("-v", "--verbose", action="store_true")
    return p


# ---- listing

def list_benches() -> str:
    lines = [f"{'name':18s} {'kind':8s} {'core':>5s} {'answers':>8s} {'judgments':>10s} {'MB':>6s}  description"]
    for name in registry_names():
        e = load_registry(name)
        mb = sum(f.size for f in e.files) / 1e6
        what = e.bench.get("description", "") if e.bench else e.description
        lines.append(f"{name:18s} {'bench' if e.is_bench else 'data set':8s} {e.count('core'):5d} "
                     f"{e.count('answers'):8d} {e.count('judgments'):10d} {mb:6.1f}  {what}")
    return "\n".join(lines)


def _selected(names: list[str]) -> list[RegistryEntry]:
    if "all" in names:
        names = registry_names()
    return [load_registry(n) for n in names]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    cli.setup_logging(args.verbose)
    if args.list:
        print(list_benches())
        return 0
    if not args.benches:
        parser.error("name a bench or data set (see --list)")
    entries = _selected(args.benches)  # every registry file is checked before anything is fetched
    if args.urls:
        for e in entries:
            for f in e.select(args.with_answers, args.with_judgments):
                print(f"{e.upstream_url(f)}\t{f.mirror}\t{f.sha256}")
        return 0
    check_mirror(args.mirror)
    if args.cache:
        for e in entries:
            out = fill(e, args.mirror, timeout=args.timeout)
            _report(e, out, cache_dir() / e.mirror_folder)
            for f in out.absent:
                print(absent_note(e, f, args.mirror, cache_dir() / f.mirror), file=sys.stderr)
        return 0
    data_dir = Path(args.data_dir)
    for e in entries:
        for part, asked in (("answers", args.with_answers), ("judgments", args.with_judgments)):
            if asked and not e.count(part) and "all" not in args.benches:
                print(f"note: {e.name} has no published {part} in the registry", file=sys.stderr)
        # an entry the download cache holds whole comes from there: no network needed
        mirror = args.mirror or (str(cache_dir()) if is_filled(e) else None)
        out = download_bench(e, data_dir, mirror, args.with_answers, args.with_judgments, args.force,
                             args.timeout, checks={"judge_prompts": load_prompt_file})
        _report(e, out, data_dir / e.name)
        for f in out.absent:
            print(absent_note(e, f, mirror, data_dir / e.name / f.dest), file=sys.stderr)
    return 0


def _report(e: RegistryEntry, out: Outcome, where: Path) -> None:
    print(f"{e.name}: {len(out.fetched)} files fetched ({out.bytes / 1e6:.1f} MB), {len(out.present)} already "
          f"in place -> {where}", file=sys.stderr)


def cli_main() -> None:
    sys.exit(cli.run(main))


if __name__ == "__main__":
    cli_main()
