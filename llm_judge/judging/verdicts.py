"""Verdict parsers: pure functions from a judge's output text to a verdict, or a VerdictError.

The judge's own final verdict decides. Judges often quote the answers they grade, and an answer may
itself contain ``[[10]]`` or ``[[A]]``, so every parser takes the *last* verdict marker in the output,
which is where our prompts (and FastChat's) ask the judge to put it. Output with no verdict raises
VerdictError; the caller keeps the raw text in an error record and never guesses a score.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from typing import Callable, Mapping

from ..errors import ConfigError
from ..five_level import FIVE_LEVELS


class VerdictError(ValueError):
    """The judge output holds no verdict we can read."""


_RATING = re.compile(r"\[\[\s*(\d+(?:\.\d+)?)\s*(?:/\s*10\s*)?\]\]")
_RATING_SINGLE_BRACKET = re.compile(r"(?<!\[)\[\s*(\d+(?:\.\d+)?)\s*\](?!\])")
_RATING_LABELLED = re.compile(r"(?:Rating|Score|評価|点数)\s*[:：]\s*(\d+(?:\.\d+)?)\s*(?:/\s*10)?", re.IGNORECASE)
_PAIR = re.compile(r"\[\[\s*([ABC])\s*\]\]")
_TWO_SCORES = re.compile(r"\[\[\s*(\d+(?:\.\d+)?)\s*,\s*(\d+(?:\.\d+)?)\s*\]\]")


def parse_rating(text: str, low: float = 1.0, high: float = 10.0) -> float:
    """The last ``[[N]]`` (else FastChat's backup ``[N]``, else ``Rating: N``), checked to lie in [low, high]."""
    for pattern in (_RATING, _RATING_SINGLE_BRACKET, _RATING_LABELLED):
        found = pattern.findall(text)
        if found:
            value = float(found[-1])
            if not low <= value <= high:
                raise VerdictError(f"rating {found[-1]} is outside {low:g}..{high:g}")
            return value
    raise VerdictError("no rating such as [[7]] in the judge output")


def parse_pair(text: str) -> str:
    """'A', 'B' or 'tie' from the last ``[[A]]`` / ``[[B]]`` / ``[[C]]`` marker."""
    found = _PAIR.findall(text)
    if not found:
        raise VerdictError("no verdict such as [[A]], [[B]] or [[C]] in the judge output")
    return {"A": "A", "B": "B", "C": "tie"}[found[-1]]


def parse_two_scores(text: str) -> str:
    """FastChat's pair-v1 format ``[[score_a, score_b]]``: the higher score wins, equal is a tie."""
    found = _TWO_SCORES.findall(text)
    if not found:
        raise VerdictError("no [[score_a, score_b]] in the judge output")
    a, b = (float(x) for x in found[-1])
    return "A" if a > b else "B" if b > a else "tie"


_DIGIT = re.compile(r"\d")  # any Unicode decimal digit: Japanese judges often write full-width "１"
_LAST_LINE_VERDICTS = {1: "A", 2: "B", 3: "tie"}


def parse_last_line(text: str) -> str:
    """Rakuda's ``last`` format: 1 (assistant 1 = A), 2 (B) or 3 (tie), the last digit on the last line.

    The prompt asks for the number on the final line; digits earlier in the explanation (scores, years,
    list numbers) are never read, so a final line without 1, 2 or 3 is unparseable rather than guessed.
    """
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise VerdictError("empty judge output; expected 1, 2 or 3 on the last line")
    digits = _DIGIT.findall(lines[-1])
    if not digits:
        raise VerdictError(f"no 1, 2 or 3 on the last line {lines[-1].strip()[:60]!r}")
    value = int(digits[-1])  # int() reads full-width and other Unicode decimal digits
    if value not in _LAST_LINE_VERDICTS:
        raise VerdictError(f"last-line verdict {digits[-1]!r} is not 1, 2 or 3")
    return _LAST_LINE_VERDICTS[value]


# -- five-level pairwise verdicts (our five-level prompts, Arena-Hard's labels) ------------------------------
# A marker counts as a verdict when it holds nothing but A, B, C and comparison signs, so "[[A]]" or
# "[[A>>>B]]" at the end is a malformed verdict (an error), never skipped for an earlier, quoted one.
# NFKC folds the full-width forms Japanese judges write ("［［Ａ＞Ｂ］］", "＝") into ASCII; "≫"/"≪" are
# read as ">>"/"<<".

_FIVE_MARKER = re.compile(r"\[\[([ABC<>=≫≪\s]{1,24})\]\]")
_FIVE_WINNER = {"A>>B": "A", "A>B": "A", "A=B": "tie", "B>A": "B", "B>>A": "B"}


def parse_five_level(text: str) -> str:
    """One of FIVE_LEVELS from the last verdict marker in the output, however spaced or full-width."""
    found = _FIVE_MARKER.findall(unicodedata.normalize("NFKC", text))
    if not found:
        raise VerdictError("no verdict such as [[A>>B]], [[A>B]], [[A=B]], [[B>A]] or [[B>>A]] in the judge output")
    label = re.sub(r"\s+", "", found[-1]).replace("≫", ">>").replace("≪", "<<")
    if label not in _FIVE_WINNER:
        raise VerdictError(f"the last verdict [[{found[-1].strip()}]] is not one of {', '.join(FIVE_LEVELS)}")
    return label


def parse_five_level_winner(text: str) -> str:
    """'A', 'B' or 'tie' of the last five-level verdict: what FastChat's winner fields record."""
    return _FIVE_WINNER[parse_five_level(text)]


SINGLE_FORMATS: dict[str, Callable[[str], float]] = {"[[rating]]": parse_rating, "[[評価]]": parse_rating}
PAIR_FORMATS: dict[str, Callable[[str], str]] = {"[[A]]": parse_pair, "[[rating_a,rating_b]]": parse_two_scores,
                                                 "last": parse_last_line, "[[A>>B]]": parse_five_level_winner}
# Pairwise formats whose verdict has a strength: the parser of the whole label, which records keep.
PAIR_LABELS: dict[str, Callable[[str], str]] = {"[[A>>B]]": parse_five_level}


# -- open judges' formats (judges/families.py) ------------------------------------------------------
# Each family puts its verdict at a fixed place: JudgeLM and PandaLM alone on the first line, Auto-J and
# Prometheus at the very end. Only that place is read, so text the judge quotes from an answer elsewhere
# ("[[10]]", "[RESULT] 5", "the final decision is Response 1") never decides, and an output cut off
# before its verdict is unparseable instead of being scored from a quote.

_SCORE = r"(\d+(?:\.\d+)?)"
_FIRST_LINE_LABELS = re.compile(r"(?:assistant\s*[12]|scores?)\s*[:：]?", re.IGNORECASE)
_ONE_SCORE = re.compile(_SCORE)
_TWO_SCORES_LINE = re.compile(_SCORE + r"\s*(?:[,;/]\s*|\s+)" + _SCORE)
_AUTOJ_RATING = re.compile(r"Rating\s*[:：]\s*\[\[\s*" + _SCORE + r"\s*\]\]\W{0,2}$", re.IGNORECASE)
# The decision opens its own line ("So, the final decision is ..."), so a quote cut off mid-sentence is no verdict.
_AUTOJ_DECISION = re.compile(r"^\W{0,2}(?:(?:so|therefore|thus|hence)\s*,?\s*)?the\s+final\s+decision\s+is\s*[:：]?"
                             r"\W{0,3}(response\s*1|response\s*2|tie)\W{0,3}\Z", re.IGNORECASE | re.MULTILINE)
_PANDALM = re.compile(r"(?:#+\s*)?(?:result\s*[:：]\s*)?(1|2|tie)\s*[.。]?", re.IGNORECASE)
_PROMETHEUS = re.compile(r"\[RESULT\]\s*[:：]?\s*(?:score\s*[:：]?\s*)?\(?\s*([A-Za-z0-9]+)\s*\)?\W{0,2}$", re.IGNORECASE)


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    raise VerdictError("empty judge output")


def _in_range(value: str, low: float, high: float, what: str) -> float:
    v = float(value)
    if not low <= v <= high:
        raise VerdictError(f"{what} {value} is outside {low:g}..{high:g}")
    return v


def _first_line_scores(text: str, pattern: re.Pattern[str], what: str) -> list[float]:
    line = _first_line(text)
    m = pattern.fullmatch(_FIRST_LINE_LABELS.sub(" ", line).strip())
    if not m:
        raise VerdictError(f"the first line {line[:60]!r} is not {what}")
    return [_in_range(x, 1, 10, "score") for x in m.groups()]


def parse_judgelm_pair(text: str) -> str:
    """JudgeLM: the first line holds only two scores 1-10, assistant 1's then 2's ("8 6"); equal is a tie."""
    a, b = _first_line_scores(text, _TWO_SCORES_LINE, "two scores such as '8 6'")
    return "A" if a > b else "B" if b > a else "tie"


def parse_judgelm_single(text: str) -> float:
    """JudgeLM grading one answer: the first line holds only its score 1-10."""
    return _first_line_scores(text, _ONE_SCORE, "one score such as '7'")[0]


def _ending(text: str, pattern: re.Pattern[str], what: str) -> str:
    text = text.strip()
    m = pattern.search(text)
    if not m:
        tail = text[-60:] if text else ""
        raise VerdictError(f"the output does not end with {what} (it ends {tail!r})")
    return m.group(1)


def parse_autoj_rating(text: str) -> float:
    """Auto-J single-response critique: it ends with ``Rating: [[N]]`` (1-10, halves allowed)."""
    return _in_range(_ending(text, _AUTOJ_RATING, "'Rating: [[N]]'"), 1, 10, "rating")


def parse_autoj_decision(text: str) -> str:
    """Auto-J pairwise: it ends with "So, the final decision is Response 1" (or Response 2, or Tie)."""
    decision = _ending(text, _AUTOJ_DECISION, "'the final decision is Response 1/Response 2/Tie'")
    return {"response1": "A", "response2": "B", "tie": "tie"}[re.sub(r"\s+", "", decision.lower())]


def parse_pandalm(text: str) -> str:
    """PandaLM: the first line is only 1, 2 or Tie; the reason and a reference answer follow."""
    line = _first_line(text)
    m = _PANDALM.fullmatch(line)
    if not m:
        raise VerdictError(f"the first line {line[:60]!r} is not 1, 2 or Tie")
    return {"1": "A", "2": "B", "tie": "tie"}[m.group(1).lower()]


def parse_prometheus_absolute(text: str, low: float = 1.0, high: float = 5.0) -> float:
    """Prometheus absolute grading: ``Feedback: ... [RESULT] N``, ending with an integer N from 1 to 5
    (or on a question's own scale, for the criteria prompts)."""
    value = _ending(text, _PROMETHEUS, "'[RESULT] N'")
    if not value.isdigit():
        raise VerdictError(f"[RESULT] {value!r} is not an integer score")
    return _in_range(value, low, high, "score")


def parse_prometheus_relative(text: str) -> str:
    """Prometheus relative grading: ``Feedback: ... [RESULT] A`` (or B) at the end; there are no ties."""
    value = _ending(text, _PROMETHEUS, "'[RESULT] A' or '[RESULT] B'").upper()
    if value not in ("A", "B"):
        raise VerdictError(f"[RESULT] {value!r} is not A or B")
    return value


SINGLE_FORMATS.update({"judgelm-score": parse_judgelm_single, "autoj-rating": parse_autoj_rating,
                       "prometheus-absolute": parse_prometheus_absolute})
PAIR_FORMATS.update({"judgelm-scores": parse_judgelm_pair, "autoj-decision": parse_autoj_decision,
                     "pandalm": parse_pandalm, "prometheus-relative": parse_prometheus_relative})


Scale = tuple[float, float]
# The score range of each single-answer format; FastChat's 1-10 unless the format says otherwise.
SCALES: dict[str, Scale] = {"prometheus-absolute": (1, 5)}
# The formats whose prompts may state another range (a question's own scale): their parser takes low, high.
SCALED_FORMATS: dict[str, Callable[..., float]] = {"[[rating]]": parse_rating, "[[評価]]": parse_rating,
                                                   "prometheus-absolute": parse_prometheus_absolute}


def native_scale(output_format: str) -> Scale:
    return SCALES.get(output_format, (1, 10))


def single_parser(output_format: str, scale: Scale | None = None) -> Callable[[str], float]:
    """The parser of ``output_format``; with ``scale`` (a question's own), one that checks that range instead."""
    if output_format not in SINGLE_FORMATS:
        raise ConfigError(f"no parser for single-answer output format {output_format!r} "
                          f"(known: {', '.join(SINGLE_FORMATS)})")
    if scale is None or tuple(scale) == native_scale(output_format):
        return SINGLE_FORMATS[output_format]
    if output_format not in SCALED_FORMATS:
        raise ConfigError(f"output format {output_format!r} scores {native_scale(output_format)[0]:g}-"
                          f"{native_scale(output_format)[1]:g} only, not {scale[0]:g}-{scale[1]:g}")
    return functools.partial(SCALED_FORMATS[output_format], low=scale[0], high=scale[1])


def pair_parser(output_format: str) -> Callable[[str], str]:
    try:
        return PAIR_FORMATS[output_format]
    except KeyError:
        raise ConfigError(f"no parser for pairwise output format {output_format!r} "
                          f"(known: {', '.join(PAIR_FORMATS)})") from None


# -- several criteria at once (our criteria-scores prompts) ---------------------------------------------
# The prompt asks for one line per criterion, "<name>: [[N]]", the overall score last, as the very end of
# the output. Only that closing block is read: score lines the judge quotes from an answer further up (or
# an answer's own "Overall: [[10]]") are never in it, and a block missing a criterion is no verdict at all.

CRITERIA_FORMAT = "criteria-scores"
OVERALL = "overall"
_SCORE_LINE = re.compile(r"[-*#>\s]*(?:\d+[.)]\s*)?(?:\*\*)?\s*([^:：\[\]*]+?)\s*(?:\*\*)?\s*[:：]\s*(?:\*\*)?\s*\[\[\s*"
                         + _SCORE + r"\s*(?:/\s*\d+\s*)?\]\](?:\s*/\s*\d+)?(?:\*\*)?\s*[.。]?\s*")


def _closing_block(text: str) -> list[tuple[str, str]]:
    """(name, score) of the score lines that end the output, blank lines between them allowed."""
    block: list[tuple[str, str]] = []
    for line in reversed(text.splitlines()):
        if not line.strip():
            continue
        m = _SCORE_LINE.fullmatch(line)
        if not m:
            break
        block.append((m.group(1).strip(), m.group(2)))
    return block[::-1]


def parse_criteria_scores(text: str, labels: Mapping[str, str], low: float = 1.0,
                          high: float = 10.0) -> dict[str, float]:
    """Every criterion's score from the closing block, keyed as in ``labels`` (key -> the name the judge writes).

    A line may name its criterion by the key or the label (any case). A criterion missing, given twice,
    or a line naming none of them makes the output unparseable: no score is ever filled in.
    """
    by_name = {name.casefold(): key for key, label in labels.items() for name in (key, label)}
    block = _closing_block(text)
    if not block:
        tail = text.strip()[-60:]
        raise VerdictError(f"the output does not end with score lines such as 'Overall: [[7]]' (it ends {tail!r})")
    scores: dict[str, float] = {}
    for name, value in block:
        key = by_name.get(name.casefold())
        if key is None:
            raise VerdictError(f"the final block scores {name!r}, which is none of {', '.join(labels.values())}")
        if key in scores:
            raise VerdictError(f"the final block scores {labels[key]!r} twice")
        scores[key] = _in_range(value, low, high, f"{labels[key]} score")
    missing = [labels[k] for k in labels if k not in scores]
    if missing:
        raise VerdictError(f"the final block has no score for {', '.join(missing)}")
    return {k: scores[k] for k in labels}
