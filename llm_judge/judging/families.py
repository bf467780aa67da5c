"""Judge families as data: each open judge's prompt layout, verdict parser, generation settings and wrapper.

A family is a JSON file in ``prompts/families/`` (or any path given to ``--judge-family``)::

    {"name": "autoj", "modes": ["single", "pairwise"],
     "prompts": "autoj.jsonl",                 # FastChat judge_prompts.jsonl format; null = the bench's or built-in
     "roles": {"single": "autoj-single", ...}, # role (see prompts.DEFAULT_NAMES) -> prompt name
     "wrapper": "{bos}[INST] {prompt} [/INST]",  # optional: replaces the judge's chat template
     "generation": {"max_new_tokens": 1024, "temperature": 0.0},
     "distribution": {"single": {"prefill": "Rating: [[", "labels": {"range": [1, 10]}, "suffix": "]]"},
                      "pairwise": {...}},
     "verdict_stop": {"single": ["]]"], "pairwise": ["decision is Response 1", ...]}}

Each prompt's ``output_format`` names its verdict parser (judges/verdicts.py). The distribution settings
say what to prefill and which labels to read for score-distribution judging; each label, written out as
prefill + label + suffix, must parse with the family's parser, which is how a label gets its meaning
(a score, or A / B / tie) — checked when the family loads.

``prompts`` may also name a file per bench language, ``{"en": "five-level_en.jsonl", "ja": ...}``: the
bench's language picks one (English for any other), and the roles must name prompts of every file.

``verdict_stop`` (optional) lists, per mode, the strings that complete the family's verdict marker. With
``--stop-at-verdict`` a generated judgment stops at the first of them instead of running on; a family
without them cannot be asked to stop early.
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..errors import ConfigError, InputError
from ..engines.base import GenRequest
from .prompts import (BUILTIN_SETS, CRITERIA_NAMES, DEFAULT_NAMES, PROMPT_DIR, JudgePrompt, PromptSet,
                      load_prompt_file, load_prompt_set)
from .verdicts import VerdictError, pair_parser, single_parser

FAMILY_DIR = PROMPT_DIR / "families"
DEFAULT_FAMILY = "fastchat"
# Earlier names of built-in families: judgment summaries, training data and flags written with them still load.
ALIASES = {"ours": "fastchat"}
MODE_KINDS = ("single", "pairwise")


@dataclass(frozen=True)
class DistributionSpec:
    """What score-distribution judging reads for one mode: labels after a prefill, each then a suffix."""

    labels: tuple[str, ...]
    prefill: str | Mapping[str, str] = ""  # a mapping picks by bench language ("en" is the fallback)
    suffix: str = ""
    formats: tuple[str, ...] | None = None  # output formats it applies to; None: the family's own

    def prefill_for(self, language: str) -> str:
        if isinstance(self.prefill, str):
            return self.prefill
        return self.prefill.get(language, self.prefill.get("en", ""))

    def texts(self, language: str) -> dict[str, str]:
        """Each label as the judge would write it."""
        pre = self.prefill_for(language)
        return {label: pre + label + self.suffix for label in self.labels}


@dataclass(frozen=True)
class JudgeFamily:
    name: str
    description: str
    modes: tuple[str, ...]
    prompt_file: Path | None  # None: our prompts (the bench's judge_prompts, else built-in per language)
    roles: Mapping[str, str]
    generation: Mapping[str, Any]
    distribution: Mapping[str, tuple[DistributionSpec, ...]]  # per mode, one spec per verdict format
    wrapper: str | None = None
    source: str = ""
    prompts: Mapping[str, JudgePrompt] = field(default_factory=dict)
    verdict_stop: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # per mode kind
    # a prompt file per bench language ({"en": ..., "ja": ...}); prompt_file and prompts are the "en" one's
    by_language: Mapping[str, tuple[Path, Mapping[str, JudgePrompt]]] = field(default_factory=dict)

    def check_mode(self, mode: str) -> None:
        kind = "single" if mode == "single" else "pairwise"
        if kind not in self.modes:
            raise ConfigError(f"judge family {self.name!r} judges {' and '.join(self.modes)} only, not --mode {mode}")

    def prompt_set(self, judge_file: str | None, bench_setting: str | None, language: str, bench_dir: Path | None,
                   bench_names: Mapping[str, str] | None) -> PromptSet:
        """The family's prompts; ``--judge-file`` replaces the prompt file (the family's roles still apply)."""
        if self.prompt_file is None and not self.roles:
            return load_prompt_set(judge_file, bench_setting, language, bench_dir, bench_names)
        # Roles naming prompts of ours (multi-criteria) never fall back to FastChat's names: a file without
        # them must not be judged silently with plain single-score prompts.
        ours = self.prompt_file is None
        if judge_file:
            return PromptSet(load_prompt_file(judge_file), dict(self.roles), str(judge_file), defaults=not ours)
        if ours:
            # the built-in set of the bench's language, whatever prompt file the bench names for plain judging
            builtin = load_prompt_set(None, None, language)
            return PromptSet(builtin.prompts, dict(self.roles), builtin.source, defaults=False)
        path, prompts = self.by_language.get(language, (self.prompt_file, self.prompts))
        return PromptSet(dict(prompts), dict(self.roles), str(path))

    @property
    def max_new_tokens(self) -> int:
        """The family's token budget for a generated judgment."""
        return int(self.generation.get("max_new_tokens", 2048))

    def request(self, messages: list[dict[str, str]], max_new_tokens: int | None = None,
                stop: list[str] | None = None) -> GenRequest:
        """A generation request with the family's settings (``max_new_tokens`` from the command line wins);
        ``stop``: strings that end the judgment early (``stop_strings``)."""
        g = self.generation
        return GenRequest(messages=messages, max_new_tokens=max_new_tokens or self.max_new_tokens,
                          temperature=float(g.get("temperature", 0.0)), top_p=float(g.get("top_p", 1.0)),
                          repetition_penalty=float(g.get("repetition_penalty", 1.0)), stop=stop)

    def stop_strings(self, pairwise: bool) -> list[str]:
        """The strings that complete this family's verdict in ``pairwise`` or single judging."""
        kind = "pairwise" if pairwise else "single"
        stops = self.verdict_stop.get(kind)
        if not stops:
            raise ConfigError(f"judge family {self.name!r} has no verdict_stop for {kind} judging, so "
                              "--stop-at-verdict cannot tell when its verdict is complete")
        return list(stops)

    def distribution_request(self, prompt: JudgePrompt, pairwise: bool, messages: list[dict[str, str]],
                             language: str, scale: tuple[int, int] | None = None) -> GenRequest:
        """``scale``: a question's own range (criteria prompts); its whole numbers become the labels."""
        kind = "pairwise" if pairwise else "single"
        specs = self.distribution.get(kind, ())
        if not specs:
            raise ConfigError(f"judge family {self.name!r} has no score-distribution settings for {kind} judging")
        spec = next((s for s in specs if s.formats is None or prompt.output_format in s.formats), None)
        if spec is None:
            known = [f for s in specs for f in s.formats or ()]
            raise ConfigError(f"distribution judging with family {self.name!r} needs a {kind} prompt with output "
                              f"format {' or '.join(known)}; {prompt.name!r} has {prompt.output_format!r}")
        labels = list(spec.labels)
        if scale is not None and not pairwise:
            labels = [str(v) for v in range(scale[0], scale[1] + 1)]
            if not spec.suffix and any(b != a and b.startswith(a) for a in labels for b in labels):
                raise ConfigError(f"distribution judging with family {self.name!r} cannot read scores "
                                  f"{scale[0]}-{scale[1]}: its verdict has no closing mark after the number, so "
                                  f"'1' would also count every score starting with 1")
        return GenRequest(messages, max_new_tokens=1, prefill=spec.prefill_for(language),
                          score_choices=labels, score_suffix=spec.suffix)

    def chat_template(self) -> str | None:
        """The wrapper as a Jinja chat template: system and user text joined, then wrapped; None: the model's own."""
        if not self.wrapper:
            return None
        before, after = self.wrapper.split("{prompt}")
        joined = ("{% for m in messages %}{% if m['role'] != 'assistant' %}{% if not loop.first %}{{ '\\n\\n' }}"
                  "{% endif %}{{ m['content'] }}{% endif %}{% endfor %}")
        return (before.replace("{bos}", "{{ bos_token or '' }}") + joined +
                after.replace("{bos}", "{{ bos_token or '' }}"))

    def output_name(self, judge_id: str, pairwise: bool) -> str:
        """Judgment file name: FastChat's for the fastchat family; the family in the name otherwise (its scale
        differs)."""
        kind = "pair" if pairwise else "single"
        return f"{judge_id}_{kind}.jsonl" if self.name == DEFAULT_FAMILY else f"{judge_id}_{self.name}_{kind}.jsonl"


