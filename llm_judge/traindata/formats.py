"""Rendering a JudgeRecord as a training example: the judge prompt a model will see, and its answer.

A *training format* is any object with ``name`` and ``messages(record) -> list[{role, content}]``
returning the system / user messages of a judge prompt followed by the assistant's target; it raises
:class:`Unrenderable` for a record it cannot express (a tie for a judge that has no ties), which the
pipeline skips and counts.

The built-in formats are the judge families of :mod:`llm_judge.judging.families` (``fastchat``, ``autoj``,
``judgelm``, ``pandalm``, ``prometheus``, or a family file's path): the family's prompts are filled
exactly as ``gen_judgment --judge-family`` fills them, so a judge trained on this data is prompted at
test time as it was in training. ``fastchat`` (alias ``ours``) uses our prompts, or ``--judge-file``,
with each record getting the built-in set of its own language, as ``gen_judgment`` picks by the bench's
language. The target states the verdict in the syntax of the prompt's ``output_format``, and is parsed
back with that format's verdict parser before it is kept: a target that would not read back as its own
label never reaches the data. Other formats can be added with :func:`register_format`.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

from ..errors import ConfigError
from ..judging.prompts import BUILTIN_SETS, JudgePrompt, PromptSet
from ..judging.verdicts import VerdictError, pair_parser, single_parser
from .rationale import is_japanese, rename
from .record import JudgeRecord

Messages = list[dict[str, str]]


class Unrenderable(ValueError):
    """This format cannot state this record's verdict (the reason is counted in the summary)."""


class TrainingFormat(Protocol):
    name: str

    def messages(self, record: JudgeRecord) -> Messages:
        """System and user messages of the judge prompt, then the assistant message to learn."""


_REGISTRY: dict[str, Callable[[str], TrainingFormat]] = {}


def register_format(name: str, factory: Callable[[str], TrainingFormat]) -> None:
    """Make ``--format NAME`` build ``factory(language)``."""
    _REGISTRY[name] = factory


def round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


def rescale(score: float, scale: tuple[float, float], to: tuple[float, float]) -> float:
    """Map a score linearly from one scale onto another (1-5 -> 1-10: 1->1, 3->5.5, 5->10)."""
    (lo, hi), (lo2, hi2) = scale, to
    return lo2 + (score - lo) * (hi2 - lo2) / (hi - lo)


def _join(rationale: str | None, verdict: str) -> str:
    return f"{rationale}\n\n{verdict}" if rationale else verdict


def _rating_line(prompt: JudgePrompt, score: float) -> str:
    """The line our and FastChat's prompts ask for: "Rating: [[5]]", in Japanese "評価：[[5]]"."""
    text = prompt.system_prompt + prompt.prompt_template
    lead = next((lead for lead in ("評価：[[", "Rating: [[") if lead in text), "[[")
    return f"{lead}{score:g}]]"


_DECISION = {"A": "Response 1", "B": "Response 2", "tie": "Tie"}
_MARK = {"A": "[[A]]", "B": "[[B]]", "tie": "[[C]]"}


@dataclass(frozen=True)
class Target:
    """How the answer of one output format is written: verdict syntax, scale, names of the responses."""

    write: Callable[[JudgeRecord, JudgePrompt, str | None, object], str]  # (record, prompt, rationale, verdict)
    names: tuple[str, str] | None = None  # how the prompt calls the two responses; None: by language (ours)
    scale: tuple[float, float] = (1.0, 10.0)
    halves: bool = False  # scores may be x.5 (else whole numbers)
    needs_scores: bool = False  # a pairwise verdict made of two scores
    ties: bool = True


def _pandalm(record: JudgeRecord, prompt: JudgePrompt, rationale: str | None, label: object) -> str:
    out = {"A": "1", "B": "2", "tie": "Tie"}[str(label)]
    if rationale:
        out += f"\n\n### Reason: {rationale}"
    if record.reference:
        out += f"\n\n### Reference: {record.reference}"
    return out


