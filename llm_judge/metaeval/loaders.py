"""Read labelled pairwise sets in their published formats and normalise them to LabelledPair.

    pandalm        PandaLM testset-v1.json: instruction/input/response1/response2, annotator1..3 (0 tie, 1, 2)
    llmbar         LLMBar dataset.json (or result.json): input/output_1/output_2, label 1|2; a folder loads
                   every dataset.json under it, each folder one subset (Natural, Adversarial/Neighbor, ...)
    autoj          Auto-J testdata_pairwise.jsonl: scenario, prompt, "response 1", "response 2", label 0|1|2 (2 tie)
    mtbench-human  MT-bench human judgments (FastChat compute_agreement's votes): question_id, model_a, model_b,
                   winner, judge, turn, conversation_a/_b; one pair per question, model pair and turn
    judgelm        JudgeLM val set: question_body, answer1_body, answer2_body; labelled by the first line of
                   ``text`` ("8 7": the higher score wins), as JudgeLM's own evaluation does
    jsonl          ours: {"id", "question", "response_1", "response_2", "label": "1"|"2"|"tie", ...}

Pair ids follow the source's row order (0-based), so prediction files aligned by line with the source
(Auto-J, JudgeLM) and our judge runs refer to the same pairs. Bad input raises InputError naming the
file, the line (JSONL) or ``[item]`` (JSON array), and the field.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Callable, NamedTuple

from ..errors import ConfigError, InputError
from ..jsonl import iter_jsonl
from .pairs import ONE, TIE, TWO, LabelledPair, LabelledSet

FORMATS = ("pandalm", "llmbar", "autoj", "mtbench-human", "judgelm", "jsonl")

# Auto-J reports agreement per scenario group; these are the groups of its 58 scenarios.
AUTOJ_GROUPS = {
    "Summarization": ["post_summarization", "text_summarization", "note_summarization"],
    "Exam Questions": ["math_reasoning", "solving_exam_question_with_math", "solving_exam_question_without_math"],
    "Code": ["code_simplification", "code_generation", "explaining_code", "code_correction_rewriting",
             "code_to_code_translation"],
    "Rewriting": ["text_simplification", "language_polishing", "instructional_rewriting", "text_correction",
                  "paraphrasing"],
    "Creative Writing": ["writing_song_lyrics", "writing_social_media_post", "writing_blog_post",
                         "writing_personal_essay", "creative_writing", "writing_advertisement",
                         "writing_marketing_materials", "writing_presentation_script", "counterfactual"],
    "Functional Writing": ["writing_product_description", "writing_job_application", "writing_news_article",
                           "writing_biography", "writing_email", "writing_legal_document",
                           "writing_technical_document", "writing_scientific_paper", "functional_writing",
                           "writing_cooking_recipe"],
    "General Communication": ["asking_how_to_question", "open_question", "analyzing_general", "explaining_general",
                              "seeking_advice", "recommendation", "value_judgement", "verifying_fact", "chitchat",
                              "roleplay", "planning", "brainstorming"],
    "NLP Tasks": ["ranking", "text_to_text_translation", "data_analysis", "classification_identification",
                  "title_generation", "question_generation", "reading_comprehension", "keywords_extraction",
                  "information_extraction", "topic_modeling", "others"],
}
AUTOJ_GROUP_OF = {scenario: group for group, scenarios in AUTOJ_GROUPS.items() for scenario in scenarios}


class Row(NamedTuple):
    """One record of a JSON array (index) or a JSONL file (line), for error messages."""

    path: Path
    line: int | None
    index: int
    obj: Any

    def error(self, message: str, field: str | None = None) -> InputError:
        if self.line is not None:
            return InputError(self.path, message, self.line, field)
        return InputError(f"{self.path}[{self.index}]", message, None, field)

    def object(self) -> dict[str, Any]:
        if not isinstance(self.obj, dict):
            raise self.error(f"expected a JSON object, got {type(self.obj).__name__}")
        return self.obj

    def text(self, key: str, allow_empty: bool = False) -> str:
        value = self.object().get(key)
        if not isinstance(value, str):
            raise self.error("is missing or not a string", key)
        if not allow_empty and not value.strip():
            raise self.error("is empty", key)
        return value

    def response(self, key: str) -> str:
        """A response to judge: any text, even empty. PandaLM's test set stores a few responses that read
        "True" as JSON booleans; scalars like that are taken as the text they stand for."""
        value = self.object().get(key)
        if isinstance(value, (bool, int, float)):
            return str(value)
        return self.text(key, allow_empty=True)

    def choice(self, key: str, mapping: dict[Any, Any]) -> Any:
        """The value of field ``key`` translated by ``mapping``; anything else is an error naming the field."""
        return self.pick(self.object().get(key), key, mapping)

    def pick(self, value: Any, key: str, mapping: dict[Any, Any]) -> Any:
        known = not isinstance(value, (bool, list, dict)) and value in mapping  # True == 1 must not pass
        if not known:
            allowed = ", ".join(json.dumps(k) for k in mapping)
            raise self.error(f"must be one of {allowed}, got {json.dumps(value)}", key)
        return mapping[value]


def read_rows(path: str | Path) -> list[Row]:
    """The records of a JSON array file or a JSONL file (whichever the file holds)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except IsADirectoryError:
        raise InputError(path, "is a folder, expected a file") from None
    if text.lstrip().startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(path, f"invalid JSON ({exc.msg})", exc.lineno) from None
        return [Row(path, None, i, obj) for i, obj in enumerate(data)]
    return [Row(path, line, i, obj) for i, (line, obj) in enumerate(iter_jsonl(path))]