def family_names() -> list[str]:
    """The built-in families' names (aliases not included)."""
    return sorted(p.stem for p in FAMILY_DIR.glob("*.json"))


def canonical_family(name: str) -> str:
    """A built-in family's name for ``name`` or its alias; anything else unchanged."""
    return ALIASES.get(name, name)


def load_family(name_or_path: str | None) -> JudgeFamily:
    """A built-in family by name or alias, or a family file by path."""
    name = canonical_family(name_or_path or DEFAULT_FAMILY)
    path = FAMILY_DIR / f"{name}.json"
    if not path.exists():
        path = Path(name)
        if not path.exists():
            raise ConfigError(f"unknown judge family {name!r} (built in: {', '.join(family_names())}, and "
                              f"{', '.join(f'{a} for {b}' for a, b in ALIASES.items())}; "
                              "or give the path of a family .json file)")
    stat = path.stat()
    return _load(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=None)
def _load(path_text: str, mtime_ns: int, size: int) -> JudgeFamily:
    """Parsed once per file version (run.py and gen_judgment ask for the family several times)."""
    path = Path(path_text)
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot be read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InputError(path, f"is not valid JSON: {exc.msg}", exc.lineno) from None
    if not isinstance(obj, dict):
        raise InputError(path, "must hold a JSON object")

    def need(key: str, kind: type, default: Any = None) -> Any:
        value = obj.get(key, default)
        if not isinstance(value, kind):
            raise InputError(path, f"must be a {kind.__name__}", field=key)
        return value

    name = need("name", str)
    modes = tuple(need("modes", list))
    if not modes or any(m not in MODE_KINDS for m in modes):
        raise InputError(path, f"must list one or both of {', '.join(MODE_KINDS)}", field="modes")
    prompt_file = obj.get("prompts")
    prompts: dict[str, JudgePrompt] = {}
    roles = need("roles", dict, {})
    by_language = _language_files(path, prompt_file)
    for _, language_prompts in by_language.values():
        _check_roles(path, name, modes, roles, language_prompts)
    if prompt_file is not None:
        prompt_file, prompts = by_language.pop("*", None) or by_language["en"]
    elif roles:
        for language in BUILTIN_SETS:  # roles naming our prompts must name them in every language
            _check_roles(path, name, modes, roles, load_prompt_set(None, None, language).prompts)
    generation = need("generation", dict, {})
    wrapper = obj.get("wrapper")
    if wrapper is not None and (not isinstance(wrapper, str) or wrapper.count("{prompt}") != 1
                                or any(s in wrapper for s in ("{{", "{%", "{#"))):
        raise InputError(path, "must hold {prompt} once and no Jinja syntax", field="wrapper")
    dist_obj = need("distribution", dict, {})
    distribution = {}
    for kind, spec in dist_obj.items():
        if kind not in modes:
            raise InputError(path, f"names mode {kind!r}, which the family does not judge", field="distribution")
        # One spec, or a list of specs for different verdict formats (fastchat: [[A]] and rakuda's last line).
        items = spec if isinstance(spec, list) else [spec]
        where = [f"distribution.{kind}" + (f"[{i}]" if isinstance(spec, list) else "") for i in range(len(items))]
        distribution[kind] = tuple(_spec(path, w, item) for w, item in zip(where, items))
    family = JudgeFamily(name=name, description=str(obj.get("description", "")), modes=modes,
                         prompt_file=prompt_file, roles=roles, generation=generation, distribution=distribution,
                         wrapper=wrapper, source=str(path), prompts=prompts,
                         verdict_stop=_verdict_stop(path, need("verdict_stop", dict, {}), modes),
                         by_language=by_language)
    _check_labels(path, family)
    return family


