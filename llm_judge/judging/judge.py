"""A judge: one engine, one judge family and one method, opened once for a run.

gen_judgment and ``eval_judge run`` both build a :class:`Judge` and hand it to ``run.run_matches``, so
they judge the same way: the same requests, the same engines (a Ray pool included), the same records.
"""
from __future__ import annotations

import dataclasses
import logging
from typing import Iterable

from ..engines.base import ChatModel, GenRequest
from ..engines.config import EngineConfig
from ..engines.registry import open_engine
from ..errors import ConfigError
from .api_distribution import TOP_LOGPROBS, check_provider
from .families import JudgeFamily
from .matches import Match

log = logging.getLogger(__name__)

METHODS = ("generate", "distribution")


class Judge:
    """``engine`` judging with ``family``'s prompts and settings; ``open()`` (or ``with``) starts the engine.

    ``method`` "generate" asks for an explanation and a verdict of at most ``max_new_tokens`` tokens
    (None: the family's budget); "distribution" reads the probability of each verdict label instead.
    ``model``: an engine built already (a notebook's, a test's own ChatModel), used instead of opening ``engine``.
    ``stop_at_verdict``: a generated judgment ends once the family's verdict marker is complete (its
    ``verdict_stop``), instead of at EOS or the budget; a verdict the judge would revise later is then the first one.
    """

    def __init__(self, engine: EngineConfig, family: JudgeFamily, method: str = "generate",
                 max_new_tokens: int | None = None, model: ChatModel | None = None, stop_at_verdict: bool = False):
        if method not in METHODS:
            raise ConfigError(f"unknown judge method {method!r} (known: {', '.join(METHODS)})")
        if family.wrapper and engine.local:
            # A family's instruction wrapper (Auto-J's [INST] ... [/INST]) replaces the model's chat template.
            engine = engine.replace(hf=dataclasses.replace(engine.hf, chat_template=family.chat_template()))
        elif family.wrapper and engine.is_api:
            log.warning("judge family %s: its instruction wrapper is not applied to API judges; the server's chat "
                        "template formats the prompt", family.name)
        self.engine = engine
        self.family = family
        self.method = method
        self.max_new_tokens = max_new_tokens or family.max_new_tokens
        self.stop_at_verdict = stop_at_verdict and method == "generate"  # a distribution reads no text to stop
        # An API judge cannot be prefilled and scored: it generates, and the distribution is read from the
        # log-probs of its verdict (api_distribution.py).
        self.reads_logprobs = method == "distribution" and engine.is_api
        self._model: ChatModel | None = model

    @property
    def id(self) -> str:
        """The judge's name in records and file names."""
        return self.engine.name

    def request(self, match: Match, messages: list[dict[str, str]], language: str) -> GenRequest:
        """The request for one game of ``match`` (``language`` picks the distribution prefill)."""
        if self.reads_logprobs:
            check_provider(self.engine)
            self.family.distribution_request(match.prompt, match.pairwise, messages, language,
                                             match.criteria.scale if match.criteria else None)  # labels to read
            return dataclasses.replace(self.family.request(messages, self.max_new_tokens), top_logprobs=TOP_LOGPROBS)
        if self.method == "distribution":
            return self.family.distribution_request(match.prompt, match.pairwise, messages, language,
                                                    match.criteria.scale if match.criteria else None)
        stop = self.family.stop_strings(match.pairwise) if self.stop_at_verdict else None
        return self.family.request(messages, self.max_new_tokens, stop)

    def check(self, matches: Iterable[Match], language: str) -> None:
        """Build one request per prompt the matches use, so that a setting this judge cannot serve (distribution
        judging with a family that reads no labels, say) stops the run before a model loads or a file opens."""
        seen: set[str] = set()
        for match in matches:
            if match.prompt.name not in seen:
                seen.add(match.prompt.name)
                self.request(match, match.games()[0], language)

    @property
    def model(self) -> ChatModel:
        if self._model is None:
            raise RuntimeError("the judge is not open: use `with judge:` or judge.open()")
        return self._model

    def open(self) -> "Judge":
        """Start the engine (load the model, start the Ray workers or the API client); idempotent."""
        if self._model is None:
            self._model = open_engine(self.engine)
        return self

    def close(self) -> None:
        model, self._model = self._model, None
        if model is not None:
            model.close()

    def __enter__(self) -> "Judge":
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()