def _unique(items: list[LabelledPair], path: Path) -> list[LabelledPair]:
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise InputError(path, f"pair id {item.id!r} occurs twice")
        seen.add(item.id)
    if not items:
        raise InputError(path, "holds no pairs")
    return items


# -- PandaLM ---------------------------------------------------------------------------------------

PANDALM_VOTE = {0: TIE, 1: ONE, 2: TWO}
_ANNOTATOR = re.compile(r"^annotator(\d+)$")


def load_pandalm(path: str | Path) -> LabelledSet:
    items = []
    for row in read_rows(path):
        obj = row.object()
        if isinstance(obj.get("idx"), bool) or not isinstance(obj.get("idx"), (int, str)):
            raise row.error("is missing or not an integer", "idx")
        # one row of PandaLM's test set has a blank instruction and the task in ``input``
        instruction, extra_input = row.text("instruction", allow_empty=True), row.text("input", allow_empty=True)
        annotators = sorted((int(m.group(1)), k) for k in obj if (m := _ANNOTATOR.match(k)))
        if not annotators:
            raise row.error("has no annotator1..3 labels", "annotator1")
        votes = tuple(row.choice(k, PANDALM_VOTE) for _, k in annotators)
        models = str(obj.get("cmp_key", "")).split("_")
        model_1, model_2 = models if len(models) == 2 and all(models) else ("response1", "response2")
        question = "\n\n".join(part for part in (instruction, extra_input) if part.strip())
        if not question:
            raise row.error("and 'input' are both empty", "instruction")
        items.append(LabelledPair(str(obj["idx"]), (question,), (row.response("response1"),),
                                  (row.response("response2"),), votes, subset="PandaLM",
                                  category=str(obj.get("motivation_app", "")), model_1=model_1, model_2=model_2))
    return LabelledSet("pandalm", "pandalm", _unique(items, Path(path)))


# -- LLMBar ----------------------------------------------------------------------------------------

LLMBAR_LABEL = {1: ONE, 2: TWO}


def llmbar_files(path: Path) -> list[tuple[str, Path]]:
    """(subset, dataset.json) for a file, or for every dataset.json under a folder (skipping evaluator outputs)."""
    if path.is_file():
        return [(path.parent.name, path)]
    found = sorted(p for p in path.rglob("dataset.json") if "evaluators" not in p.relative_to(path).parts)
    if not found:
        raise InputError(path, "holds no LLMBar dataset.json files")
    return [(p.parent.relative_to(path).as_posix() if p.parent != path else path.name, p) for p in found]


def llmbar_pair(row: Row, subset: str) -> LabelledPair:
    label = row.choice("label", LLMBAR_LABEL)
    return LabelledPair(f"{subset}/{row.index}", (row.text("input"),), (row.response("output_1"),),
                        (row.response("output_2"),), (label,), subset=subset)


def load_llmbar(path: str | Path) -> LabelledSet:
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found")
    items = [llmbar_pair(row, subset) for subset, file in llmbar_files(path) for row in read_rows(file)]
    return LabelledSet("llmbar", "llmbar", _unique(items, path))


# -- Auto-J ----------------------------------------------------------------------------------------

AUTOJ_LABEL = {0: ONE, 1: TWO, 2: TIE}


