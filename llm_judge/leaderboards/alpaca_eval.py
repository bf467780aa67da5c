"""The AlpacaEval 2.0 bench: its folder, its leaderboard table, and annotating models' outputs into its layout.

A bench folder (``download alpaca_eval`` writes one; a checkout of tatsu-lab/alpaca_eval's ``results/`` works
too) holds ``results/<model>/model_outputs.json`` for the baseline and each model, the annotator's
``evaluators_configs/``, and, for the length-controlled win rate, ``instruction_difficulty.csv`` and
``df_gamed.csv``. Annotations go to ``results/<model>/<annotator>/annotations.json``, as AlpacaEval writes them.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from ..engines.base import ChatModel
from ..errors import ConfigError, InputError, LlmJudgeError, MissingDependency
from ..locks import StoreLock
from ..results.tables import Table
from . import alpaca_files as files
from .alpaca_annotator import annotate, load_annotator
from .alpaca_metrics import average_length, win_rate

if TYPE_CHECKING:
    from ..engines.config import EngineConfig

CONFIGS_DIR = "evaluators_configs"
COLUMNS = ["model", "length_controlled_winrate", "lc_standard_error", "win_rate", "standard_error", "n_wins",
           "n_wins_base", "n_draws", "n_total", "discrete_win_rate", "avg_length"]


def bench_folder(name: str, data_dir: str | Path | None) -> Path | None:
    """The AlpacaEval bench ``name`` (a folder under ``data_dir``, or a path), or None when it is not one."""
    from ..bench import default_data_dir

    base = Path(data_dir) if data_dir is not None else default_data_dir()
    for path in (Path(name), base / name):
        if (path / "results" / files.BASELINE / files.OUTPUTS_FILE).is_file():
            return path
    return None


def is_annotations(path: Path) -> bool:
    """Whether ``path`` is an AlpacaEval annotations file or a results folder holding some."""
    if path.is_file():
        return path.name == files.ANNOTATIONS_FILE
    name = files.ANNOTATIONS_FILE  # <model>/<annotator>/ under a results folder, or <annotator>/ of one model
    return path.is_dir() and (any(path.glob(f"*/*/{name}")) or any(path.glob(f"*/{name}")))


def _length_folder(path: Path) -> Path:
    """Where the GLM's files are looked for: the nearest folder above ``path`` holding the difficulty file,
    else the folder above ``results/``."""
    from .alpaca_lc import DIFFICULTY_FILE

    parents = [path] + list(path.resolve().parents) if path.is_dir() else list(path.resolve().parents)
    for folder in parents:
        if (folder / DIFFICULTY_FILE).is_file():
            return folder
    results = next((p for p in parents if p.name == "results"), None)
    return results.parent if results is not None else parents[0]


def leaderboard_rows(path: Path, annotator: str = files.ANNOTATOR) -> tuple[list[dict[str, Any]], str]:
    """One leaderboard row per annotations file of ``annotator`` under ``path`` (sorted as the leaderboard: LC,
    else win rate), and a note: why the length-controlled columns are empty, when they are."""
    sets = files.annotation_sets(path)
    if annotator not in sets:
        raise InputError(path, f"holds no annotations of {annotator} (annotators there: {', '.join(sets)})")
    found = sets[annotator]
    try:
        from .alpaca_lc import LengthControlMissing, length_controlled, load_length_control
    except ImportError:
        raise MissingDependency("numpy", "ratings") from None
    try:
        lc_data = load_length_control(_length_folder(path))
        note = ""
    except LengthControlMissing as exc:
        lc_data, note = None, str(exc)
    rows = []
    for file in found:
        ann = files.read_annotations(file)
        row: dict[str, Any] = {"model": ann[0].generator_2 if ann else file.parent.parent.name}
        row.update(vars(win_rate([a.preference for a in ann])))
        row["avg_length"] = average_length(ann)
        lc = length_controlled(ann, lc_data) if lc_data is not None else None
        row["length_controlled_winrate"] = lc.win_rate if lc else None
        row["lc_standard_error"] = lc.standard_error if lc else None
        rows.append(row)
    key = "length_controlled_winrate" if lc_data is not None else "win_rate"
    rows.sort(key=lambda r: -r[key])
    return rows, note


def leaderboard_tables(path: Path) -> list[Table]:
    """One leaderboard table per annotator under ``path`` (AlpacaEval's own first)."""
    tables = []
    for annotator in files.annotation_sets(path):
        rows, note = leaderboard_rows(path, annotator)
        tables.append(Table(f"AlpacaEval 2.0 ({annotator})", list(COLUMNS), [[r[c] for c in COLUMNS] for r in rows],
                            note))
    return tables


def annotate_models(model: ChatModel, folder: Path, models: Sequence[str], distribution: bool, judge_id: str,
                    annotator: str = files.ANNOTATOR, first_n: int | None = None) -> dict[str, tuple[int, int]]:
    """Annotate each model's outputs against the baseline's; (annotated, failed) per model. A model already
    annotated keeps its records; its failed ones are asked again."""
    config = load_annotator(folder / CONFIGS_DIR, annotator)
    baseline = files.read_outputs(folder / "results" / files.BASELINE / files.OUTPUTS_FILE)
    summary = {}
    for name in models:
        source = folder / "results" / name / files.OUTPUTS_FILE
        if not source.is_file():
            raise ConfigError(f"no outputs for {name!r}: {source} does not exist (write them with gen_model_answer)")
        outputs = files.read_outputs(source)
        tag = files.annotator_folder(annotator, config.judge, judge_id)
        target = folder / "results" / name / tag / files.ANNOTATIONS_FILE
        with StoreLock(target):  # one run annotates a model's file at a time: a second refuses (locks.py)
            kept = _kept(target)
            todo = [b for b in baseline[:first_n] if b.instruction not in kept]
            fresh = {r["instruction"]: dict(r, annotator=tag)
                     for r in annotate(model, todo, outputs, config, distribution)} if todo else {}
            records = [kept.get(b.instruction) or fresh[b.instruction] for b in baseline
                       if b.instruction in kept or b.instruction in fresh]
            files.write_json_list(target, records)
        summary[name] = (len(fresh), sum(1 for r in records if r.get("error")))
    return summary


def _kept(path: Path) -> dict[str, dict[str, Any]]:
    if not path.is_file():
        return {}
    try:
        records = files.read_json_list(path)
    except LlmJudgeError:
        return {}
    return {r["instruction"]: r for r in records
            if isinstance(r.get("instruction"), str) and r.get("preference") is not None and not r.get("error")}


def run_annotator(engine: "EngineConfig", folder: Path, models: Sequence[str] | None, judge_id: str,
                  annotator: str = files.ANNOTATOR, first_n: int | None = None) -> dict[str, tuple[int, int]]:
    """Open the judge and annotate ``models`` (default: every model with outputs but the baseline): an API
    judge through its top log-probs, a local judge through its label probabilities (distribution judging)."""
    from ..engines.registry import open_engine
    from ..judging.api_distribution import check_provider

    check_provider(engine)
    names = list(models or [p.parent.name for p in sorted((folder / "results").glob(f"*/{files.OUTPUTS_FILE}"))
                            if p.parent.name != files.BASELINE])
    if not names:
        raise ConfigError(f"{folder}: no model outputs to annotate besides the baseline's (results/<model>/"
                          f"{files.OUTPUTS_FILE})")
    with open_engine(engine) as model:
        return annotate_models(model, folder, names, not engine.is_api, judge_id, annotator=annotator,
                               first_n=first_n)
