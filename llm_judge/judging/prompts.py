"""Judge prompts as files, in FastChat's ``judge_prompts.jsonl`` format, and their rendering.

A prompt set maps FastChat's prompt names to prompts. Which prompt a judgment uses depends on the
mode (single or pairwise), whether the question needs a reference answer, and the turn; the role names
below are the keys of a bench's ``prompt_names`` override (jp_bench's later prompts are called ``pair``,
``single-math`` ... instead of ``pair-v2``, ``single-math-v1``).

Rendering substitutes ``{field}`` once, left to right, in the template only: text inside an answer is
never scanned again, so an answer containing ``{answer_b}`` or ``[[A]]`` cannot change the prompt.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from ..errors import ConfigError, InputError
from ..jsonl import iter_jsonl
from .verdicts import CRITERIA_FORMAT, OVERALL

PROMPT_DIR = Path(__file__).resolve().parent.parent / "prompts"
BUILTIN_SETS = {"en": PROMPT_DIR / "judge_en.jsonl", "ja": PROMPT_DIR / "judge_ja.jsonl"}

# role -> FastChat's prompt name
DEFAULT_NAMES = {
    "single": "single-v1",
    "single-math": "single-math-v1",
    "single-multi-turn": "single-v1-multi-turn",
    "single-math-multi-turn": "single-math-v1-multi-turn",
    "pair": "pair-v2",
    "pair-math": "pair-math-v1",
    "pair-multi-turn": "pair-v2-multi-turn",
    "pair-math-multi-turn": "pair-math-v1-multi-turn",
}

# role -> our prompt for a question with its own criteria (single mode only). A prompt set without the
# role's prompt judges such a question with the role's plain prompt (matches.py counts them).
CRITERIA_NAMES = {
    "single-criteria": "single-criteria-v1",
    "single-criteria-math": "single-criteria-math-v1",
    "single-criteria-multi-turn": "single-criteria-v1-multi-turn",
    "single-criteria-math-multi-turn": "single-criteria-math-v1-multi-turn",
}

_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_TOKEN = re.compile(r"\{\{|\}\}|" + _FIELD.pattern)  # what render replaces, tried in this order at each place
REQUIRED_KEYS = ("name", "type", "prompt_template", "output_format")


@dataclass(frozen=True)
class JudgePrompt:
    name: str
    type: str  # "single" or "pairwise"
    system_prompt: str
    prompt_template: str
    output_format: str  # "[[rating]]", "[[A]]", ...: selects the verdict parser
    category: str = "general"
    description: str = ""
    # criteria-scores prompts: (record key, the name the judge writes) per criterion, "overall" last
    scores: tuple[tuple[str, str], ...] = ()

    @property
    def takes_criteria(self) -> bool:
        """Whether the prompt shows a question's own criteria (and its scale)."""
        return "criteria" in self.fields

    @property
    def fields(self) -> set[str]:
        return set(_FIELD.findall(self.prompt_template))

    def render(self, values: Mapping[str, str]) -> str:
        """Fill ``{field}`` placeholders in one pass; values are inserted as they are, never re-read.

        ``{{`` and ``}}`` stand for literal braces, as in ``str.format``. A placeholder with no value
        is an error, so a prompt that expects a reference answer never goes out without one.
        """
        missing = self.fields - set(values)
        if missing:
            raise ConfigError(f"judge prompt {self.name!r} needs {', '.join(sorted(missing))}")
        # One regex pass (a 1,600-judgment run renders 1,600 prompts before its first call).
        return _TOKEN.sub(lambda m: str(values[m.group(1)]) if m.group(1) else m.group(0)[0], self.prompt_template)

    def messages(self, values: Mapping[str, str]) -> list[dict[str, str]]:
        user = self.render(values)
        msgs = []
        if self.system_prompt:
            msgs.append({"role": "system", "content": self.system_prompt})
        msgs.append({"role": "user", "content": user})
        return msgs