def load_autoj(path: str | Path) -> LabelledSet:
    items = []
    for row in read_rows(path):
        scenario = row.text("scenario")
        label = row.choice("label", AUTOJ_LABEL)
        items.append(LabelledPair(str(row.index), (row.text("prompt"),), (row.response("response 1"),),
                                  (row.response("response 2"),), (label,),
                                  subset=AUTOJ_GROUP_OF.get(scenario, "Other"), category=scenario))
    return LabelledSet("autoj", "autoj", _unique(items, Path(path)))


# -- MT-bench human judgments ----------------------------------------------------------------------

MTBENCH_WINNER = {"model_a": ONE, "model_b": TWO, "tie": TIE, "tie (bothbad)": TIE}


def _conversation(row: Row, key: str, turn: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    conv = row.object().get(key)
    if not isinstance(conv, list) or not all(isinstance(m, dict) and isinstance(m.get("content"), str) for m in conv):
        raise row.error("must be a list of {role, content} messages", key)
    users = tuple(m["content"] for m in conv if m.get("role") == "user")[:turn]
    replies = tuple(m["content"] for m in conv if m.get("role") == "assistant")[:turn]
    if len(users) < turn or len(replies) < turn:
        raise row.error(f"has fewer than {turn} user/assistant turns", key)
    return users, replies


def load_mtbench_human(path: str | Path, annotators: tuple[str, ...] = ("expert",)) -> LabelledSet:
    """Votes of judges whose name starts with one of ``annotators`` ("expert", "author"), grouped per pair.

    As FastChat's compute_agreement does, a pair is (question, the two models in name order, turn), and a
    vote given with the models the other way round is flipped.
    """
    pairs: dict[tuple, dict[str, Any]] = {}
    for row in read_rows(path):
        obj = row.object()
        judge = obj.get("judge")
        if not isinstance(judge, str) or not judge.startswith(tuple(annotators)):
            continue  # model judges (["gpt-4", "pair-v2"]) are predictions, not labels
        qid = obj.get("question_id")
        if isinstance(qid, bool) or not isinstance(qid, (int, str)):
            raise row.error("is missing or not an integer", "question_id")
        turn = obj.get("turn")
        if turn not in (1, 2):
            raise row.error(f"must be 1 or 2, got {json.dumps(turn)}", "turn")
        a, b = row.text("model_a"), row.text("model_b")
        winner = row.choice("winner", MTBENCH_WINNER)
        swapped = b < a
        key = (qid, min(a, b), max(a, b), turn)
        entry = pairs.get(key)
        if entry is None:
            users, replies_a = _conversation(row, "conversation_a", turn)
            _, replies_b = _conversation(row, "conversation_b", turn)
            entry = pairs[key] = {"turns": users, "answers": (replies_b, replies_a) if swapped else (replies_a, replies_b),
                                  "votes": []}
        entry["votes"].append({ONE: TWO, TWO: ONE}.get(winner, winner) if swapped else winner)
    if not pairs:
        raise InputError(path, f"holds no votes by judges named {' or '.join(a + '*' for a in annotators)}")
    items = [LabelledPair(f"{qid}/{m1}/{m2}/turn{turn}", e["turns"], e["answers"][0], e["answers"][1],
                          tuple(e["votes"]), subset=f"turn {turn}", question_id=qid, model_1=m1, model_2=m2)
             for (qid, m1, m2, turn), e in pairs.items()]
    return LabelledSet("mtbench-human", "mtbench-human", _unique(items, Path(path)))


# -- JudgeLM ---------------------------------------------------------------------------------------

def judgelm_scores(text: str) -> tuple[float, float] | None:
    """JudgeLM's verdict: the first line holds the two scores ("8 7" or "8, 7"); None if it does not."""
    parts = text.split("\n", 1)[0].replace(",", " ").split()
    if len(parts) != 2:
        return None
    try:
        return float(parts[0]), float(parts[1])
    except ValueError:
        return None


def scores_verdict(scores: tuple[float, float] | None) -> str | None:
    if scores is None:
        return None
    return ONE if scores[0] > scores[1] else TWO if scores[1] > scores[0] else TIE


def load_judgelm(path: str | Path) -> LabelledSet:
    items = []
    for row in read_rows(path):
        obj = row.object()
        votes: tuple[str, ...] = ()
        if "text" in obj:
            verdict = scores_verdict(judgelm_scores(row.text("text", allow_empty=True)))
            votes = (verdict,) if verdict else ()  # unparseable teacher judgments stay unlabelled, as JudgeLM drops them
        items.append(LabelledPair(str(row.index), (row.text("question_body"),), (row.response("answer1_body"),),
                                  (row.response("answer2_body"),), votes, subset="JudgeLM",
                                  model_1=str(obj.get("answer1_model_id") or "answer1"),
                                  model_2=str(obj.get("answer2_model_id") or "answer2")))
    return LabelledSet("judgelm", "judgelm", _unique(items, Path(path)))


# -- our JSONL -------------------------------------------------------------------------------------

OUR_LABEL = {ONE: ONE, TWO: TWO, TIE: TIE, 1: ONE, 2: TWO}


def _turns(row: Row, key: str) -> tuple[str, ...]:
    value = row.object().get(key)
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise row.error("must be a string or a non-empty list of strings (one per turn)", key)


def load_jsonl(path: str | Path) -> LabelledSet:
    items = []
    for row in read_rows(path):
        obj = row.object()
        if isinstance(obj.get("id"), bool) or not isinstance(obj.get("id"), (int, str)):
            raise row.error("is missing or not a string or integer", "id")
        if "votes" in obj:
            if not isinstance(obj["votes"], list):
                raise row.error("must be a list of verdicts", "votes")
            votes = tuple(row.pick(v, "votes", OUR_LABEL) for v in obj["votes"])
        elif obj.get("label") is not None:
            votes = (row.choice("label", OUR_LABEL),)
        else:
            votes = ()
        turns, a1, a2 = _turns(row, "question"), _turns(row, "response_1"), _turns(row, "response_2")
        if not len(turns) == len(a1) == len(a2):
            raise row.error("question, response_1 and response_2 must have the same number of turns", "response_1")
        reference = _turns(row, "reference") if obj.get("reference") is not None else None
        items.append(LabelledPair(str(obj["id"]), turns, a1, a2, votes, subset=str(obj.get("subset") or ""),
                                  category=str(obj.get("category") or ""), model_1=str(obj.get("model_1") or "output_1"),
                                  model_2=str(obj.get("model_2") or "output_2"), reference=reference))
    return LabelledSet(Path(path).stem, "jsonl", _unique(items, Path(path)))


# -- format detection ------------------------------------------------------------------------------

_SIGNATURES: list[tuple[str, Callable[[dict], bool]]] = [
    ("pandalm", lambda o: "annotator1" in o and "response1" in o),
    ("llmbar", lambda o: "output_1" in o and "label" in o),
    ("autoj", lambda o: "response 1" in o),
    ("mtbench-human", lambda o: "conversation_a" in o or ("model_a" in o and "winner" in o)),
    ("judgelm", lambda o: "answer1_body" in o),
    ("jsonl", lambda o: "response_1" in o),
]


def _first_object(path: Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        head = fh.read(1 << 16).lstrip()
    if head.startswith("["):
        rows = read_rows(path)  # a JSON array has to be parsed whole to see one item
        obj = rows[0].obj if rows else None
    else:
        obj = next((o for _, o in iter_jsonl(path)), None)
    if not isinstance(obj, dict):
        raise InputError(path, "expected JSON objects (one per line, or a JSON array of them)")
    return obj


def detect_format(path: str | Path) -> str:
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found")
    if path.is_dir():
        return "llmbar"
    obj = _first_object(path)
    for name, matches in _SIGNATURES:
        if matches(obj):
            return name
    raise ConfigError(f"{path}: cannot tell which labelled-set format this is (fields: {', '.join(list(obj)[:8])}); "
                      f"give --set-format ({', '.join(FORMATS)})")


def load_set(path: str | Path, fmt: str = "auto", annotators: tuple[str, ...] = ("expert",)) -> LabelledSet:
    """Load a labelled pairwise set; ``fmt`` "auto" tells the format from the fields of the first record."""
    fmt = detect_format(path) if fmt == "auto" else fmt
    loaders: dict[str, Callable[[], LabelledSet]] = {
        "pandalm": lambda: load_pandalm(path), "llmbar": lambda: load_llmbar(path), "autoj": lambda: load_autoj(path),
        "mtbench-human": lambda: load_mtbench_human(path, annotators), "judgelm": lambda: load_judgelm(path),
        "jsonl": lambda: load_jsonl(path),
    }
    if fmt not in loaders:
        raise ConfigError(f"unknown set format {fmt!r} (known: {', '.join(FORMATS)})")
    return loaders[fmt]()

