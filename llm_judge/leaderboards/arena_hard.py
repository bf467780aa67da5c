"""The Arena-Hard-Auto bench: its leaderboard from a folder of judgments in its layout, per category and
overall, without and with style control (see arena_protocol.py, arena_scores.py, arena_style.py)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from ..errors import ConfigError, InputError, MissingDependency
from ..results.tables import Table
from . import arena_files as files
from .arena_protocol import STRONG_WEIGHT, question_battles
from .arena_style import answer_metadata, battle_features, counts, default_token_counter

COLUMNS = ["model", "score", "lower", "upper", "CI"]


@dataclass
class Battles:
    """The battles of a judgment folder, with the category and question of each, and what was dropped."""

    rows: list[tuple[str, str, str, str, float]] = field(default_factory=list)  # category, uid, model, baseline, score
    dropped: int = 0
    questions: int = 0


def is_arena_judgments(path: Path) -> bool:
    """A judgment file (or folder of them) in Arena-Hard's layout: records holding a ``games`` list."""
    import json

    candidates = [path] if path.is_file() else sorted(path.glob("*.jsonl")) or sorted(path.glob("*/*.jsonl"))
    for file in candidates[:1]:
        try:
            with file.open(encoding="utf-8") as fh:
                first = json.loads(fh.readline())
        except ValueError:  # not JSON, or not UTF-8 (UnicodeDecodeError): not Arena-Hard's; its reader names the fault
            return False
        return isinstance(first, dict) and "games" in first
    return False


def collect(paths: Sequence[Path], weight: int = STRONG_WEIGHT, models: Sequence[str] | None = None) -> Battles:
    out = Battles()
    for path in paths:
        for j in files.read_judgments(path):
            if models and j.model not in models:
                continue
            out.questions += 1
            scores = question_battles(j.scores, weight)
            if scores is None:
                out.dropped += 1
                continue
            out.rows.extend((j.category, j.uid, j.model, j.baseline, s) for s in scores)
    if not out.rows:
        raise InputError(paths[0], "holds no judged question with both games' verdicts")
    return out


def _groups(battles: Battles) -> list[tuple[str, list[tuple[str, str, str, str, float]]]]:
    cats = sorted({r[0] for r in battles.rows})
    groups = [(c, [r for r in battles.rows if r[0] == c]) for c in cats]
    return groups + ([("overall", battles.rows)] if len(cats) > 1 else [])


def _table(title: str, scores, baselines: set[str], note: str) -> Table:
    rows = [[s.model, s.score, s.lower, s.upper, s.interval] for s in scores]
    rows += [[b, 50.0, 50.0, 50.0, "(-0.0 / +0.0)"] for b in sorted(baselines)]
    rows.sort(key=lambda r: -r[1])
    return Table(title, list(COLUMNS), rows, note)


def leaderboard(paths: Sequence[Path], style: Callable[[str, str, str, str], tuple[float, ...]] | None = None,
                weight: int = STRONG_WEIGHT, seed: int = 0, models: Sequence[str] | None = None) -> list[Table]:
    """One table per category and one overall: Arena-Hard's default scores, or with ``style`` (a function of
    category, uid, model and baseline giving the battle's features) its style-controlled ones."""
    from .arena_scores import Battle, default_scores, style_controlled

    battles = collect(paths, weight, models)
    note = (f"{battles.dropped} of {battles.questions} questions dropped (a game without a verdict); "
            f"strong verdicts count {weight} battles")
    tables = []
    for name, rows in _groups(battles):
        baselines = {r[3] for r in rows}
        if style is None:
            scores = default_scores([Battle(m, b, s) for _, _, m, b, s in rows], seed=seed)
            tables.append(_table(f"Arena-Hard: {name}", scores, baselines, note + "; score: mean of 100 bootstrap "
                                 "means, 5th-95th percentile"))
            continue
        if len(baselines) > 1:
            continue  # a win probability against "the" baseline needs one
        feats = {(u, m): style(c, u, m, b) for c, u, m, b, _ in rows}
        scores, coefs = style_controlled([Battle(m, b, s, feats[(u, m)]) for _, u, m, b, s in rows], seed=seed)
        tables.append(_table(f"Arena-Hard: {name}, style-controlled", scores, baselines,
                             note + "; median win probability against the baseline over 100 bootstrap fits; feature "
                             "coefficients " + ", ".join(f"{v:.3f}" for v in coefs)))
    return tables


