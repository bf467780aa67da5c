"""Benches: any folder holding ``question.jsonl``, with an optional ``bench.json`` config.

Layout (FastChat's)::

    data/<bench>/question.jsonl
    data/<bench>/reference_answer/<reference model>.jsonl
    data/<bench>/model_answer/<model>.jsonl          keyed by file name, not by model_id inside
    data/<bench>/model_answer/<model>/results.jsonl  the same, in ja-vicuna-qa-benchmark's per-model folders
    data/<bench>/model_judgment/<judge>_single.jsonl  <judge>_pair.jsonl
    data/<bench>/model_judgment/pairwise/<judge>/pairwise:<model_1>_<model_2>.jsonl   ja-vicuna-qa-benchmark's
                                                      judgment layout (llm_judge/layouts.py)
    data/<bench>/bench.json                           optional, see BenchConfig

Loading validates everything and raises InputError naming file, line and field.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Iterable

from .errors import ConfigError, InputError
from .records import Answer, Question, QuestionId
from .jsonl import iter_jsonl, read_json_object

# FastChat's defaults (fastchat/llm_judge/common.py): categories judged against a reference answer, and
# sampling temperature per MT-bench category.
FASTCHAT_REFERENCE_CATEGORIES = ["math", "reasoning", "coding", "arena-hard-200"]
FASTCHAT_TEMPERATURES = {
    "writing": 0.7, "roleplay": 0.7, "extraction": 0.0, "math": 0.0, "coding": 0.0,
    "reasoning": 0.0, "stem": 0.1, "humanities": 0.1, "arena-hard-200": 0.0,
}
DEFAULT_TEMPERATURE = 0.7
JUDGMENT_LAYOUTS = ("fastchat", "ja-vicuna")

RESULTS_FILE = "results.jsonl"  # ja-vicuna-qa-benchmark's answers: model_answer/<model>/results.jsonl
_JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


@dataclass
class BenchConfig:
    """What ``bench.json`` may state; every field is optional."""

    language: str | None = None  # "en", "ja", ...; detected from the questions when absent
    reference_categories: list[str] = field(default_factory=lambda: list(FASTCHAT_REFERENCE_CATEGORIES))
    temperature: dict[str, float] = field(default_factory=dict)  # per category, on top of FastChat's
    default_temperature: float = DEFAULT_TEMPERATURE
    judge_prompts: str | None = None  # a built-in set ("en", "ja") or a file relative to the bench folder
    prompt_names: dict[str, str] = field(default_factory=dict)  # role -> prompt name, see judges.prompts
    reference_model: str = "gpt-4"  # reads reference_answer/<reference_model>.jsonl
    baseline_model: str = "gpt-3.5-turbo"
    description: str = ""
    # Turns judged per question (FastChat judges 2). 1 where a bench's published prompts grade turn 1 only.
    judge_turns: int = 2
    # Where gen_judgment writes judgments: "fastchat" (one file per judge and kind) or "ja-vicuna" (one file
    # per model pair, as ku-nlp/ja-vicuna-qa-benchmark does; see llm_judge/layouts.py).
    judgment_layout: str = "fastchat"
    # Per-question criteria: the question field holding them ("field"; ELYZA-tasks-100 calls it eval_aspect),
    # the field holding a question's own scale ("scale_field") and the scale of the others ("scale").
    criteria: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> "BenchConfig":
        raw = read_json_object(path)
        known = {f.name for f in fields(cls)}
        for key in raw:
            if key not in known:
                raise InputError(path, f"unknown setting (known: {', '.join(sorted(known))})", field=key)
        checks = {
            "language": str, "reference_categories": list, "temperature": dict, "default_temperature": (int, float),
            "judge_prompts": str, "prompt_names": dict, "reference_model": str, "baseline_model": str,
            "description": str, "judge_turns": int, "judgment_layout": str, "criteria": dict,
        }
        for key, typ in checks.items():
            if key in raw and raw[key] is not None and not isinstance(raw[key], typ):
                raise InputError(path, f"has the wrong type ({type(raw[key]).__name__})", field=key)
        if isinstance(raw.get("judge_turns"), int) and raw["judge_turns"] < 1:
            raise InputError(path, "must be 1 or more", field="judge_turns")
        if raw.get("judgment_layout", JUDGMENT_LAYOUTS[0]) not in JUDGMENT_LAYOUTS:
            raise InputError(path, f"must be one of {', '.join(JUDGMENT_LAYOUTS)}, got {raw['judgment_layout']!r}",
                             field="judgment_layout")
        for cat, temp in raw.get("temperature", {}).items():
            if not isinstance(temp, (int, float)) or temp < 0:
                raise InputError(path, f"temperature for {cat!r} must be a number >= 0", field="temperature")
        if isinstance(raw.get("criteria"), dict):
            CriteriaSettings.from_config(raw["criteria"], path)
        return cls(**raw)


Scale = tuple[int, int]
DEFAULT_CRITERIA_SCALE: Scale = (1, 5)  # the usual range of Japanese per-question grading (ELYZA-tasks-100)


@dataclass(frozen=True)
class Criteria:
    """A question's own grading criteria (a rubric or evaluation aspect) and the scale its score is on."""

    text: str
    scale: Scale


