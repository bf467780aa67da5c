"""Score-distribution judging for API judges: label probabilities read from a generated judgment's log-probs.

An API judge cannot be prefilled and scored like a local one, so it writes its judgment as usual with
``top_logprobs`` on, and the distribution is read where its own verdict label starts:

1. *Where.* The family's parser decides: the verdict label is the span of the output such that writing any
   other label there changes the parsed verdict to that label's verdict. That is the last ``[[`` for our
   prompts, the end ``[RESULT] N`` for Prometheus, the first line for JudgeLM, the last line for rakuda:
   whatever place the parser reads, with no list of openers to keep in step with the parsers.
2. *Which token.* Tokens are matched to the text by byte offsets, so a token that straddles the label's
   start ("[[7") works: its alternatives that begin with the same bytes before the label ("[[8", "[[1")
   compete, their remaining bytes being what the judge would write at the label's position.
3. *Which label.* An alternative's bytes from the label's position name one label (with the family's
   suffix, or part of it, after it: "7", "7]]"), several (a label's start: "1" may become "1]]" or
   "10]]"), or none (ignored, like every text that is no label). Several labels are split along the
   judge's own path: when it wrote "1", its next token's alternatives give P(10) = P("1")·P("0"|"1") and
   P(1) = P("1")·P(text closing the label, such as "]]"|"1"); if the judge's own text ended after "1"
   (the parser read 1 there), its end counts for label 1 too. An alternative the judge did not take that
   starts several labels ("1" when it wrote "8") is split (a) as label 1 outright when a longer label
   ("10") is itself among the alternatives as one token: that tokenizer writes 10 whole; else (b) on an
   OpenAI-compatible server (a base URL), by one more call per such alternative that continues the
   judgment from it (the assistant message prefilled up to "[[1", one token, vLLM's
   ``continue_final_message``), read the same way; else (c) it stays *unresolved*: up to UNRESOLVED_LIMIT
   of probability is left out, more makes the record an error, never a guessed split.
4. The label probabilities are renormalised over the labels. A label among none of the top alternatives has
   probability below the last one listed, and counts as 0.

A reply without log-probs or a verdict whose tokens are missing gives an error record saying so; an output
without a verdict gives the usual "unparseable judgment" record. Providers whose protocol has no log-probs (Anthropic) are refused before any call.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Sequence

from ..engines.base import ChatModel, GenRequest, GenResult, TokenLogprob
from ..engines.config import EngineConfig
from ..errors import ConfigError
from .families import JudgeFamily
from .matches import Match
from .verdicts import VerdictError, pair_parser, single_parser

TOP_LOGPROBS = 20  # alternatives per token; OpenAI's maximum
# The most probability an untaken alternative that starts several labels ("1": 1 or 10) may hold and be left out.
UNRESOLVED_LIMIT = 0.01
LOGPROB_PROVIDERS = ("openai", "azure", "gemini")


class DistributionError(Exception):
    """The reply does not hold the verdict's distribution; the message says why."""


class NoVerdict(DistributionError):
    """The judgment holds no verdict: its record is unparseable, as with --judge-method generate."""


def check_provider(engine: EngineConfig) -> None:
    """Refuse, before any call, an API judge whose protocol has no log-probs."""
    if engine.is_api and engine.provider not in LOGPROB_PROVIDERS:
        raise ConfigError(f"--judge-method distribution needs token log-probs, which the {engine.provider} API does "
                          f"not return; use an OpenAI(-compatible) or local judge, or --judge-method generate")


def label_values(spec: GenRequest, parse: Callable[[str], Any]) -> dict[str, Any]:
    """Each label's verdict as the parser reads it written out (prefill + label + suffix), in label order."""
    values = {}
    for label in spec.score_choices or []:
        try:
            values[label] = parse(spec.prefill + label + spec.score_suffix)
        except VerdictError:
            continue
    return values


