"""Auto-J (GAIR-NLP/auto-j): the pairwise test set and the training data.

``testdata_pairwise.jsonl``: ``scenario, prompt, "response 1", "response 2", label`` (0 = response 1
better, 1 = response 2, 2 = tie). Auto-J reports agreement per group of its 58 scenarios: the subset.

Training data (``data/training/``): ``usrmsg`` (the README spells it ``usermsg``) is the full Auto-J judge
prompt with the query and response(s) between ``[BEGIN DATA]`` and ``[END DATA]``, separated by ``***``
lines, plus ``target_output`` (GPT-4's critique), ``scenario`` and ``source_dataset``.
``single_traindata.jsonl`` has ``pred_score`` (GPT-4's 1-10 rating; the critique ends "Rating: [[5]]").
``pairwise_traindata.jsonl`` has ``gt_label`` (human) and ``pred_label`` (GPT-4) in the label map above;
the critique ends "So, the final decision is Response 1 / Response 2 / Tie". The sample's vote is GPT-4's,
the one its critique argues for; the human label is kept in ``extra["human_label"]``.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from .rows import Row, iter_rows, read_responses
from .sample import ONE, TIE, TWO, Sample

LABEL = {0: ONE, 1: TWO, 2: TIE}
NAMES = ("Response 1", "Response 2")  # how the critiques call the two responses
# The verdict markers that end the critiques (the rating's number, the decision's words).
RATING = re.compile(r"Rating:\s*\[\[\s*(\d+(?:\.\d+)?)\s*\]\]")
DECISION = re.compile(r"So, the final decision is (Response 1|Response 2|Tie)\b\.?")

GROUPS = {
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
GROUP_OF = {scenario: group for group, scenarios in GROUPS.items() for scenario in scenarios}


# -- the pairwise test set -------------------------------------------------------------------------

def _test_sample(row: Row) -> Sample:
    scenario = row.text("scenario")
    label = row.choice("label", LABEL)
    responses, quirks = read_responses(row, "response 1", "response 2")
    return Sample("autoj", str(row.index), row.location, row.text("prompt"), responses, votes=(label,),
                  subset=GROUP_OF.get(scenario, "Other"), category=scenario, quirks=quirks)


def read_testset(path: str | Path) -> list[Sample]:
    return [_test_sample(row) for row in iter_rows(path)]


# -- the training data -----------------------------------------------------------------------------

_DATA = re.compile(r"\[BEGIN DATA\]\s*\*\*\*\s*(.*?)\s*\*\*\*\s*\[END DATA\]", re.DOTALL)
_FIELD = re.compile(r"^\[(Query|Response|Response 1|Response 2)\]: ?", re.MULTILINE)
_SEPARATOR = re.compile(r"\n\*\*\*\n(?=\[(?:Query|Response(?: [12])?)\]: ?)")


def _parts(row: Row, usrmsg: str) -> dict[str, str]:
    """The ``[Query]: ...`` / ``[Response 1]: ...`` parts between the ``***`` separators."""
    m = _DATA.search(usrmsg)
    if not m:
        raise row.error("has no [BEGIN DATA] *** ... *** [END DATA] block", "usrmsg")
    # Split only where a new part starts: a query or response may itself contain a *** line.
    out: dict[str, str] = {}
    for part in (p.strip() for p in _SEPARATOR.split(m.group(1))):
        head = _FIELD.match(part)
        if not head:
            raise row.error(f"a data part does not start with [Query]: or [Response ...]: ({part[:40]!r})", "usrmsg")
        out[head.group(1)] = part[head.end():].strip()
    if "Query" not in out:
        raise row.error("has no [Query]: part", "usrmsg")
    return out


def _training_sample(row: Row) -> Sample:
    parts = _parts(row, row.get("usrmsg", required=False) or row.get("usermsg"))
    target = row.get("target_output")
    common = dict(dataset="autoj", id=str(row.index), where=row.location, instruction=parts["Query"],
                  rationale=target, category=row.get("scenario", required=False) or "")
    source = row.get("source_dataset", required=False) or ""
    if "pred_label" in row.object() or "gt_label" in row.object():
        label = row.choice("pred_label", LABEL)
        if "Response 1" not in parts or "Response 2" not in parts:
            raise row.error("a pairwise row needs [Response 1]: and [Response 2]: parts", "usrmsg")
        human = row.get("gt_label", int, required=False)
        return Sample(responses=(parts["Response 1"], parts["Response 2"]), votes=(label,), **common,
                      extra={"source_dataset": source, "human_label": LABEL.get(human) if human is not None else None})
    score = row.get("pred_score", (int, float, str))
    try:
        score = float(score)
    except ValueError:
        raise row.error(f"must be a number, got {score!r}", "pred_score") from None
    if "Response" not in parts:
        raise row.error("a single-response row needs a [Response]: part", "usrmsg")
    return Sample(responses=(parts["Response"],), score=score, scale=(1.0, 10.0), **common,
                  extra={"source_dataset": source})


def read_training(path: str | Path) -> list[Sample]:
    return [_training_sample(row) for row in iter_rows(path)]


# -- the critique test set -------------------------------------------------------------------------

@dataclass(frozen=True)
class CritiqueItem:
    """One query of ``testdata_critique.jsonl`` (``scenario, prompt, response, critiques``: the critiques
    Auto-J released, by critic name) with the ChatGPT reference critique aligned by line
    (``reference_chatgpt_critique.jsonl``: ``{"output"}``)."""

    id: str
    scenario: str
    group: str
    prompt: str
    response: str
    critiques: dict[str, str]
    reference: str


def _critiques(row: Row) -> dict[str, str]:
    value = row.object().get("critiques")
    if isinstance(value, str):  # the release stores the dict as its Python repr
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            raise row.error("is neither a JSON object nor a readable dict", "critiques") from None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise row.error("must map critic names to critique texts", "critiques")
    return value


def read_critique_set(path: str | Path, reference: str | Path) -> list[CritiqueItem]:
    rows, refs = list(iter_rows(path)), list(iter_rows(reference))
    if len(rows) != len(refs):
        raise InputError(reference, f"has {len(refs)} critiques but {path} has {len(rows)} queries; the "
                                    "reference file is aligned with the test file by line")
    items = []
    for row, ref in zip(rows, refs):
        scenario = row.text("scenario")
        items.append(CritiqueItem(str(row.index), scenario, GROUP_OF.get(scenario, "Other"), row.text("prompt"),
                                  row.response("response"), _critiques(row), ref.text("output")))
    return items
