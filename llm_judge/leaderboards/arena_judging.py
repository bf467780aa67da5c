"""Judging an Arena-Hard-Auto bench with our engines, by its protocol, into its judgment layout.

Its settings are its own files, as `download` fetches them: its judge configuration (``config/<bench>.yaml``
beside the bench or above it, else the one ``config/*.yaml`` in the bench folder naming a ``bench_name`` and
a ``prompt_template``, as ``download arena_hard_v2`` lays it out: judge, temperature, max_tokens, the verdict
patterns, the user prompt template with {QUESTION}, {ANSWER_A}, {ANSWER_B}) and upstream's
``utils/judge_utils.py`` (per category: the baseline and the judge's system prompt), which is read
as data (its string constants and its JUDGE_SETTINGS table), never run. Each question is judged in two games,
game 1 with the baseline as A; each game keeps the judge's text, the label read from it (None when there is
none) and the prompt; a failed call is a game with an ``error``. A rerun judges again only the questions
whose games lack a verdict.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from ..engines.base import ChatModel, GenRequest
from ..errors import ConfigError, InputError
from ..locks import StoreLock
from . import arena_files as files
from .arena_protocol import parse_verdict

if TYPE_CHECKING:
    from ..engines.config import EngineConfig

SETTINGS_FILE = "judge_utils.py"
# Upstream's table of baselines and system prompts at the commit the registry pins (sha256 cbb093f4...167b4).
JUDGE_TABLE_URL = ("https://raw.githubusercontent.com/lmarena/arena-hard-auto/"
                   "196f6b826783b3da7310e361a805fa36f0be83f3/utils/judge_utils.py")
_SLOT = re.compile(r"\{(QUESTION|ANSWER_A|ANSWER_B)\}")


@dataclass(frozen=True)
class ArenaSettings:
    judge: str
    temperature: float
    max_tokens: int
    patterns: tuple[str, ...]
    template: str
    categories: dict[str, tuple[str, str]]  # category -> (baseline, system prompt)


def _find(folder: Path, names: Sequence[str]) -> Path | None:
    for name in names:
        for base in (folder, folder.parent):
            if (base / name).is_file():
                return base / name
    return None


def read_judge_table(path: Path) -> dict[str, tuple[str, str]]:
    """JUDGE_SETTINGS of upstream's judge_utils.py, its names resolved to the module's string constants."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except SyntaxError as exc:
        raise InputError(path, f"not Python ({exc.msg})", exc.lineno) from None
    strings: dict[str, str] = {}
    table: ast.expr | None = None
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                strings[name] = node.value.value
            elif name == "JUDGE_SETTINGS":
                table = node.value

    def value(expr: ast.expr) -> Any:
        if isinstance(expr, ast.Name) and expr.id in strings:
            return strings[expr.id]
        if isinstance(expr, ast.Dict):
            return {value(k): value(v) for k, v in zip(expr.keys, expr.values) if k is not None}
        return ast.literal_eval(expr)

    if table is None:
        raise InputError(path, "defines no JUDGE_SETTINGS table", field="JUDGE_SETTINGS")
    try:
        raw = value(table)
    except ValueError:
        raise InputError(path, "must hold strings and names of string constants only", field="JUDGE_SETTINGS") \
            from None
    out = {}
    for cat, conf in raw.items():
        if not isinstance(conf, dict) or not all(isinstance(conf.get(k), str) for k in ("baseline", "system_prompt")):
            raise InputError(path, "needs a baseline and a system_prompt string", field=f"JUDGE_SETTINGS.{cat}")
        out[str(cat)] = (conf["baseline"], conf["system_prompt"])
    return out


def _judge_config(folder: Path) -> Path | None:
    """The bench's judge configuration: config/<bench>.yaml (upstream's naming), else the one yaml in the
    bench's own config/ that names a bench_name and a prompt_template."""
    import yaml

    named = _find(folder, [f"config/{folder.name}.yaml"])
    if named is not None:
        return named
    own = []
    for path in sorted((folder / "config").glob("*.yaml")):
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError:
            continue  # not a judge configuration: upstream's config/ also holds API settings
        if isinstance(raw, dict) and "bench_name" in raw and "prompt_template" in raw:
            own.append(path)
    if len(own) > 1:
        raise ConfigError(f"{folder}/config: {own[0].name} and {own[1].name} both configure a judge; keep the "
                          f"bench's own, or name it config/{folder.name}.yaml")
    return own[0] if own else None


def load_settings(folder: Path) -> ArenaSettings:
    import yaml

    config = _judge_config(folder)
    table = _find(folder, [SETTINGS_FILE, f"utils/{SETTINGS_FILE}", f"config/{SETTINGS_FILE}"])
    if config is None or table is None:
        if config is None:
            raise ConfigError(f"{folder}: judging Arena-Hard needs its judge configuration config/<bench>.yaml "
                              "(`python -m llm_judge download arena_hard_v2` or arena_hard_v0.1 fetches it)")
        raise ConfigError(f"{folder}: judging Arena-Hard needs upstream's utils/{SETTINGS_FILE} (its baselines and "
                          f"system prompts) beside the bench or above it; `python -m llm_judge download` without "
                          f"--mirror fetches it, or get it from {JUDGE_TABLE_URL}")
    raw = yaml.safe_load(config.read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or not isinstance(raw.get("prompt_template"), str):
        raise InputError(config, "needs a prompt_template string", field="prompt_template")
    patterns = raw.get("regex_patterns") or []
    if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns) or not patterns:
        raise InputError(config, "must be a list of regular expressions", field="regex_patterns")
    return ArenaSettings(judge=str(raw.get("judge_model", "")), temperature=float(raw.get("temperature", 0.0)),
                         max_tokens=int(raw.get("max_tokens", 4096)), patterns=tuple(patterns),
                         template=raw["prompt_template"], categories=read_judge_table(table))