def _prometheus(record: JudgeRecord, prompt: JudgePrompt, rationale: str | None, verdict: object) -> str:
    shown = f"{verdict:g}" if isinstance(verdict, float) else str(verdict)
    return f"Feedback: {rationale} [RESULT] {shown}" if rationale else f"[RESULT] {shown}"


def _scores_first(record: JudgeRecord, prompt: JudgePrompt, rationale: str | None, verdict: object) -> str:
    scores = verdict if isinstance(verdict, list) else [verdict]
    line = " ".join(f"{s:g}" for s in scores)
    return f"{line}\n{rationale}" if rationale else line


# output_format of a prompt -> how its target is written. The names are what each family's prompts
# call the two responses, so a rationale that said "Response 1" reads "Assistant 1" under JudgeLM's.
TARGETS: dict[str, Target] = {
    "[[A]]": Target(lambda r, p, why, v: _join(why, _MARK[str(v)])),
    "[[rating_a,rating_b]]": Target(lambda r, p, why, v: _join(why, f"[[{v[0]:g}, {v[1]:g}]]"), needs_scores=True),
    "[[rating]]": Target(lambda r, p, why, v: _join(why, _rating_line(p, v))),
    "[[評価]]": Target(lambda r, p, why, v: _join(why, _rating_line(p, v))),
    "autoj-rating": Target(lambda r, p, why, v: _join(why, f"Rating: [[{v:g}]]"), halves=True),
    "autoj-decision": Target(lambda r, p, why, v: _join(why, f"So, the final decision is {_DECISION[str(v)]}"),
                             names=("Response 1", "Response 2")),
    "judgelm-score": Target(_scores_first),
    "judgelm-scores": Target(_scores_first, names=("Assistant 1", "Assistant 2"), needs_scores=True),
    "pandalm": Target(_pandalm, names=("Response 1", "Response 2")),
    "prometheus-absolute": Target(_prometheus, scale=(1.0, 5.0)),
    "prometheus-relative": Target(_prometheus, names=("Response A", "Response B"), ties=False),
}
_OUR_NAMES = {"en": ("Assistant A", "Assistant B"), "ja": ("アシスタントA", "アシスタントB")}


@dataclass
class PromptFormat:
    """A prompt set (one, or one per language) and the target writer of each prompt's output format."""

    name: str
    prompt_sets: dict[str, PromptSet]  # "en" / "ja" picked by the record's language, or "*" for all
    chat_template: str | None = None  # the family's wrapper as a Jinja chat template (None: the model's own)
    llamafactory_template: str | None = None  # the LLaMA-Factory template that reproduces that wrapper
    counts: Counter = field(default_factory=Counter)  # what rendering changed or skipped, for the summary

    def _prompt(self, record: JudgeRecord) -> JudgePrompt:
        sets = self.prompt_sets
        chosen = sets["*"] if "*" in sets else sets["ja" if is_japanese(record.question) else "en"]
        if len(record.history) > 1:
            raise Unrenderable("more than two turns")
        try:
            return chosen.get(record.pairwise, record.has_reference, bool(record.history))
        except ConfigError:
            kind = "pairwise" if record.pairwise else "single-answer"
            extra = " with a reference" if record.has_reference else ""
            turns = " for a second turn" if record.history else ""
            raise Unrenderable(f"the {self.name} prompts have no {kind} prompt{extra}{turns}") from None

    def _verdict(self, record: JudgeRecord, target: Target) -> object:
        if record.pairwise:
            if not target.ties and record.label == "tie":
                raise Unrenderable(f"a tie, which the {self.name} verdict cannot state")
            if not target.needs_scores:
                return record.label
            if not record.scores:
                raise Unrenderable(f"the {self.name} verdict needs two scores; the source gives only a winner")
            return [self._score(s, record.scale, target) for s in record.scores]
        return self._score(record.score if record.score is not None else 0.0, record.scale, target)

    def _score(self, score: float, scale: tuple[float, float], target: Target) -> float:
        if tuple(scale) != target.scale:
            score = rescale(score, scale, target.scale)
            self.counts[f"score rescaled {scale[0]:g}-{scale[1]:g} -> {target.scale[0]:g}-{target.scale[1]:g}"] += 1
        step = 2 if target.halves else 1
        rounded = round_half_up(score * step) / step
        if rounded != score:
            self.counts["score rounded to a whole number" if step == 1 else "score rounded to a half"] += 1
        return float(rounded)

    def messages(self, record: JudgeRecord) -> Messages:
        prompt = self._prompt(record)
        target = TARGETS.get(prompt.output_format)
        if target is None:
            raise ConfigError(f"no training target for output format {prompt.output_format!r} "
                              f"(prompt {prompt.name!r}; known: {', '.join(TARGETS)})")
        values = _values(record)
        out = prompt.messages(values)
        if record.rubric and "{rubric}" not in prompt.prompt_template:
            self.counts["rubric left out (the prompt has no place for it)"] += 1
        verdict = self._verdict(record, target)
        rationale = record.rationale.strip() if record.rationale else None
        if rationale and record.names:
            mine = target.names or _OUR_NAMES["ja" if is_japanese(prompt.system_prompt + prompt.prompt_template) else "en"]
            rationale = rename(rationale, dict(zip(record.names, mine)))
        content = target.write(record, prompt, rationale, verdict)
        _check_reads_back(prompt.output_format, record.pairwise, content, record.label if record.pairwise else verdict)
        return out + [{"role": "assistant", "content": content}]


