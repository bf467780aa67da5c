"""Which judgment files a result reads and how their verdicts are decided: a judge's file in a bench (named as
gen_judgment names it), a file or folder given, ja-vicuna-qa-benchmark's per-pair files, and a panel's
files, read and decided by the verdict rule, the panel combined (show_result, :func:`llm_judge.results`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from .. import layouts
from ..bench import Bench, BenchConfig, load_bench
from ..errors import ConfigError, InputError
from ..judging.families import load_family
from ..judging.judge_id import judge_ids, judgment_files, judgment_folder, judgment_path
from ..dedup import FirstValid
from ..records import Judgment, PairJudgment
from . import panel, verdict_rules
from .options import ResultOptions
from .stream import read_once


def _input_files(opts: ResultOptions, bench_name: str, mode: str, judge: int = 0) -> tuple[list[Path], str]:
    """The judgment files to read, and the mode to show them in.

    --input-file is one file, or a folder: then every judgment file of the mode's kind directly in it
    (``*_single.jsonl`` for single, ``*_pair.jsonl`` for the pairwise modes), or, in a folder without
    those, the files of ja-vicuna-qa-benchmark's layout under it (``single:*.jsonl``, ``pairwise:*.jsonl``:
    see llm_judge/layouts.py); single mode on a folder with pair files only shows those pairwise-all, as
    it does for one pair file. Without --input-file it is the file of the ``judge``-th --judge-model in the
    bench (its judge folder when bench.json sets ``judgment_layout`` to ja-vicuna), named exactly as
    gen_judgment names it.
    """
    if opts.input_file:
        path = Path(opts.input_file)
        return ([path], mode) if not path.is_dir() else _folder_files(path, mode)
    bench = load_bench(bench_name, opts.data_dir)
    judge_id = judge_ids(opts.judge_model, opts.judge_model_id)[judge]
    family, pairwise = load_family(opts.judge_family), mode != "single"
    if bench.config.judgment_layout == "ja-vicuna":
        folder = judgment_folder(bench.judgment_dir, judge_id, family, pairwise)
        files = layouts.judgment_files(folder, pairwise) if folder.is_dir() else []
        return files or [folder / layouts.file_name(["*", "*"] if pairwise else ["*"])], mode
    return [judgment_path(bench.judgment_dir, judge_id, family, pairwise)], mode


def _folder_files(folder: Path, mode: str) -> tuple[list[Path], str]:
    single, pair = judgment_files(folder, False), judgment_files(folder, True)
    if not single and not pair:  # no FastChat files: ja-vicuna-qa-benchmark's layout, if that is what it holds
        single, pair = layouts.judgment_files(folder, False), layouts.judgment_files(folder, True)
    if mode == "single" and (single or not pair):
        files = single
    else:
        files, mode = pair, ("pairwise-all" if mode == "single" else mode)
    if not files:
        kind = "single" if mode == "single" else "pair"
        raise InputError(folder, f"no judgment file (*_{kind}.jsonl) in this folder, nor ja-vicuna-qa-benchmark's "
                                 f"({kind.replace('pair', 'pairwise')}:*.jsonl) in it or its judge folders")
    return files, mode


def _read_judgments(paths: list[Path], folder: bool, counted: bool, seen: FirstValid) -> list[Judgment]:
    """The records of ``paths``, one per key (``seen`` counts the duplicates dropped, dedup.py); a folder's
    files must come from one judge (their scores do not mix).

    ``counted``: pairwise files are read in one streaming pass into counted records (results/stream.py),
    which every table, the ratings and the plots take; the W&B outputs table and the length term need each
    record whole, so they read typed records.
    """
    for path in paths:
        if not path.exists():
            raise InputError(path, f"no judgment file; run gen_judgment first (or pass --input-file){_present(path)}")
    records = read_once(paths, counted, seen)
    judges = sorted({r.judge_model for r in records})  # "" for a record naming no judge
    if folder and len(judges) > 1:
        raise ConfigError(f"{paths[0].parent}: the judgment files hold several judges ({', '.join(judges)}); "
                          "pass one judge's file with --input-file")
    return records


def _present(path: Path) -> str:
    """A hint naming the judgment files that do exist next to a missing one (a judge id that differs)."""
    found = sorted(p.name for p in path.parent.glob("*.jsonl")) if path.parent.is_dir() else []
    return f"; judgment files there: {', '.join(found)}" if found else ""


def find_bench(opts: ResultOptions, bench_name: str) -> Bench | None:
    """The bench the judgments belong to (categories, answers), or None when it cannot be found.

    With --input-file it is the folder holding question.jsonl above the file (FastChat's layout puts
    judgments in <bench>/model_judgment/), not --bench-name's default.
    """
    if opts.input_file:
        for folder in list(Path(opts.input_file).resolve().parents)[:4]:
            if (folder / "question.jsonl").exists():
                return load_bench(str(folder))
        return None
    try:
        return load_bench(bench_name, opts.data_dir)
    except ConfigError:
        return None


def baseline_of(opts: ResultOptions, mode: str, bench: Bench | None) -> str | None:
    if mode != "pairwise-baseline":
        return None
    if opts.baseline_model:
        return opts.baseline_model
    return (bench.config if bench else BenchConfig()).baseline_model


@dataclass
class Judged:
    """What the tables count, read from one judge's file or a panel's: the records with their verdicts
    decided (the verdict rule applied, the panel combined), and the judges' own records for the position
    tables, which show what each judge said in each order."""

    mode: str
    path: Path  # named in messages
    records: list[Judgment]
    own: list[Judgment]
    notes: list[str] = field(default_factory=list)  # the verdict rule and the panel, under every table
    panel: dict[str, list[Judgment]] | None = None  # a panel's judges: judge id -> its decided records
    dropped: str = ""  # how many duplicate records of a key were dropped (dedup.py), under every table


def read_judged(opts: ResultOptions, bench_name: str) -> Judged:
    """The judgments of the --judge-model (or --input-file), decided by --verdict-rule, combined by --panel."""
    ids = judge_ids(opts.judge_model, opts.judge_model_id)
    several = len(ids) > 1
    if several and opts.input_file:
        raise ConfigError("--input-file reads one judge's file; a panel reads each --judge-model's file in the "
                          "bench (give --bench-name/--data-dir instead)")
    if opts.panel and not several:
        raise ConfigError(f"--panel {opts.panel} combines several judges: give two or more --judge-model")
    read: dict[str, tuple[Path, list[Judgment]]] = {}
    modes = set()
    seen = FirstValid()
    for i, judge_id in enumerate(ids):
        paths, mode = _input_files(opts, bench_name, opts.mode, i)
        records = _read_judgments(paths, bool(opts.input_file) and Path(opts.input_file).is_dir(),
                                  not (several or opts.wandb or opts.length_control or opts.style_control
                                       or opts.human_labels), seen)
        if mode == "single" and any(isinstance(r, PairJudgment) for r in records):
            mode = "pairwise-all"
        modes.add(mode)
        read[judge_id] = (paths[0].parent if len(paths) > 1 else paths[0], records)
    if len(modes) > 1:
        raise ConfigError(f"the judges' files hold different kinds of judgments ({', '.join(sorted(modes))}); "
                          "a panel combines one kind")
    mode = modes.pop()
    pairwise = mode != "single"
    rule = opts.verdict_rule or "fastchat"
    verdict_rules.check(rule, pairwise, opts.tie_margin)
    if opts.calibration:
        cmap = verdict_rules.calibration_for(opts.calibration, rule)
        read = {j: (path, verdict_rules.calibrated(recs, cmap)) for j, (path, recs) in read.items()}
    decided = {j: verdict_rules.apply(recs, rule, path, opts.tie_margin) for j, (path, recs) in read.items()}
    own = [r for _, recs in read.values() for r in recs]
    notes = [f"verdict rule: {verdict_rules.describe(rule, opts.tie_margin, pairwise)}"] if opts.verdict_rule or several else []
    notes += [f"probabilities calibrated by {opts.calibration}"] if opts.calibration else []
    first_path, first = read[ids[0]][0], decided[ids[0]]
    if not several:
        return Judged(mode, first_path, first, own, notes, dropped=seen.note())
    rule = opts.panel or panel.default_rule(pairwise)
    panel.check(rule, pairwise)
    combined = panel.combine(decided, rule, opts.failed_games)
    return Judged(mode, first_path.parent, combined.records, own, notes + [combined.note()], decided, seen.note())