def game_messages(settings: ArenaSettings, category: str, question: str, answer_a: str, answer_b: str
                  ) -> list[dict[str, str]]:
    values = {"QUESTION": question, "ANSWER_A": answer_a, "ANSWER_B": answer_b}
    user = _SLOT.sub(lambda m: values[m.group(1)], settings.template)
    return [{"role": "system", "content": settings.categories[category][1]}, {"role": "user", "content": user}]


def _settled(path: Path) -> dict[str, dict[str, Any]]:
    """The records of a judgment file whose two games both hold a verdict (kept on a rerun)."""
    import json

    if not path.is_file():
        return {}
    kept = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        games = rec.get("games") if isinstance(rec, dict) else None
        if isinstance(games, list) and len(games) == 2 and all(isinstance(g, dict) and g.get("score") for g in games):
            kept[rec.get("uid")] = rec
    return kept


def _game(settings: ArenaSettings, messages: list[dict[str, str]], result: Any) -> dict[str, Any]:
    if not result.ok:
        return {"score": None, "error": result.error, "prompt": messages}
    text = result.text or ""
    return {"score": parse_verdict(text, settings.patterns), "judgment": {"answer": text}, "prompt": messages}


def judge_model_answers(model: ChatModel, folder: Path, settings: ArenaSettings, names: Sequence[str],
                        judge_id: str, max_tokens: int | None = None, first_n: int | None = None
                        ) -> dict[str, tuple[int, int]]:
    """Judge each model's answers against its category's baseline, two games per question; per model the
    questions judged now and those still without both verdicts."""
    questions = files.read_questions(folder)
    answer_dir = folder / files.ANSWER_DIR
    unknown = sorted({q.category for q in questions} - set(settings.categories))
    if unknown:
        raise ConfigError(f"{folder}: no baseline or system prompt for category {unknown[0]!r} in {SETTINGS_FILE}")
    answers = {}
    for name in {b for b, _ in settings.categories.values() if (answer_dir / f"{b}.jsonl").is_file()} | set(names):
        path = answer_dir / f"{name}.jsonl"
        if not path.is_file():
            raise ConfigError(f"no answers of {name!r}: {path} does not exist")
        answers[name] = files.read_answers(path)
    summary = {}
    for name in names:
        out = folder / files.JUDGMENT_DIR / judge_id / f"{name}.jsonl"
        with StoreLock(out):  # one run judges a model's file at a time: a second refuses (locks.py)
            summary[name] = _judge_model(model, settings, questions[:first_n], questions, answers, name, out,
                                         judge_id, max_tokens)
    return summary


def _judge_model(model: ChatModel, settings: ArenaSettings, asked: list, questions: list, answers: dict, name: str,
                 out: Path, judge_id: str, max_tokens: int | None) -> tuple[int, int]:
    """One model's ``asked`` questions without both verdicts judged, and its file rewritten with every record."""
    kept, todo = _settled(out), []
    for q in asked:
        baseline = settings.categories[q.category][0]
        base, mine = answers.get(baseline, {}).get(q.uid), answers[name].get(q.uid)
        if q.uid in kept or base is None or mine is None:
            continue
        todo.append((q, baseline, game_messages(settings, q.category, q.prompt, base.answer, mine.answer),
                     game_messages(settings, q.category, q.prompt, mine.answer, base.answer)))
    requests = [GenRequest(msgs, max_new_tokens=max_tokens or settings.max_tokens,
                           temperature=settings.temperature) for t in todo for msgs in (t[2], t[3])]
    results = model.generate(requests)
    fresh = {}
    for i, (q, baseline, g1, g2) in enumerate(todo):
        fresh[q.uid] = {"uid": q.uid, "category": q.category, "judge": judge_id, "model": name,
                        "baseline": baseline, "games": [_game(settings, g1, results[2 * i]),
                                                        _game(settings, g2, results[2 * i + 1])]}
    records = [kept.get(q.uid) or fresh[q.uid] for q in questions if q.uid in kept or q.uid in fresh]
    files.write_judgments(out, records)
    return len(todo), sum(1 for r in records if not all(g.get("score") for g in r["games"]))


def run_judge(engine: "EngineConfig", folder: Path, models: Sequence[str] | None, judge_id: str,
              max_tokens: int | None = None, first_n: int | None = None) -> dict[str, tuple[int, int]]:
    """Open the judge and judge ``models`` (default: every answer file but the baselines')."""
    from ..engines.registry import open_engine

    settings = load_settings(folder)
    baselines = {b for b, _ in settings.categories.values()}
    names = list(models or [p.stem for p in sorted((folder / files.ANSWER_DIR).glob("*.jsonl"))
                            if p.stem not in baselines])
    if not names:
        raise ConfigError(f"{folder}: no answers to judge besides the baselines' ({files.ANSWER_DIR}/<model>.jsonl)")
    with open_engine(engine) as model:
        return judge_model_answers(model, folder, settings, names, judge_id, max_tokens, first_n)