def verdict_span(text: str, values: dict[str, Any], parse: Callable[[str], Any]) -> tuple[int, str]:
    """(character offset, label) of the verdict the parser reads in ``text``: the last place where every other
    label written instead gives that label's verdict."""
    try:
        target = parse(text)
    except VerdictError as exc:
        raise NoVerdict(str(exc)) from None
    by_first: dict[str, list[str]] = {}
    for label in sorted(values, key=len, reverse=True):
        by_first.setdefault(label[0], []).append(label)
    for p in range(len(text) - 1, -1, -1):
        for label in by_first.get(text[p], ()):
            if values[label] == target and text.startswith(label, p) and _decides(text, p, label, values, parse):
                return p, label
    raise DistributionError("the verdict is not written as one of the family's labels")


def _decides(text: str, p: int, label: str, values: dict[str, Any], parse: Callable[[str], Any]) -> bool:
    end = p + len(label)
    for other, value in values.items():
        try:
            if parse(text[:p] + other + text[end:]) != value:
                return False
        except VerdictError:
            return False
    return True


def token_at(tokens: Sequence[TokenLogprob], text: str, p: int) -> tuple[int, int]:
    """(token index, byte offset inside it) of character ``p`` of ``text``.

    The tokens' bytes normally spell the text. A server that decodes each token on its own may write a
    token holding part of a UTF-8 character as U+FFFD; then the bytes before ``p`` are found in the tokens
    by their closest occurrence instead.
    """
    joined = b"".join(t.token for t in tokens)
    raw = text.encode("utf-8")
    at = len(text[:p].encode("utf-8"))
    if joined[:at] != raw[:at]:
        at = _realign(joined, raw, at)
    start = 0
    for i, t in enumerate(tokens):
        if start <= at < start + len(t.token):
            return i, at - start
        start += len(t.token)
    raise DistributionError("the log-probs end before the verdict (the server cut them off)")


def _realign(joined: bytes, raw: bytes, at: int) -> int:
    """Where byte ``at`` of the text falls in the tokens' bytes: after the longest stretch of text before it
    that the tokens also hold (up to 64 bytes), at the occurrence nearest ``at``."""
    for k in range(min(at, 64), 0, -1):
        context = raw[at - k:at]
        hits, h = [], joined.find(context)
        while h != -1:
            hits.append(h + k)
            h = joined.find(context, h + 1)
        if hits:
            return min(hits, key=lambda end: abs(end - at))
    raise DistributionError("the log-probs' tokens do not spell the judgment text before the verdict")


def _closes(rest: bytes, suffix: bytes) -> bool:
    """Whether ``rest``, written right after a label, fits the family's suffix (or ends the label, when none)."""
    if suffix:
        return suffix.startswith(rest) or rest.startswith(suffix)
    return not rest[:1].isalnum()


@dataclass
class Reading:
    """Label probabilities read so far, and the untaken alternatives that start several labels."""

    probs: list[float]
    pending: list[tuple[bytes, float]] = field(default_factory=list)  # (bytes written from the label on, probability)

    @property
    def pending_mass(self) -> float:
        return sum(p for _, p in self.pending)