def answer_folder(paths: Sequence[Path]) -> Path:
    """``<bench>/model_answer`` for judgments at ``<bench>/model_judgment/<judge>/<model>.jsonl``."""
    for parent in paths[0].resolve().parents:
        if (parent / files.ANSWER_DIR).is_dir():
            return parent / files.ANSWER_DIR
    raise ConfigError(f"style control needs the answers, and no {files.ANSWER_DIR}/ was found above {paths[0]}")


def style_lookup(answer_dir: Path) -> Callable[[str, str, str, str], tuple[float, ...]]:
    """Battle features from the answers' metadata (computed from the answer text where a file has none)."""
    cache: dict[str, dict] = {}
    counter: list = []

    def meta(model: str, uid: str) -> tuple[float, ...]:
        if model not in cache:
            path = answer_dir / f"{model}.jsonl"
            if not path.is_file():
                raise ConfigError(f"style control needs {path} (the answers of {model})")
            cache[model] = files.read_answers(path)
        answer = cache[model].get(uid)
        if answer is None:
            raise ConfigError(f"style control: {model} has no answer to {uid!r} in {answer_dir}")
        if answer.metadata is None:
            if not counter:
                counter.append(default_token_counter()[0])
            return counts(answer_metadata(answer.answer, counter[0]))
        return counts(answer.metadata)

    return lambda category, uid, model, baseline: battle_features(meta(model, uid), meta(baseline, uid))


def leaderboard_tables(path: Path, style_control: bool = False, weight: int = STRONG_WEIGHT, seed: int = 0,
                       models: Sequence[str] | None = None) -> list[Table]:
    try:
        import numpy  # noqa: F401
    except ImportError:
        raise MissingDependency("numpy", "ratings") from None
    paths = files.judgment_files(path)
    style = style_lookup(answer_folder(paths)) if style_control else None
    return leaderboard(paths, style, weight, seed, models)


def arena_folder(name: str, data_dir: str | Path | None) -> Path | None:
    """The Arena-Hard bench ``name`` (a folder under ``data_dir``, or a path), or None when it is not one."""
    from ..bench import default_data_dir

    base = Path(data_dir) if data_dir is not None else default_data_dir()
    for path in (Path(name), base / name):
        if files.is_arena_bench(path):
            return path
    return None


def judge_folder(folder: Path, judges: Sequence[str]) -> Path:
    """``model_judgment/<judge>/`` of the bench: the first of ``judges`` present, else the only judge's folder."""
    root = folder / files.JUDGMENT_DIR
    for judge in judges:
        if (root / judge).is_dir():
            return root / judge
    present = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    if len(present) == 1:
        return root / present[0]
    raise ConfigError(f"{root}: no judgments of {', '.join(judges)}" + (
        f"; judges there: {', '.join(present)} (pass --judge-model)" if present else "; run gen_judgment first"))


def pair_records(paths: Sequence[Path], models: Sequence[str] | None = None) -> list:
    """The judgments as our pairwise records (model_1 the baseline, shown as A in game 1, as Arena-Hard's
    game 1 does), so that our ratings read them; a game without a verdict leaves its record failed."""
    from ..five_level import level_winner
    from ..records import JudgeName, PairJudgment
    from .arena_protocol import five_level

    out = []
    for path in paths:
        for j in files.read_judgments(path):
            if models and j.model not in models:
                continue
            levels = [five_level(s) for s in j.scores]
            winners = [level_winner(lv, g) if lv else None for lv, g in zip(levels, ("g1", "g2"))]
            out.append(PairJudgment(question_id=j.uid, model_1=j.baseline, model_2=j.model, g1_winner=winners[0],
                                    g2_winner=winners[1], judge=JudgeName(j.judge, "arena-hard"), category=j.category,
                                    g1_verdict=levels[0], g2_verdict=levels[1]))
    return out


def our_ratings(path: Path, bootstrap: int, seed: int = 0, weight: int = STRONG_WEIGHT,
                models: Sequence[str] | None = None) -> Table:
    """Our Bradley-Terry ratings (Elo scale, 95% bootstrap intervals) on the same judgments."""
    from ..results.report import ratings_table
    from ..results.ratings import rate

    records = pair_records(files.judgment_files(path), models)
    failed = sum(1 for r in records if r.failed)
    table = ratings_table(rate(records, None, None, bootstrap, seed, strong_weight=weight))
    table.note = "; ".join(n for n in (table.note, f"{failed} questions without both verdicts left out") if n)
    return table