def _scale(value: Any, path: Path | str, line: int | None, name: str) -> Scale:
    ok = (isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) and not isinstance(v, bool)
                                                              for v in value) and 0 <= value[0] < value[1] <= 100)
    if not ok:
        raise InputError(path, f"must be [lowest, highest], two whole numbers 0..100, got {value!r}", line, name)
    return (value[0], value[1])


@dataclass(frozen=True)
class CriteriaSettings:
    """bench.json's ``criteria``: which question fields hold the criteria and the scale."""

    field: str = "criteria"
    scale_field: str = "scale"
    scale: Scale = DEFAULT_CRITERIA_SCALE

    @classmethod
    def from_config(cls, obj: dict[str, Any], path: Path | str) -> "CriteriaSettings":
        unknown = sorted(set(obj) - {"field", "scale_field", "scale"})
        if unknown:
            raise InputError(path, "unknown setting (known: field, scale, scale_field)", field=f"criteria.{unknown[0]}")
        for key in ("field", "scale_field"):
            if key in obj and (not isinstance(obj[key], str) or not obj[key]):
                raise InputError(path, "must be a question field name", field=f"criteria.{key}")
        scale = _scale(obj["scale"], path, None, "criteria.scale") if "scale" in obj else DEFAULT_CRITERIA_SCALE
        return cls(obj.get("field", "criteria"), obj.get("scale_field", "scale"), scale)

    def read(self, question: Question, path: Path | str, line: int | None) -> Criteria | None:
        """The question's criteria, None when it has none; InputError naming file, line and field if malformed."""
        text, scale = question.extra.get(self.field), question.extra.get(self.scale_field)
        if text is None:
            if scale is not None:
                raise InputError(path, f"a scale needs criteria ({self.field!r}) on the same question", line,
                                 self.scale_field)
            return None
        if not isinstance(text, str) or not text.strip():
            raise InputError(path, "must be a non-empty string (the question's grading criteria)", line, self.field)
        return Criteria(text.strip(), self.scale if scale is None else _scale(scale, path, line, self.scale_field))


@dataclass
class Bench:
    name: str
    path: Path
    questions: list[Question]
    config: BenchConfig
    criteria: dict[QuestionId, Criteria] = field(default_factory=dict)  # the questions that have their own

    def criteria_of(self, question: Question) -> Criteria | None:
        return self.criteria.get(question.question_id)

    @property
    def question_file(self) -> Path:
        return self.path / "question.jsonl"

    @property
    def answer_dir(self) -> Path:
        return self.path / "model_answer"

    @property
    def judgment_dir(self) -> Path:
        return self.path / "model_judgment"

    @property
    def language(self) -> str:
        if self.config.language:
            return self.config.language
        texts = [q.turns[0] for q in self.questions]
        japanese = sum(1 for t in texts if _JAPANESE.search(t))
        return "ja" if texts and japanese / len(texts) > 0.5 else "en"

    @property
    def max_turns(self) -> int:
        return max((len(q.turns) for q in self.questions), default=0)

    def temperature_for(self, category: str) -> float:
        if category in self.config.temperature:
            return float(self.config.temperature[category])
        return FASTCHAT_TEMPERATURES.get(category, self.config.default_temperature)

    def needs_reference(self, question: Question) -> bool:
        return question.reference is not None or question.category in self.config.reference_categories

    def question_slice(self, begin: int | None, end: int | None) -> list[Question]:
        return self.questions[begin:end]

    def reference_answers(self, reference_model: str | None = None) -> dict[QuestionId, list[str]]:
        """question_id -> reference turns; a question's own ``reference`` field wins over the file."""
        refs: dict[QuestionId, list[str]] = {}
        name = reference_model or self.config.reference_model
        ref_file = _answer_file(self.path / "reference_answer", name)
        if ref_file is not None:
            for qid, answer in load_answer_file(ref_file).items():
                refs[qid] = answer.turns
        for q in self.questions:
            if q.reference is not None:
                refs[q.question_id] = q.reference
        return refs

    def answer_files(self) -> dict[str, Path]:
        """model name -> its answer file: ``<model>.jsonl``, or ``<model>/results.jsonl`` (ja-vicuna-qa-benchmark's
        per-model folders). A model with both is an InputError: which one to judge is not ours to guess."""
        if not self.answer_dir.is_dir():
            return {}
        files = {p.stem: p for p in self.answer_dir.glob("*.jsonl") if p.is_file()}
        for results in self.answer_dir.glob(f"*/{RESULTS_FILE}"):
            model = results.parent.name
            if model in files:
                raise InputError(results, f"model {model!r} also has the answer file {files[model]}; "
                                          "keep one of the two")
            files[model] = results
        return dict(sorted(files.items()))

    def load_answers(self, models: Iterable[str] | None = None) -> dict[str, dict[QuestionId, Answer]]:
        """model name (file name) -> question_id -> Answer, for the named models or all of them."""
        files = self.answer_files()
        wanted = list(models) if models is not None else list(files)
        missing = [m for m in wanted if m not in files]
        if missing:
            raise InputError(self.answer_dir, f"no answer file for model(s): {', '.join(missing)} "
                             f"(have: {', '.join(files) or 'none'})")
        return {m: load_answer_file(files[m]) for m in wanted}