class LabelReader:
    """Reads the probability of each label from tokens, starting at the label's first byte (see the module doc)."""

    def __init__(self, labels: Sequence[str], suffix: str):
        self.enc = [label.encode("utf-8") for label in labels]
        self.sfx = suffix.encode("utf-8")

    def read(self, tokens: Sequence[TokenLogprob], i: int, offset: int, written: bytes = b"", weight: float = 1.0,
             judged: bool = True, into: Reading | None = None) -> Reading:
        """Follow the generated tokens from token ``i`` (byte ``offset``) until they settle a label.

        ``written``/``weight``: bytes already written from the label's start and their probability (a
        continuation). ``judged``: these are the judge's own verdict tokens, which must spell a label.
        """
        out = into or Reading([0.0] * len(self.enc))
        while i < len(tokens):
            tok = tokens[i]
            spans = [(written + tok.token[offset:], tok.logprob, True)]
            spans += [(written + alt[offset:], lp, False) for alt, lp in tok.top
                      if alt.startswith(tok.token[:offset]) and alt != tok.token]
            descend = self._step(spans, written, weight, judged, out)
            if descend is None:
                return out
            if not descend:
                if judged:
                    raise DistributionError("the judge's tokens at the verdict spell no label")
                return out
            weight *= math.exp(tok.logprob)  # not settled yet: read on along the generated path
            written, i, offset = descend, i + 1, 0
        if judged:
            raise DistributionError("the log-probs end inside the verdict label")
        if written:
            out.pending.append((written, weight))  # a continuation too short to settle its label
        return out

    def _step(self, spans: list[tuple[bytes, float, bool]], written: bytes, weight: float, judged: bool,
              out: Reading) -> bytes | None:
        """Count one token's alternatives into ``out``; the generated span to read on from, None once settled,
        or b"" when the generated token spells no label."""
        # Labels some untaken alternative spells out on its own: the tokenizer writes them as one token ("10").
        whole = {h[0] for span, _, gen in spans if not gen for h in [self._consistent(span)] if len(h) == 1}
        descend = None
        for span, lp, generated in spans:
            p, hit = math.exp(lp), self._consistent(span)
            exact = [k for k in hit if self.enc[k] == span]
            if len(hit) > 1 and exact and set(hit) - set(exact) <= whole:
                hit = exact  # "1" beside a "10" token: a tokenizer with "10" would not write 10 as "1", "0"
            if not hit and generated and judged and written in self.enc:
                hit = [self.enc.index(written)]  # the judge ended its label here (end of text): the parser says so
            if len(hit) == 1:
                out.probs[hit[0]] += weight * p
            elif hit and generated:
                descend = span
            elif hit:
                out.pending.append((span, weight * p))
            elif generated:
                descend = b""
        return descend

    def _consistent(self, written: bytes) -> list[int]:
        """Indices of the labels that bytes written from the label's position may still become."""
        out = []
        for k, label in enumerate(self.enc):
            if (label + self.sfx).startswith(written):
                out.append(k)
            elif written.startswith(label) and _closes(written[len(label):], self.sfx):
                out.append(k)
        return out


@dataclass
class VerdictReading:
    """One game's verdict being read: its labels, the text before the label, and the probabilities so far."""

    labels: list[str]
    reader: LabelReader
    before: str  # the judgment up to the label
    reading: Reading


def start_reading(result: GenResult, spec: GenRequest, parse: Callable[[str], Any]) -> VerdictReading:
    """Read the verdict's label probabilities from the judgment's own tokens (raises DistributionError)."""
    if not result.token_logprobs:
        raise DistributionError("the server returned no log-probs (does it support logprobs/top_logprobs?)")
    if not any(t.top for t in result.token_logprobs):
        raise DistributionError("the server returned no top_logprobs alternatives")
    text = result.text or ""
    values = label_values(spec, parse)
    p, _ = verdict_span(text, values, parse)
    i, offset = token_at(result.token_logprobs, text, p)
    reader = LabelReader(list(values), spec.score_suffix)
    return VerdictReading(list(values), reader, text[:p], reader.read(result.token_logprobs, i, offset))


def continue_pending(state: VerdictReading, continuations: Sequence[Sequence[TokenLogprob] | None]) -> None:
    """Split each pending alternative by the next token's probabilities after it (``continuations``, in order)."""
    pending, state.reading.pending = state.reading.pending, []
    for (span, weight), tokens in zip(pending, continuations):
        if tokens:
            state.reader.read(tokens, 0, 0, written=span, weight=weight, judged=False, into=state.reading)
        else:
            state.reading.pending.append((span, weight))


def finish_reading(result: GenResult, state: VerdictReading) -> GenResult:
    """``result`` with the renormalised distribution, or an error when too much probability is unresolved."""
    unresolved = state.reading.pending_mass
    if unresolved > UNRESOLVED_LIMIT:
        return replace(result, error=f"no verdict distribution: {unresolved:.3f} of the probability went to tokens "
                                     f"that start several labels (such as '1' of 1 and 10) and were not continued")
    total = sum(state.reading.probs)
    return replace(result, distribution={label: q / total for label, q in zip(state.labels, state.reading.probs)})