def _language_files(path: Path, value: Any) -> dict[str, tuple[Path, dict[str, JudgePrompt]]]:
    """The family's prompt files, loaded: {"*": one file}, or one per bench language (English required)."""
    if value is None:
        return {}
    if isinstance(value, str):
        return {"*": (path.parent / value, load_prompt_file(path.parent / value))}
    if not (isinstance(value, dict) and "en" in value and all(isinstance(v, str) for v in value.values())):
        raise InputError(path, 'must be a prompt file name, {"en": file, "ja": file, ...} or null', field="prompts")
    return {language: (path.parent / file, load_prompt_file(path.parent / file)) for language, file in value.items()}


def _verdict_stop(path: Path, obj: Mapping[str, Any], modes: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    out = {}
    for kind, stops in obj.items():
        if kind not in modes:
            raise InputError(path, f"names mode {kind!r}, which the family does not judge", field="verdict_stop")
        if not isinstance(stops, list) or not stops or not all(isinstance(x, str) and x for x in stops):
            raise InputError(path, "must be a list of non-empty strings", field=f"verdict_stop.{kind}")
        out[kind] = tuple(stops)
    return out


def _check_roles(path: Path, name: str, modes: tuple[str, ...], roles: Mapping[str, str],
                 prompts: Mapping[str, JudgePrompt]) -> None:
    unknown = sorted(set(roles) - set(DEFAULT_NAMES) - set(CRITERIA_NAMES))
    if unknown:
        raise InputError(path, f"unknown role {unknown[0]!r} (known: {', '.join([*DEFAULT_NAMES, *CRITERIA_NAMES])})",
                         field="roles")
    for role in [*DEFAULT_NAMES, *CRITERIA_NAMES]:
        kind = "pairwise" if role.startswith("pair") else "single"
        if kind not in modes or (role in CRITERIA_NAMES and role not in roles):
            continue  # a family without criteria roles judges questions with criteria by its plain prompts
        prompt_name = roles.get(role)
        if prompt_name not in prompts:
            raise InputError(path, f"role {role!r} needs a prompt of the prompt file, not {prompt_name!r}",
                             field="roles")
        if prompts[prompt_name].type != kind:
            raise InputError(path, f"role {role!r} names {prompt_name!r}, a {prompts[prompt_name].type} prompt",
                             field="roles")


def _labels(path: Path, where: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
        return tuple(value)
    if isinstance(value, dict) and set(value) <= {"range", "pairs", "sep"}:
        bounds = value.get("range") or value.get("pairs")
        if isinstance(bounds, list) and len(bounds) == 2 and all(isinstance(b, int) for b in bounds):
            numbers = [str(i) for i in range(bounds[0], bounds[1] + 1)]
            if "range" in value:
                return tuple(numbers)
            sep = value.get("sep", " ")
            return tuple(f"{a}{sep}{b}" for a in numbers for b in numbers)
    raise InputError(path, 'must be a list of label strings, {"range": [lo, hi]} or {"pairs": [lo, hi], "sep": " "}',
                     field=f"{where}.labels")


def _spec(path: Path, where: str, obj: Any) -> DistributionSpec:
    if not isinstance(obj, dict):
        raise InputError(path, "must be an object", field=where)
    prefill = obj.get("prefill", "")
    if not isinstance(prefill, str) and not (isinstance(prefill, dict) and all(isinstance(v, str) for v in prefill.values())):
        raise InputError(path, "must be a string or a {language: string} object", field=f"{where}.prefill")
    suffix = obj.get("suffix", "")
    formats = obj.get("formats")
    if not isinstance(suffix, str) or (formats is not None and not isinstance(formats, list)):
        raise InputError(path, "suffix must be a string and formats a list", field=where)
    spec = DistributionSpec(labels=_labels(path, where, obj.get("labels")), prefill=prefill, suffix=suffix,
                            formats=tuple(formats) if formats is not None else None)
    tails = [label + suffix for label in spec.labels]
    for a in tails:
        for b in tails:
            if a != b and b.startswith(a):
                # Without a closing suffix "1" would also stand for every text starting "10".
                raise InputError(path, f"label {a!r} is the start of {b!r}; add a suffix that ends each label",
                                 field=f"{where}.suffix")
    if len(set(tails)) != len(tails):
        raise InputError(path, "labels repeat", field=f"{where}.labels")
    return spec


def _check_labels(path: Path, family: JudgeFamily) -> None:
    """Every label must parse, with the parser of every prompt it may be used with, to a verdict."""
    for kind, specs in family.distribution.items():
        for spec in specs:
            _check_spec_labels(path, family, kind, spec)


def _check_spec_labels(path: Path, family: JudgeFamily, kind: str, spec: DistributionSpec) -> None:
    formats = set(spec.formats) if spec.formats is not None else \
        {p.output_format for p in family.prompts.values() if p.type == kind}
    for fmt in formats:
        parse = pair_parser(fmt) if kind == "pairwise" else single_parser(fmt)
        for language in (spec.prefill if isinstance(spec.prefill, Mapping) else ["en"]):
            for label, text in spec.texts(language).items():
                try:
                    parse(text)
                except VerdictError as exc:
                    raise InputError(path, f"label {label!r} written out as {text!r} does not parse with the "
                                           f"{fmt!r} parser: {exc}", field=f"distribution.{kind}") from None