def _answer_file(folder: Path, model: str) -> Path | None:
    """``<folder>/<model>.jsonl`` or ``<folder>/<model>/results.jsonl``, whichever exists (the first if both)."""
    for path in (folder / f"{model}.jsonl", folder / model / RESULTS_FILE):
        if path.is_file():
            return path
    return None


def load_questions(path: Path) -> list[Question]:
    return _load_questions(path)[0]


def _criteria(questions: list[Question], lines: dict[QuestionId, int], path: Path,
              settings: CriteriaSettings) -> dict[QuestionId, Criteria]:
    """question_id -> Criteria of the questions that carry their own."""
    found = ((q.question_id, settings.read(q, path, lines[q.question_id])) for q in questions)
    return {qid: c for qid, c in found if c is not None}


def _load_questions(path: Path) -> tuple[list[Question], dict[QuestionId, int]]:
    questions: list[Question] = []
    seen: dict[QuestionId, int] = {}
    for lineno, obj in iter_jsonl(path):
        q = Question.from_json(obj, path, lineno)
        if q.question_id in seen:
            raise InputError(path, f"duplicate question_id {q.question_id!r} (first on line {seen[q.question_id]})",
                             lineno, "question_id")
        seen[q.question_id] = lineno
        questions.append(q)
    if not questions:
        raise InputError(path, "holds no questions")
    return questions, seen


def load_answer_file(path: Path) -> dict[QuestionId, Answer]:
    answers: dict[QuestionId, Answer] = {}
    lines: dict[QuestionId, int] = {}
    for lineno, obj in iter_jsonl(path):
        a = Answer.from_json(obj, path, lineno)
        if a.question_id in answers:
            raise InputError(path, f"duplicate answer for question_id {a.question_id!r} "
                             f"(first on line {lines[a.question_id]})", lineno, "question_id")
        answers[a.question_id] = a
        lines[a.question_id] = lineno
    return answers


def bundled_data_dir() -> Path:
    """The benches shipped with llm_judge (the repository's data/ in a checkout or editable install)."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "data", here / "bundled_data"):
        if (candidate / "demo_bench" / "question.jsonl").exists():
            return candidate
    return here.parent / "data"


def default_data_dir() -> Path:
    local = Path("data")
    return local if local.is_dir() else bundled_data_dir()


def list_benches(data_dir: Path) -> list[str]:
    return sorted(p.parent.name for p in Path(data_dir).glob("*/question.jsonl"))


def load_bench(name: str, data_dir: str | Path | None = None) -> Bench:
    """Load ``<data_dir>/<name>``; ``name`` may also be a path to a bench folder."""
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    path = Path(name) if (Path(name) / "question.jsonl").exists() else data_dir / name
    question_file = path / "question.jsonl"
    if not question_file.exists():
        have = ", ".join(list_benches(data_dir)) or "none"
        raise ConfigError(f"no bench {name!r}: {question_file} does not exist (benches in {data_dir}: {have})")
    config_file = path / "bench.json"
    config = BenchConfig.load(config_file) if config_file.exists() else BenchConfig()
    questions, lines = _load_questions(question_file)  # file order is kept, as FastChat does
    settings = CriteriaSettings.from_config(config.criteria, config_file)
    return Bench(path.name, path, questions, config, _criteria(questions, lines, question_file, settings))


def check_file_name(name: str, flag: str) -> str:
    """``name`` if it is a plain file name (a model or judge id becomes ``<id>.jsonl`` in a bench folder).

    A path (``a/b``, ``../x``, absolute) or a hidden name would write outside the bench's folders or where
    no listing finds it, so it is refused before anything is written.
    """
    bad = not name or name.startswith(".") or any(ch in name for ch in "/\\\0")
    if bad:
        raise ConfigError(f"{flag} {name!r} is not a plain file name: it names the .jsonl file in the bench "
                          "folder, so it may not hold '/', '\\' or start with '.' (pass a name such as my-model)")
    return name


def parse_model_list(values: list[str] | None) -> list[str] | None:
    """``--model-list a b`` or ``--model-list a,b`` (both are seen in the wild)."""
    if not values:
        return None
    out: list[str] = []
    for v in values:
        out.extend(x for x in v.split(",") if x)
    return out


def describe(bench: Bench) -> dict[str, Any]:
    cats: dict[str, int] = {}
    for q in bench.questions:
        cats[q.category] = cats.get(q.category, 0) + 1
    return {"name": bench.name, "questions": len(bench.questions), "language": bench.language,
            "max_turns": bench.max_turns, "categories": cats}