def _values(record: JudgeRecord) -> dict[str, str]:
    """The placeholders of FastChat-format prompts, as judges/matches.py fills them for gen_judgment."""
    names = ["answer"] if len(record.responses) == 1 else ["answer_a", "answer_b"]
    if not record.history:
        values = {"question": record.question, **dict(zip(names, record.responses))}
        if record.reference is not None:
            values["ref_answer_1"] = record.reference
        return values
    values = {}
    turns = [(t.question, t.responses, t.reference) for t in record.history]
    turns.append((record.question, record.responses, record.reference))
    for i, (question, responses, reference) in enumerate(turns, 1):
        values[f"question_{i}"] = question
        values.update({f"{name}_{i}": text for name, text in zip(names, responses)})
        if reference is not None:
            values[f"ref_answer_{i}"] = reference
    return values


def _check_reads_back(output_format: str, pairwise: bool, content: str, expected: object) -> None:
    parse = pair_parser(output_format) if pairwise else single_parser(output_format)
    try:
        got = parse(content)
    except VerdictError as exc:
        raise Unrenderable(f"the target does not parse with the {output_format!r} parser ({exc})") from None
    if got != expected:
        raise Unrenderable(f"the target reads back as {got!r}, not {expected!r}")


def _language_sets(language: str, load: Callable[[str], PromptSet]) -> dict[str, PromptSet]:
    if language == "auto":
        return {lang: load(lang) for lang in BUILTIN_SETS}
    if language not in BUILTIN_SETS:
        raise ConfigError(f"no built-in judge prompts for language {language!r} (have: {', '.join(BUILTIN_SETS)}); "
                          "give --judge-file")
    return {"*": load(language)}


def _family_format(name: str, language: str, judge_file: str | Path | None) -> PromptFormat:
    from ..judging import families

    family = families.load_family(name)
    jf = str(judge_file) if judge_file else None
    if family.prompt_file is None and not jf:
        sets = _language_sets(language, lambda lang: family.prompt_set(None, None, lang, None, None))
    else:
        sets = {"*": family.prompt_set(jf, None, language if language != "auto" else "en", None, None)}
    wrapper = family.wrapper or ""
    template = "llama2" if wrapper.startswith("{bos}[INST]") else "empty" if wrapper == "{bos}{prompt}" else None
    return PromptFormat(family.name, sets, family.chat_template(), template)


def get_format(name: str = "fastchat", language: str = "auto", judge_file: str | Path | None = None) -> TrainingFormat:
    if name in _REGISTRY:
        if judge_file:
            raise ConfigError(f"--judge-file does not apply to the registered format {name!r}")
        return _REGISTRY[name](language)
    return _family_format(name, language, judge_file)