def read_distribution(result: GenResult, spec: GenRequest, parse: Callable[[str], Any]) -> GenResult:
    """``result`` with the distribution of its verdict over ``spec``'s labels, or with an error saying why not
    (without continuation requests: pending alternatives stay unresolved). A judgment without a verdict is
    returned as it is: its record is unparseable, as with --judge-method generate."""
    if not result.ok:
        return result
    try:
        return finish_reading(result, start_reading(result, spec, parse))
    except NoVerdict:
        return result
    except DistributionError as exc:
        return replace(result, error=f"no verdict distribution: {exc}")


def continuation_requests(messages: list[dict[str, str]], state: VerdictReading) -> list[GenRequest | None]:
    """Per pending alternative, a one-token request continuing the judgment from it (None: not text)."""
    out: list[GenRequest | None] = []
    for span, _ in state.reading.pending:
        try:
            prefill = state.before + span.decode("utf-8")
        except UnicodeDecodeError:
            out.append(None)
            continue
        out.append(GenRequest(messages, max_new_tokens=1, prefill=prefill, top_logprobs=TOP_LOGPROBS))
    return out


def read_match(family: JudgeFamily, match: Match, games: list[tuple[list[dict[str, str]], GenRequest]],
               results: dict[int, GenResult], language: str, model: ChatModel | None = None
               ) -> tuple[list[tuple[list[dict[str, str]], GenRequest]], dict[int, GenResult]]:
    """The games with their label requests (what the records read labels from) and results with distributions.

    ``model``: the judge's engine; on an OpenAI-compatible server (one that continues a final assistant
    message) pending alternatives over the limit are split by one-token continuation requests.
    """
    scale = match.criteria.scale if match.criteria else None
    fmt = match.prompt.output_format
    parse = pair_parser(fmt) if match.pairwise else single_parser(fmt, match.scale)
    label_games, read, states = [], {}, {}
    for gi, (messages, _) in enumerate(games):
        spec = family.distribution_request(match.prompt, match.pairwise, messages, language, scale)
        label_games.append((messages, spec))
        read[gi] = results[gi]
        if results[gi].ok:
            try:
                states[gi] = start_reading(results[gi], spec, parse)
            except NoVerdict:
                continue  # the record says "unparseable judgment", as with --judge-method generate
            except DistributionError as exc:
                read[gi] = replace(results[gi], error=f"no verdict distribution: {exc}")
    if model is not None and getattr(model, "base_url", None):
        spent = _continue(model, {gi: (games[gi][0], st) for gi, st in states.items()
                                  if st.reading.pending_mass > UNRESOLVED_LIMIT})
        for gi, (prompt, completion) in spent.items():  # the continuations' tokens count with the game's call
            results[gi] = replace(results[gi], prompt_tokens=(results[gi].prompt_tokens or 0) + prompt,
                                  completion_tokens=(results[gi].completion_tokens or 0) + completion)
    for gi, state in states.items():
        read[gi] = finish_reading(results[gi], state)
    return label_games, read


def _continue(model: ChatModel, todo: dict[int, tuple[list[dict[str, str]], VerdictReading]]
              ) -> dict[int, tuple[int, int]]:
    """One batch of continuation calls for every pending alternative of the games in ``todo``; per game, the
    (prompt, completion) tokens they used."""
    requests = {gi: continuation_requests(messages, state) for gi, (messages, state) in todo.items()}
    flat = [r for reqs in requests.values() for r in reqs if r is not None]
    answers = iter(model.generate(flat) if flat else [])
    spent = {}
    for gi, reqs in requests.items():
        tokens, used = [], [0, 0]
        for r in reqs:
            got = next(answers) if r is not None else None
            tokens.append(got.token_logprobs if got is not None and got.ok else None)
            if got is not None:
                used[0] += got.prompt_tokens or 0
                used[1] += got.completion_tokens or 0
        continue_pending(todo[gi][1], tokens)
        spent[gi] = (used[0], used[1])
    return spent
