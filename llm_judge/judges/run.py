"""Run matches through a judge model and write one FastChat-compatible record per match.

Records are written by this process only, one line as each match completes, through a JsonlStore, so
keys already judged are skipped and a killed run resumes where it stopped. A judge call that fails, or
whose output holds no verdict, gives a record with an ``error`` field and the raw output kept; it has
no score and no winner, and a rerun tries it again.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from ..errors import ConfigError
from ..models.base import ChatModel, GenRequest, GenResult
from ..records import pair_key, single_key
from ..store import JsonlStore
from .matches import Match
from .verdicts import VerdictError, pair_parser, single_parser

G1_MAP = {"A": "model_1", "B": "model_2", "tie": "tie"}
G2_MAP = {"A": "model_2", "B": "model_1", "tie": "tie"}


@dataclass
class RunSummary:
    planned: int = 0
    skipped: int = 0  # already judged in an earlier run
    done: int = 0
    failed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        return (f"{self.done} judged, {self.skipped} already done, {self.failed} failed; "
                f"tokens in {self.prompt_tokens}, out {self.completion_tokens}")


def distribution_request(match: Match, messages: list[dict[str, str]], language: str) -> GenRequest:
    """A request that reads the verdict's probability distribution instead of generating an explanation.

    The assistant turn is prefilled up to the verdict marker ("Rating: [[" or "[["), and the judge's
    probabilities for each rating 1-10 (or A / B / C) followed by "]]" are read in one forward pass.
    """
    fmt = match.prompt.output_format
    if match.pairwise:
        if fmt != "[[A]]":
            raise ConfigError(f"distribution judging needs a [[A]]-style pairwise prompt, not {fmt!r}")
        return GenRequest(messages, max_new_tokens=1, prefill="[[", score_choices=["A", "B", "C"], score_suffix="]]")
    if fmt not in ("[[rating]]", "[[評価]]"):
        raise ConfigError(f"distribution judging needs a [[rating]]-style single prompt, not {fmt!r}")
    prefill = "評価：[[" if language == "ja" else "Rating: [["
    return GenRequest(messages, max_new_tokens=1, prefill=prefill, score_choices=[str(i) for i in range(1, 11)],
                      score_suffix="]]")


def judgment_store(path, pairwise: bool) -> JsonlStore:
    return JsonlStore(path, pair_key if pairwise else single_key)


def _usage(results: Iterable[GenResult]) -> dict[str, int]:
    total: dict[str, int] = {}
    for r in results:
        for k, v in r.usage().items():
            total[k] = total.get(k, 0) + v
    return total


def _distribution_fields(result: GenResult, pairwise: bool) -> dict[str, Any]:
    if result.distribution is None:
        return {}
    if pairwise:
        return {"distribution": result.distribution}
    expected = sum(float(k) * p for k, p in result.distribution.items())
    return {"score_distribution": result.distribution, "expected_score": round(expected, 4)}


def single_record(match: Match, judge_model: str, bench: str, result: GenResult, user_prompt: str) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "question_id": match.question.question_id, "model": match.models[0],
        "judge": [judge_model, match.prompt.name], "user_prompt": user_prompt,
        "judgment": result.text or "", "score": None, "turn": match.turn, "tstamp": time.time(),
        "bench": bench, "category": match.question.category,
    }
    if result.usage():
        rec["usage"] = result.usage()
    rec.update(_distribution_fields(result, pairwise=False))
    if result.error:
        rec["error"] = result.error
        return rec
    try:
        rec["score"] = single_parser(match.prompt.output_format)(result.text or "")
    except VerdictError as exc:
        rec["error"] = f"unparseable judgment: {exc}"
    return rec


def pair_record(match: Match, judge_model: str, bench: str, g1: GenResult, g2: GenResult,
                prompts: tuple[str, str]) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "question_id": match.question.question_id, "model_1": match.models[0], "model_2": match.models[1],
        "g1_winner": None, "g2_winner": None, "judge": [judge_model, match.prompt.name],
        "g1_user_prompt": prompts[0], "g1_judgment": g1.text or "",
        "g2_user_prompt": prompts[1], "g2_judgment": g2.text or "",
        "turn": match.turn, "tstamp": time.time(), "bench": bench, "category": match.question.category,
    }
    usage = _usage([g1, g2])
    if usage:
        rec["usage"] = usage
    for name, r in (("g1", g1), ("g2", g2)):
        if r.distribution is not None:
            rec[f"{name}_distribution"] = r.distribution
    errors = [f"{name}: {r.error}" for name, r in (("g1", g1), ("g2", g2)) if r.error]
    if errors:
        rec["error"] = "; ".join(errors)
        return rec
    parse = pair_parser(match.prompt.output_format)
    try:
        rec["g1_winner"] = G1_MAP[parse(g1.text or "")]
    except VerdictError as exc:
        errors.append(f"g1: unparseable judgment: {exc}")
    try:
        rec["g2_winner"] = G2_MAP[parse(g2.text or "")]
    except VerdictError as exc:
        errors.append(f"g2: unparseable judgment: {exc}")
    if errors:
        rec["error"] = "; ".join(errors)
        rec["g1_winner"] = rec["g2_winner"] = None
    return rec


def run_matches(judge: ChatModel, judge_model: str, bench: str, matches: list[Match], store: JsonlStore,
                make_request: Callable[[Match, list[dict[str, str]]], GenRequest],
                on_record: Callable[[dict[str, Any]], None] | None = None) -> RunSummary:
    """Judge every match whose key the store does not hold yet; write each record as it completes."""
    summary = RunSummary(planned=len(matches))
    todo = [m for m in matches if m.key(judge_model) not in store]
    summary.skipped = len(matches) - len(todo)
    requests: list[GenRequest] = []
    owners: list[tuple[int, int]] = []  # request index -> (match index, game index)
    user_prompts: list[list[str]] = []
    for mi, match in enumerate(todo):
        games = match.games()
        user_prompts.append([g[-1]["content"] for g in games])
        for gi, messages in enumerate(games):
            requests.append(make_request(match, messages))
            owners.append((mi, gi))
    pending: dict[int, dict[int, GenResult]] = {}
    for ri, result in judge.stream(requests):
        mi, gi = owners[ri]
        got = pending.setdefault(mi, {})
        got[gi] = result
        match = todo[mi]
        if len(got) < (2 if match.pairwise else 1):
            continue
        del pending[mi]
        shown = user_prompts[mi]
        if match.pairwise:
            rec = pair_record(match, judge_model, bench, got[0], got[1], (shown[0], shown[1]))
        else:
            rec = single_record(match, judge_model, bench, got[0], shown[0])
        store.append(rec)
        usage = rec.get("usage", {})
        summary.prompt_tokens += usage.get("prompt_tokens", 0)
        summary.completion_tokens += usage.get("completion_tokens", 0)
        if rec.get("error"):
            summary.failed += 1
            kind = rec["error"].split(":")[0]
            summary.errors[kind] = summary.errors.get(kind, 0) + 1
        else:
            summary.done += 1
        if on_record:
            on_record(rec)
    return summary
