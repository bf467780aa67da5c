"""Run matches through a judge model and write one FastChat-compatible record per match.

Records are written one line as each match completes, through a JsonlStore that this process holds the
lock of (or divides with other --share workers, run_claimed), so keys already judged are skipped and a
killed run resumes where it stopped. A judge call that fails, or
whose output holds no verdict, gives a record with an ``error`` field and the raw output kept; it has
no score and no winner, and a rerun tries it again.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from ..engines.base import GenRequest, GenResult
from ..engines.config import EngineConfig
from ..engines.reasoning import split_reasoning
from ..records import JudgeName, Judgment, PairJudgment, SingleJudgment, json_key
from ..claims import take_turns
from ..jsonl import JsonlStore
from ..layouts import LayoutStore
from ..locks import LockOptions
from .api_distribution import read_match
from .families import JudgeFamily, load_family
from .judge import Judge
from .matches import Match
from .verdicts import OVERALL, PAIR_LABELS, VerdictError, pair_parser, parse_criteria_scores, single_parser

FASTCHAT_SCALE = (1, 10)

G1_MAP = {"A": "model_1", "B": "model_2", "tie": "tie"}
G2_MAP = {"A": "model_2", "B": "model_1", "tie": "tie"}


@dataclass
class RunSummary:
    skipped: int = 0  # already judged in an earlier run
    done: int = 0
    failed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0  # reasoning included, as billed
    reasoning_tokens: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    def add(self, rec: Judgment) -> None:
        """Count a written record: its tokens, and whether (and how) it failed."""
        usage = rec.usage or {}
        self.prompt_tokens += usage.get("prompt_tokens", 0)
        self.completion_tokens += usage.get("completion_tokens", 0)
        self.reasoning_tokens += usage.get("reasoning_tokens", 0)
        if rec.error:
            self.failed += 1
            kind = rec.error.split(":")[0]
            self.errors[kind] = self.errors.get(kind, 0) + 1
        else:
            self.done += 1

    def merge(self, other: "RunSummary") -> None:
        """Add the counts of ``other`` (a later part of the same run) to these."""
        for name in ("done", "failed", "prompt_tokens", "completion_tokens", "reasoning_tokens"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for kind, n in other.errors.items():
            self.errors[kind] = self.errors.get(kind, 0) + n

    def line(self) -> str:
        thought = f" ({self.reasoning_tokens} of them reasoning)" if self.reasoning_tokens else ""
        return (f"{self.done} judged, {self.skipped} already done, {self.failed} failed; "
                f"tokens in {self.prompt_tokens}, out {self.completion_tokens}{thought}")


def distribution_request(match: Match, messages: list[dict[str, str]], language: str,
                         family: JudgeFamily | None = None) -> GenRequest:
    """A request that reads the verdict's probability distribution instead of generating an explanation.

    The assistant turn is prefilled up to the verdict (ours: "Rating: [[" or "[["; each family says its
    own in prompts/families/), and the judge's probability of each label, followed by the family's
    suffix ("]]" after 1..10, so "10" competes fairly with "1"), is read in one forward pass.
    """
    return (family or load_family(None)).distribution_request(match.prompt, match.pairwise, messages, language)


def judgment_store(path, pairwise: bool, lock: LockOptions | None = LockOptions()) -> JsonlStore:
    return JsonlStore(path, lambda obj: json_key(obj, pairwise), lock)


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
                  request: GenRequest | None = None) -> SingleJudgment:
    rec = SingleJudgment(
        question_id=match.question.question_id, model=match.models[0],
        judge=JudgeName(judge_model, match.prompt.name), user_prompt=user_prompt, judgment=result.text or "",
        turn=match.turn, tstamp=time.time(), bench=bench, category=match.question.category,
        usage=result.usage() or None)
    if result.reasoning:
        rec.extra["reasoning"] = result.reasoning  # FastChat's readers ignore fields they do not know
    scale = match.scale
    if scale is not None and tuple(scale) != FASTCHAT_SCALE:
        rec.scale = list(scale)  # a record without one is on FastChat's 1-10
    parse = None if match.prompt.scores else single_parser(match.prompt.output_format, scale)
    if parse is not None:  # several criteria have no distribution method (that family has no distribution spec)
        dist = _single_distribution(result, request, parse)
        rec.score_distribution, rec.expected_score = dist.get("score_distribution"), dist.get("expected_score")
    if result.error:
        rec.error = result.error
        return rec
    try:
        if parse is not None:
            rec.score = parse(result.text or "")
        else:  # every criterion or none: a partial block leaves no scores at all
            low, high = scale or FASTCHAT_SCALE
            rec.scores = parse_criteria_scores(result.text or "", dict(match.prompt.scores), low, high)
            rec.score = rec.scores[OVERALL]
    except VerdictError as exc:
        rec.error = f"unparseable judgment: {exc}"
    return rec


def pair_record(match: Match, judge_model: str, bench: str, g1: GenResult, g2: GenResult,
                prompts: tuple[str, str], requests: tuple[GenRequest, GenRequest] | None = None) -> PairJudgment:
    rec = PairJudgment(
        question_id=match.question.question_id, model_1=match.models[0], model_2=match.models[1],
        judge=JudgeName(judge_model, match.prompt.name), g1_user_prompt=prompts[0], g1_judgment=g1.text or "",
        g2_user_prompt=prompts[1], g2_judgment=g2.text or "", turn=match.turn, tstamp=time.time(),
        bench=bench, category=match.question.category, usage=_usage([g1, g2]) or None)
    for name, r in (("g1", g1), ("g2", g2)):
        if r.reasoning:
            rec.extra[f"{name}_reasoning"] = r.reasoning
    parse = pair_parser(match.prompt.output_format)
    if g1.distribution is not None:
        rec.g1_distribution = g1.distribution
        rec.g1_verdict_probs = _verdict_probs(g1, requests[0] if requests else None, parse)
    if g2.distribution is not None:
        rec.g2_distribution = g2.distribution
        rec.g2_verdict_probs = _verdict_probs(g2, requests[1] if requests else None, parse)
    if rec.g1_verdict_probs and rec.g2_verdict_probs:  # in model terms, averaged over both orders: position bias cancels
        g1p, g2p = rec.g1_verdict_probs, rec.g2_verdict_probs
        rec.win_probs = {"model_1": (g1p["A"] + g2p["B"]) / 2, "model_2": (g1p["B"] + g2p["A"]) / 2,
                         "tie": (g1p["tie"] + g2p["tie"]) / 2}
    errors = [f"{name}: {r.error}" for name, r in (("g1", g1), ("g2", g2)) if r.error]
    if errors:
        rec.error = "; ".join(errors)
        return rec
    winners = []
    for name, r, labels in (("g1", g1, G1_MAP), ("g2", g2, G2_MAP)):
        try:
            winners.append(labels[parse(r.text or "")])
        except VerdictError as exc:
            errors.append(f"{name}: unparseable judgment: {exc}")
    if errors:
        rec.error = "; ".join(errors)
    else:
        rec.g1_winner, rec.g2_winner = winners
        label = PAIR_LABELS.get(match.prompt.output_format)
        if label is not None:  # five-level: the verdict as written in each order, so its strength is kept
            rec.g1_verdict, rec.g2_verdict = label(g1.text or ""), label(g2.text or "")
    return rec


def pending(matches: list[Match], store: JsonlStore, judge_id: str) -> list[Match]:
    """The matches ``judge_id`` has no record of in ``store`` yet (failed records count as not judged)."""
    return [m for m in matches if m.key(judge_id) not in store]


def share_chunk(config: EngineConfig, batch: bool) -> int | None:
    """Matches a --share worker claims at a time: four times an API judge's --parallel (calls stay in flight
    across most of a chunk, and the workers' shares stay even), 64 for a local judge, all for --batch (one
    submission)."""
    if batch:
        return None
    return 4 * config.api.parallel if config.is_api else 64


def run_claimed(judge: Judge, bench: str, todo: list[Match], store: "JsonlStore | LayoutStore", language: str = "en",
                on_record: Callable[[Judgment], None] | None = None, already_done: int = 0,
                on_start: Callable[[], None] | None = None, chunk: int | None = None) -> RunSummary:
    """:func:`run_matches` over the matches of ``todo`` that ``store`` gives this process: all of them, or
    with --share ``chunk`` at a time that no other live worker has claimed, until none is left (claims.py)."""
    by_key = {m.key(judge.id): m for m in todo}
    keys = list(by_key)
    summary = RunSummary(skipped=already_done)

    def work(mine: list) -> None:
        summary.merge(run_matches(judge, bench, [by_key[k] for k in mine], store, language, on_record,
                                  on_start=on_start))

    take_turns(lambda n: store.claim(keys, n), lambda: store.waiting(keys), work, chunk)
    return summary


def run_matches(judge: Judge, bench: str, todo: list[Match], store: JsonlStore, language: str = "en",
                on_record: Callable[[Judgment], None] | None = None, already_done: int = 0,
                on_start: Callable[[], None] | None = None) -> RunSummary:
    """Judge every match of ``todo`` (see :func:`pending`); write each record as it completes.

    ``judge`` must be open. ``language`` is the bench's (it picks the distribution method's prefill).
    ``already_done`` (matches judged in earlier runs) only goes into the summary. ``on_start`` runs once the
    engine has started (an API engine has sent its first calls; a local one has not begun): work that the
    calls' latency can hide, such as the cost preview.
    """
    summary = RunSummary(skipped=already_done)
    games = [[(messages, judge.request(match, messages, language)) for messages in match.games()] for match in todo]
    requests = [request for match_games in games for _, request in match_games]
    owners = [(mi, gi) for mi, match_games in enumerate(games) for gi in range(len(match_games))]
    pending: dict[int, dict[int, GenResult]] = {}
    keyed = getattr(judge.model, "stream_keyed", None)  # a batch engine (--batch) names requests by record key
    keys = [f"q{todo[mi].question.question_id} t{todo[mi].turn} g{gi + 1} {' '.join(todo[mi].models)} "
            f"{todo[mi].prompt.name}" for mi, gi in owners] if keyed is not None else []
    results = keyed(requests, keys) if keyed is not None else judge.model.stream(requests)
    if on_start:
        on_start()
    for ri, result in results:
        mi, gi = owners[ri]
        got = pending.setdefault(mi, {})
        got[gi] = result
        if len(got) < len(games[mi]):
            continue
        del pending[mi]
        match_games = games[mi]
        if judge.reads_logprobs:
            match_games, got = read_match(judge.family, todo[mi], match_games, got, language, judge.model)
        rec = _record(todo[mi], judge.id, bench, match_games, got)
        store.append(rec.to_json())
        summary.add(rec)
        if on_record:
            on_record(rec)
    return summary


def _record(match: Match, judge_id: str, bench: str, games: list[tuple[list[dict[str, str]], GenRequest]],
            results: dict[int, GenResult]) -> Judgment:
    """The record of a match whose games all have their result (the prompt shown is the game's last message).

    A reasoning judge's thinking is moved out of the text first: the verdict is parsed from the answer alone.
    """
    shown = [messages[-1]["content"] for messages, _ in games]
    results = {gi: split_reasoning(r) for gi, r in results.items()}
    if match.pairwise:
        return pair_record(match, judge_id, bench, results[0], results[1], (shown[0], shown[1]),
                           (games[0][1], games[1][1]))
    return single_record(match, judge_id, bench, results[0], shown[0], games[0][1])
