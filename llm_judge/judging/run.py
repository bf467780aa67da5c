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

from ..engines.base import GenRequest, GenResult
from ..records import pair_key, single_key
from ..jsonl import JsonlStore
from .families import JudgeFamily, load_family
from .judge import Judge
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

    def add(self, rec: dict[str, Any]) -> None:
        """Count a written record: its tokens, and whether (and how) it failed."""
        usage = rec.get("usage", {})
        self.prompt_tokens += usage.get("prompt_tokens", 0)
        self.completion_tokens += usage.get("completion_tokens", 0)
        if rec.get("error"):
            self.failed += 1
            kind = rec["error"].split(":")[0]
            self.errors[kind] = self.errors.get(kind, 0) + 1
        else:
            self.done += 1

    def line(self) -> str:
        return (f"{self.done} judged, {self.skipped} already done, {self.failed} failed; "
                f"tokens in {self.prompt_tokens}, out {self.completion_tokens}")


def distribution_request(match: Match, messages: list[dict[str, str]], language: str,
                         family: JudgeFamily | None = None) -> GenRequest:
    """A request that reads the verdict's probability distribution instead of generating an explanation.

    The assistant turn is prefilled up to the verdict (ours: "Rating: [[" or "[["; each family says its
    own in prompts/families/), and the judge's probability of each label, followed by the family's
    suffix ("]]" after 1..10, so "10" competes fairly with "1"), is read in one forward pass.
    """
    return (family or load_family(None)).distribution_request(match.prompt, match.pairwise, messages, language)


def judgment_store(path, pairwise: bool) -> JsonlStore:
    return JsonlStore(path, pair_key if pairwise else single_key)


def _usage(results: Iterable[GenResult]) -> dict[str, int]:
    total: dict[str, int] = {}
    for r in results:
        for k, v in r.usage().items():
            total[k] = total.get(k, 0) + v
    return total


def _label_values(request: GenRequest | None, labels: Iterable[str], parse: Callable[[str], Any]) -> dict[str, Any]:
    """What the verdict parser reads from each label as the judge would write it (prefill + label + suffix)."""
    if request is None:
        return {}
    values = {}
    for label in labels:
        try:
            values[label] = parse(request.prefill + label + request.score_suffix)
        except VerdictError:
            continue  # a label outside the parser's scale carries no verdict
    return values


def _single_distribution(result: GenResult, request: GenRequest | None, parse: Callable[[str], float]) -> dict[str, Any]:
    if result.distribution is None:
        return {}
    out: dict[str, Any] = {"score_distribution": result.distribution}
    values = _label_values(request, result.distribution, parse)
    mass = sum(result.distribution[k] for k in values)
    if mass > 0:
        out["expected_score"] = round(sum(v * result.distribution[k] for k, v in values.items()) / mass, 4)
    return out


def _verdict_probs(result: GenResult, request: GenRequest | None, parse: Callable[[str], str]) -> dict[str, float] | None:
    """Probabilities of A, B and tie in one game, summed over the labels that mean each."""
    if result.distribution is None:
        return None
    values = _label_values(request, result.distribution, parse)
    if not values:
        return None
    probs = {"A": 0.0, "B": 0.0, "tie": 0.0}
    for label, verdict in values.items():
        probs[verdict] += result.distribution[label]
    mass = sum(probs.values())
    return {k: v / mass for k, v in probs.items()}


def single_record(match: Match, judge_model: str, bench: str, result: GenResult, user_prompt: str,
                  request: GenRequest | None = None) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "question_id": match.question.question_id, "model": match.models[0],
        "judge": [judge_model, match.prompt.name], "user_prompt": user_prompt,
        "judgment": result.text or "", "score": None, "turn": match.turn, "tstamp": time.time(),
        "bench": bench, "category": match.question.category,
    }
    if result.usage():
        rec["usage"] = result.usage()
    parse = single_parser(match.prompt.output_format)
    rec.update(_single_distribution(result, request, parse))
    if result.error:
        rec["error"] = result.error
        return rec
    try:
        rec["score"] = parse(result.text or "")
    except VerdictError as exc:
        rec["error"] = f"unparseable judgment: {exc}"
    return rec


def pair_record(match: Match, judge_model: str, bench: str, g1: GenResult, g2: GenResult,
                prompts: tuple[str, str], requests: tuple[GenRequest, GenRequest] | None = None) -> dict[str, Any]:
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
    parse = pair_parser(match.prompt.output_format)
    probs = []
    for gi, (name, r) in enumerate((("g1", g1), ("g2", g2))):
        if r.distribution is not None:
            rec[f"{name}_distribution"] = r.distribution
            p = _verdict_probs(r, requests[gi] if requests else None, parse)
            if p is not None:
                rec[f"{name}_verdict_probs"] = p
                probs.append(p)
    if len(probs) == 2:  # in model terms, averaged over both orders: position bias cancels out
        g1p, g2p = probs
        rec["win_probs"] = {"model_1": (g1p["A"] + g2p["B"]) / 2, "model_2": (g1p["B"] + g2p["A"]) / 2,
                            "tie": (g1p["tie"] + g2p["tie"]) / 2}
    errors = [f"{name}: {r.error}" for name, r in (("g1", g1), ("g2", g2)) if r.error]
    if errors:
        rec["error"] = "; ".join(errors)
        return rec
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


def run_matches(judge: Judge, bench: str, matches: list[Match], store: JsonlStore, language: str = "en",
                on_record: Callable[[dict[str, Any]], None] | None = None) -> RunSummary:
    """Judge every match whose key the store does not hold yet; write each record as it completes.

    ``judge`` must be open. ``language`` is the bench's (it picks the distribution method's prefill).
    """
    summary = RunSummary(planned=len(matches))
    todo = [m for m in matches if m.key(judge.id) not in store]
    summary.skipped = len(matches) - len(todo)
    games = [[(messages, judge.request(match, messages, language)) for messages in match.games()] for match in todo]
    requests = [request for match_games in games for _, request in match_games]
    owners = [(mi, gi) for mi, match_games in enumerate(games) for gi in range(len(match_games))]
    pending: dict[int, dict[int, GenResult]] = {}
    for ri, result in judge.model.stream(requests):
        mi, gi = owners[ri]
        got = pending.setdefault(mi, {})
        got[gi] = result
        if len(got) < len(games[mi]):
            continue
        del pending[mi]
        rec = _record(todo[mi], judge.id, bench, games[mi], got)
        store.append(rec)
        summary.add(rec)
        if on_record:
            on_record(rec)
    return summary


def _record(match: Match, judge_id: str, bench: str, games: list[tuple[list[dict[str, str]], GenRequest]],
            results: dict[int, GenResult]) -> dict[str, Any]:
    """The record of a match whose games all have their result (the prompt shown is the game's last message)."""
    shown = [messages[-1]["content"] for messages, _ in games]
    if match.pairwise:
        return pair_record(match, judge_id, bench, results[0], results[1], (shown[0], shown[1]),
                           (games[0][1], games[1][1]))
    return single_record(match, judge_id, bench, results[0], shown[0], games[0][1])