def load_prompt_file(path: str | Path) -> dict[str, JudgePrompt]:
    path = Path(path)
    prompts: dict[str, JudgePrompt] = {}
    for lineno, obj in iter_jsonl(path):
        if not isinstance(obj, dict):
            raise InputError(path, "expected a JSON object", lineno)
        for key in REQUIRED_KEYS:
            if not isinstance(obj.get(key), str) or not obj.get(key):
                raise InputError(path, "is missing or not a string", lineno, key)
        if obj["type"] not in ("single", "pairwise"):
            raise InputError(path, f"must be 'single' or 'pairwise', not {obj['type']!r}", lineno, "type")
        prompts[obj["name"]] = JudgePrompt(
            name=obj["name"], type=obj["type"], system_prompt=obj.get("system_prompt") or "",
            prompt_template=obj["prompt_template"], output_format=obj["output_format"],
            category=obj.get("category") or "general", description=obj.get("description") or "",
            scores=_scores(path, lineno, obj))
    if not prompts:
        raise InputError(path, "holds no judge prompts")
    return prompts


def _scores(path: Path, lineno: int, obj: dict) -> tuple[tuple[str, str], ...]:
    """A criteria-scores prompt's ``scores``: {record key: name the judge writes}, with "overall"."""
    value = obj.get("scores")
    if obj["output_format"] != CRITERIA_FORMAT:
        if value is not None:
            raise InputError(path, f"belongs to output format {CRITERIA_FORMAT!r} only", lineno, "scores")
        return ()
    if not (isinstance(value, dict) and value and all(isinstance(k, str) and k and isinstance(v, str) and v
                                                      for k, v in value.items())):
        raise InputError(path, "must map each criterion's key to the name the judge writes", lineno, "scores")
    if OVERALL not in value:
        raise InputError(path, f"must include {OVERALL!r} (the record's score)", lineno, "scores")
    names = [n for kv in value.items() for n in {x.casefold() for x in kv}]  # a line may name either
    if len(names) != len(set(names)) or any(ch in n for n in names for ch in ":：[]*"):
        raise InputError(path, "names must differ and hold no ':', '[', ']' or '*'", lineno, "scores")
    return tuple(value.items())


@dataclass
class PromptSet:
    """The prompts one judging run uses, with the role -> name mapping that picks among them."""

    prompts: dict[str, JudgePrompt]
    names: dict[str, str]
    source: str
    # False: ``names`` is the whole mapping (a family's roles); True: FastChat's names fill in the rest
    defaults: bool = True

    def get(self, pairwise: bool, reference: bool, multi_turn: bool) -> JudgePrompt:
        role = ("pair" if pairwise else "single") + ("-math" if reference else "") + ("-multi-turn" if multi_turn else "")
        name = self.names.get(role, DEFAULT_NAMES[role] if self.defaults else "")
        if self.defaults and name not in self.prompts and DEFAULT_NAMES[role] in self.prompts:
            # a --judge-file with FastChat's names on a bench whose own file renames them (jp_bench's two sets)
            name = DEFAULT_NAMES[role]
        prompt = self.prompts.get(name)
        if prompt is None:
            raise ConfigError(f"{self.source} has no judge prompt named {name!r} (needed for {role}); "
                              f"it has: {', '.join(self.prompts)}")
        return prompt

    def criteria_prompt(self, reference: bool, multi_turn: bool) -> JudgePrompt | None:
        """The single-mode prompt for a question with its own criteria, or None when the set has none."""
        role = "single-criteria" + ("-math" if reference else "") + ("-multi-turn" if multi_turn else "")
        prompt = self.prompts.get(self.names.get(role, CRITERIA_NAMES[role] if self.defaults else ""))
        if prompt is not None and not (prompt.type == "single" and prompt.takes_criteria):
            raise ConfigError(f"{self.source}: the {role} prompt {prompt.name!r} must be a single prompt "
                              "with a {criteria} field")
        return prompt

    def check(self, pairwise: bool, reference: bool, multi_turn: bool) -> None:
        """Fail before any work starts if a prompt the run will need is missing."""
        for ref in ([False, True] if reference else [False]):
            for mt in ([False, True] if multi_turn else [False]):
                self.get(pairwise, ref, mt)


def load_prompt_set(judge_file: str | Path | None, bench_setting: str | None, language: str,
                    bench_dir: Path | None = None, names: Mapping[str, str] | None = None) -> PromptSet:
    """``--judge-file`` wins, then the bench's ``judge_prompts`` setting, then the built-in set for its language."""
    if judge_file:
        path = Path(judge_file)
    elif bench_setting:
        path = BUILTIN_SETS.get(bench_setting) or ((bench_dir or Path(".")) / bench_setting)
    else:
        path = BUILTIN_SETS.get(language, BUILTIN_SETS["en"])
    return PromptSet(load_prompt_file(path), dict(names or {}), str(path))

