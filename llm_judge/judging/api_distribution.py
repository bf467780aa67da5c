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
   "10]]"), or none (ignored, like every text that is no label). Several labels are resolved only along the
   judge's own path: when it generated "1", the next token's alternatives split P("1") into
   P("1")·P("]]"|"1") for label 1 and P("1")·P("0"|"1") for label 10. An alternative the judge did not
   take that starts several labels cannot be split (the next token's probabilities after it are not in the
   reply): its mass is *unresolved*. Up to UNRESOLVED_LIMIT of unresolved mass is left out; more makes the
   record an error, never a guessed split.
4. The label probabilities are renormalised over the labels. A label among none of the top alternatives has
   probability below the last one listed, and counts as 0.

A reply without log-probs, an output without a verdict, or a verdict whose tokens are missing gives an error
record saying so. Providers whose protocol has no log-probs (Anthropic) are refused before any call.
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, Callable, Sequence

from ..engines.base import GenRequest, GenResult, TokenLogprob
from ..engines.config import EngineConfig
from ..errors import ConfigError
from .families import JudgeFamily
from .matches import Match
from .verdicts import VerdictError, pair_parser, single_parser

TOP_LOGPROBS = 20  # alternatives per token; OpenAI's maximum
# The most probability an untaken alternative that starts several labels ("1": 1 or 10) may hold and be left out.
UNRESOLVED_LIMIT = 0.01
LOGPROB_PROVIDERS = ("openai",)  # API protocols that report token log-probabilities (vLLM's, llama.cpp's servers too)


class DistributionError(Exception):
    """The reply does not hold the verdict's distribution; the message says why."""


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
        raise DistributionError(f"no verdict to read the distribution at: {exc}") from None
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


def _consistent(written: bytes, labels: Sequence[bytes], suffix: bytes) -> list[int]:
    """Indices of the labels that bytes written from the label's position may still become."""
    out = []
    for k, label in enumerate(labels):
        if (label + suffix).startswith(written):
            out.append(k)
        elif written.startswith(label) and _closes(written[len(label):], suffix):
            out.append(k)
    return out


def _closes(rest: bytes, suffix: bytes) -> bool:
    """Whether ``rest``, written right after a label, fits the family's suffix (or ends the label, when none)."""
    if suffix:
        return suffix.startswith(rest) or rest.startswith(suffix)
    return not rest[:1].isalnum()


def _one_step(tok: TokenLogprob, offset: int, written: bytes, enc: Sequence[bytes],
              sfx: bytes) -> tuple[dict[int, float], float]:
    """(probability per label index, unresolved probability) of the alternatives the judge did not take."""
    before = tok.token[:offset]
    spans = [(written + alt[offset:], math.exp(lp)) for alt, lp in tok.top
             if alt.startswith(before) and alt != tok.token]
    # Labels some alternative spells out on its own, here: the tokenizer writes them as one token ("10").
    whole = {hit[0] for span, _ in spans for hit in [_consistent(span, enc, sfx)] if len(hit) == 1}
    probs: dict[int, float] = {}
    unresolved = 0.0
    for span, p in spans:
        hit = _consistent(span, enc, sfx)
        exact = [k for k in hit if enc[k] == span]
        if len(hit) > 1 and exact and set(hit) - set(exact) <= whole:
            hit = exact  # "1" beside a "10" token: a tokenizer with "10" would not write 10 as "1", "0"
        if len(hit) == 1:
            probs[hit[0]] = probs.get(hit[0], 0.0) + p
        elif hit:
            unresolved += p
    return probs, unresolved


def label_probs(tokens: Sequence[TokenLogprob], i: int, offset: int, labels: Sequence[str],
                suffix: str) -> tuple[list[float], float]:
    """(probability of each label, unresolved probability) at byte ``offset`` of token ``i``; see the module doc."""
    enc = [label.encode("utf-8") for label in labels]
    sfx = suffix.encode("utf-8")
    probs = [0.0] * len(labels)
    unresolved, weight, written = 0.0, 1.0, b""
    while i < len(tokens):
        tok = tokens[i]
        step, lost = _one_step(tok, offset, written, enc, sfx)
        for k, p in step.items():
            probs[k] += weight * p
        unresolved += weight * lost
        mine = _consistent(written + tok.token[offset:], enc, sfx)
        if len(mine) == 1:
            probs[mine[0]] += weight * math.exp(tok.logprob)
            return probs, unresolved
        if not mine:
            raise DistributionError("the judge's tokens at the verdict spell no label")
        weight *= math.exp(tok.logprob)  # the label is not settled yet: read on along the judge's own path
        written += tok.token[offset:]
        i, offset = i + 1, 0
    raise DistributionError("the log-probs end inside the verdict label")


def read_distribution(result: GenResult, spec: GenRequest, parse: Callable[[str], Any]) -> GenResult:
    """``result`` with the distribution of its verdict over ``spec``'s labels, or with an error saying why not."""
    if not result.ok:
        return result
    try:
        if not result.token_logprobs:
            raise DistributionError("the server returned no log-probs (does it support logprobs/top_logprobs?)")
        if not any(t.top for t in result.token_logprobs):
            raise DistributionError("the server returned no top_logprobs alternatives")
        text = result.text or ""
        values = label_values(spec, parse)
        p, _ = verdict_span(text, values, parse)
        i, offset = token_at(result.token_logprobs, text, p)
        labels = list(values)
        probs, unresolved = label_probs(result.token_logprobs, i, offset, labels, spec.score_suffix)
        total = sum(probs)
        if unresolved > UNRESOLVED_LIMIT:
            raise DistributionError(f"{unresolved:.3f} of the probability went to tokens that start several labels "
                                    f"(such as '1' of 1 and 10) which the judge did not write, so it cannot be split")
    except DistributionError as exc:
        return replace(result, error=f"no verdict distribution: {exc}")
    return replace(result, distribution={label: q / total for label, q in zip(labels, probs)})


def read_match(family: JudgeFamily, match: Match, games: list[tuple[list[dict[str, str]], GenRequest]],
               results: dict[int, GenResult], language: str) -> tuple[list[tuple[list[dict[str, str]], GenRequest]],
                                                                       dict[int, GenResult]]:
    """The games with their label requests (what the records read labels from) and results with distributions."""
    scale = match.criteria.scale if match.criteria else None
    fmt = match.prompt.output_format
    parse = pair_parser(fmt) if match.pairwise else single_parser(fmt, match.scale)
    label_games, read = [], {}
    for gi, (messages, _) in enumerate(games):
        spec = family.distribution_request(match.prompt, match.pairwise, messages, language, scale)
        label_games.append((messages, spec))
        read[gi] = read_distribution(results[gi], spec, parse)
    return label_games, read
