"""``--batch``: an API model's requests sent through its provider's batch API, at about half the price.

:class:`BatchModel` is a ChatModel: ``stream_keyed(requests, keys)`` yields ``(index, GenResult)`` like
any engine, so judging and answering write the same records through the same store as a live run. Each
request's ``custom_id`` is derived from its record key, so a result maps back to exactly one record.

* Requests are built and replies read by the provider's own code (``OpenAIModel`` / ``AnthropicModel``):
  their ``_call`` is run against a stand-in client that keeps the body it posts, and later hands it the
  batch's response body, so a batch result is read exactly as a live reply is.
* Resume: each batch is saved in ``<output>.batches.json`` the moment it is created (batch_state.py).
  A rerun looks up every request there first and polls the batch that holds it instead of submitting it
  again; keys already in the output are never requested at all.
* Failures: a request that failed in a batch with a retryable error (429, 5xx, overloaded) and the
  requests an expired or cancelled batch never ran are resubmitted in a new batch (``retry="batch"``,
  still at the batch price) or sent live (``retry="live"``), up to ``max_retries`` times; then, or at
  once for an error that cannot succeed on retry (a 400), the request gets an error record.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

from ...errors import ConfigError
from ...locks import LockOptions
from ..base import ChatModel, GenRequest, GenResult
from ..config import EngineConfig
from .base import APIModel, BadResponse
from .batch_options import RETRY_MODES, BatchOptions
from .batch_protocols import PROTOCOLS, ItemResult, Poll, sync_client
from .batch_state import BatchState, SavedBatch, fingerprint, state_path
from .retry import FAIL, RETRY, APIFatalError, Outcome, classify_status

log = logging.getLogger(__name__)


def custom_id(key: str) -> str:
    """A batch custom_id for a record key: readable, unique, and valid for both providers (^[A-Za-z0-9_-]{1,64}$)."""
    readable = re.sub(r"[^A-Za-z0-9_-]+", "-", key)[:40].strip("-")
    return f"{readable}-{hashlib.sha256(key.encode('utf-8')).hexdigest()[:16]}"


class _Captured(Exception):
    """Raised by the stand-in client once it has the body a provider's ``_call`` posts."""


class _StandIn:
    """What a provider's ``_call`` sees as its SDK client: it keeps the posted body, or answers with ``reply``."""

    def __init__(self, reply: dict[str, Any] | None = None):
        self.reply = reply
        self.path = ""
        self.body: dict[str, Any] = {}

    async def post(self, path: str, *, body: dict[str, Any], **_: Any) -> Any:
        self.path, self.body = path, body
        if self.reply is None:
            raise _Captured()
        return self.reply


def _drive(coro: Any) -> Any:
    """Run a coroutine that awaits nothing but the stand-in client (so it never suspends) to its result."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    finally:
        coro.close()
    raise RuntimeError("a provider's call awaited something other than its client's post")


class BatchModel(ChatModel):
    """``model``'s requests through its provider's batch API; batches saved in ``state`` for resuming."""

    def __init__(self, model: APIModel, state: BatchState, options: BatchOptions = BatchOptions()):
        if model.engine not in PROTOCOLS:
            raise ConfigError(f"--batch: {model.where()} has no batch API here (batches: openai, anthropic)")
        if options.retry not in RETRY_MODES:
            raise ConfigError(f"--batch-retry {options.retry}: expected one of {', '.join(RETRY_MODES)}")
        self.inner = model
        self.name, self.engine = model.name, model.engine
        self.options = options
        self.state = state
        self.delivered: set[tuple[str, str]] = set()  # (custom_id, fingerprint) handed to the caller in this run
        self._interrupted = False
        self._protocol: Any = None

    @property
    def protocol(self) -> Any:
        if self._protocol is None:
            m = self.inner
            client = sync_client(m.sdk, m._key, m.options.api_base, m.options.max_retries, m.options.request_timeout)
            self._protocol = PROTOCOLS[m.engine](client)
        return self._protocol

    def describe(self) -> dict[str, Any]:
        return self.inner.describe()

    def stream(self, requests: Sequence[GenRequest]) -> Iterator[tuple[int, GenResult]]:
        """Without record keys: each request keyed by its position and content (resumable for the same list)."""
        keys = [f"r{i}-{fingerprint(self._capture(r)[1])}" for i, r in enumerate(requests)]
        return self.stream_keyed(requests, keys)

    def stream_keyed(self, requests: Sequence[GenRequest], keys: Sequence[str]) -> Iterator[tuple[int, GenResult]]:
        """Yield ``(index, result)`` for every request, ``keys[i]`` being request i's record key."""
        run = _Run(self, requests, keys)
        finished = False
        try:
            yield from run.results()
            finished = True
        finally:
            if not finished:
                self._interrupted = True

    def _capture(self, request: GenRequest) -> tuple[str, dict[str, Any]]:
        """The path and body the provider would post for ``request``."""
        if request.score_choices:
            raise ConfigError(f"{self.inner.where()}: distribution judging needs a local judge; API judges generate")
        standin = _StandIn()
        try:
            _drive(self.inner._call(standin, request))
        except _Captured:
            return standin.path, standin.body
        raise RuntimeError("the provider's call posted nothing")

    def read(self, request: GenRequest, item: ItemResult) -> GenResult | Outcome:
        """A batch result as the provider reads a live reply; an Outcome for a failed request."""
        if item.data is None:
            return classify_status(item.status or 500, item.message)
        try:
            return _drive(self.inner._call(_StandIn(item.data), request))
        except BadResponse as exc:
            return Outcome(FAIL, f"bad response: {exc}")

    @contextlib.contextmanager
    def calling(self, what: str) -> Iterator[None]:
        """SDK errors of the batch management calls as one clear message (the key scrubbed); state is saved."""
        sdk = self.inner._sdk_module()
        try:
            yield
        except sdk.APIError as exc:
            outcome = self.inner._classify(exc)
            text = outcome.message if outcome else str(exc)
            raise APIFatalError(self.inner.scrub(
                f"{self.inner.where()}: {what} failed: {text}. Batches created so far are saved in "
                f"{self.state.path}; rerun the same command to resume them")) from None

    def close(self) -> None:
        if not self._interrupted:
            self.state.forget(self.delivered)
        self.state.close()
        if self._protocol is not None:
            self._protocol.client.close()
            self._protocol = None
        self.inner.close()


class _Run:
    """One ``stream_keyed`` call: assign requests to saved batches or new ones, poll, deliver, retry."""

    def __init__(self, model: BatchModel, requests: Sequence[GenRequest], keys: Sequence[str]):
        if len(keys) != len(requests):
            raise ValueError(f"{len(keys)} keys for {len(requests)} requests")
        self.m = model
        self.requests = requests
        self.ids = [custom_id(k) for k in keys]
        if len(set(self.ids)) != len(self.ids):
            raise ValueError("two requests of one batch run share a record key")
        self.calls = [model._capture(r) for r in requests]
        self.prints = [fingerprint(body) for _, body in self.calls]
        self.attempts = [0] * len(requests)
        self.watch: dict[str, list[int]] = {}  # batch id -> indices of the requests it answers for us
        self.seen: dict[str, str] = {}  # batch id -> counts last shown

    def results(self) -> Iterator[tuple[int, GenResult]]:
        if not self.requests:
            return
        fresh = self._resume()
        self._submit(fresh)
        while self.watch:
            again: list[int] = []
            for batch_id in list(self.watch):
                poll = self._poll(batch_id)
                if poll.ended:
                    yield from self._settle(batch_id, poll, again)
            if again and self.m.options.retry == "live":
                yield from self._live(again)
            elif again:
                self._submit(again)
            if self.watch:
                time.sleep(self.m.options.poll)

    def _resume(self) -> list[int]:
        """Attach each request to the newest saved batch holding it; the ones no batch holds are returned."""
        provider, fresh = self.m.engine, []
        self.m.state.refresh()  # --share: the batches other workers saved, a dead one's included
        self._confirm()
        for i, (cid, fp) in enumerate(zip(self.ids, self.prints)):
            held = self.m.state.holding(provider, cid, fp)
            self.attempts[i] = len(held)
            if held:
                self.watch.setdefault(held[-1].id, []).append(i)
            else:
                fresh.append(i)
        if self.watch:
            n = len(self.watch)
            log.info("%s: resuming %d saved batch%s for %d requests (%s)", self.m.name, n, "" if n == 1 else "es",
                     len(self.requests) - len(fresh), self.m.state.path)
        return fresh

    def _confirm(self) -> None:
        """Batches whose creation an earlier run began but never saw confirmed: found by their input file, or
        dropped (then their requests are submitted again, the create having never happened)."""
        for saved in [b for b in self.m.state.batches if b.status == "creating" and b.provider == self.m.engine]:
            with self.m.calling(f"looking for the batch of input file {saved.input_file}"):
                found = self.m.protocol.find(saved.input_file) if saved.input_file else None
            log.info("%s: the batch of input file %s %s", self.m.name, saved.input_file,
                     f"was created: {found}" if found else "was never created")
            self.m.state.confirm(saved, found)

    def _submit(self, indices: list[int]) -> None:
        """Submit ``indices`` in as few batches as the provider's limits allow; each saved as soon as it exists."""
        protocol = self.m.protocol
        chunk: list[int] = []
        entries: list[dict[str, Any]] = []
        size = 0
        for i in indices:
            path, body = self.calls[i]
            entry = protocol.entry(self.ids[i], path, body)
            n = len(json.dumps(entry, ensure_ascii=False).encode("utf-8")) + 1
            if chunk and (len(chunk) >= protocol.max_requests or size + n > protocol.max_bytes):
                self._create(chunk, entries)
                chunk, entries, size = [], [], 0
            chunk.append(i)
            entries.append(entry)
            size += n
        if chunk:
            self._create(chunk, entries)

    def _create(self, chunk: list[int], entries: list[dict[str, Any]]) -> None:
        saved = SavedBatch("", self.m.engine, {self.ids[i]: self.prints[i] for i in chunk}, status="creating")
        with self.m.calling("creating a batch"):
            saved.input_file = self.m.protocol.upload(entries)
            if saved.input_file:  # a kill during the create call can then find the batch again (_confirm)
                self.m.state.add(saved)
            batch_id = self.m.protocol.submit(entries, saved.input_file)
        if saved.input_file:
            self.m.state.confirm(saved, batch_id)
        else:
            saved.id, saved.status = batch_id, "submitted"
            self.m.state.add(saved)
        for i in chunk:
            self.attempts[i] += 1
        self.watch[batch_id] = chunk
        log.info("%s: batch %s submitted with %d requests", self.m.name, batch_id, len(chunk))

    def _poll(self, batch_id: str) -> Poll:
        with self.m.calling(f"polling batch {batch_id}"):
            poll = self.m.protocol.poll(batch_id)
        shown = f"{poll.status}: {poll.counts}"
        if self.seen.get(batch_id) != shown:  # progress: the batch's own counts, when they change
            self.seen[batch_id] = shown
            log.info("%s: batch %s %s", self.m.name, batch_id, shown)
        return poll

    def _settle(self, batch_id: str, poll: Poll, again: list[int]) -> Iterator[tuple[int, GenResult]]:
        """Deliver an ended batch's results; put its retryable failures and unrun requests in ``again``."""
        indices = self.watch.pop(batch_id)
        self.m.state.set_status(batch_id, poll.outcome)
        if poll.outcome == "failed":  # the batch was refused as a whole (its input did not validate)
            log.warning("%s: batch %s failed: %s", self.m.name, batch_id, poll.message or "no reason given")
            for i in indices:
                yield self._deliver(i, GenResult(error=self.m.inner.scrub(f"batch failed: {poll.message}")))
            return
        with self.m.calling(f"reading the results of batch {batch_id}"):
            items = self.m.protocol.results(batch_id)
        unrun = [i for i in indices if not items.get(self.ids[i], ItemResult()).ran]
        if poll.outcome in ("expired", "cancelled") or unrun:
            log.warning("%s: batch %s %s with %d of %d of our requests not run; resubmitting them", self.m.name,
                        batch_id, poll.outcome, len(unrun), len(indices))
        for i in indices:
            item = items.get(self.ids[i], ItemResult())
            outcome = self.m.read(self.requests[i], item) if item.ran else Outcome(RETRY, f"batch {poll.outcome}")
            if isinstance(outcome, GenResult):
                outcome.attempts = self.attempts[i]
                yield self._deliver(i, outcome)
            elif outcome.action == RETRY and self.attempts[i] <= self.m.inner.policy.max_retries:
                again.append(i)
            else:
                gave_up = f" (gave up after {self.attempts[i]} batches)" if outcome.action == RETRY else ""
                yield self._deliver(i, GenResult(error=self.m.inner.scrub(outcome.message) + gave_up,
                                                 attempts=self.attempts[i]))

    def _live(self, indices: list[int]) -> Iterator[tuple[int, GenResult]]:
        log.info("%s: retrying %d failed batch requests live", self.m.name, len(indices))
        for j, result in self.m.inner.stream([self.requests[i] for i in indices]):
            result.attempts += self.attempts[indices[j]]
            yield self._deliver(indices[j], result)

    def _deliver(self, i: int, result: GenResult) -> tuple[int, GenResult]:
        self.m.delivered.add((self.ids[i], self.prints[i]))
        return i, result


def open_batch(config: EngineConfig, output: str | Path, options: BatchOptions,
               lock: LockOptions | None = LockOptions()) -> BatchModel:
    """The batch engine of an API model whose results go to ``output`` (its state file lies beside it, locked
    as the output is: ``lock``)."""
    from ..registry import load

    if not config.is_api:
        raise ConfigError(f"--batch needs an API model (openai: or anthropic:), not the {config.provider} engine")
    model = load(config)
    if not isinstance(model, APIModel):
        raise ConfigError(f"--batch: the {config.provider} engine is not an API model")
    return BatchModel(model, BatchState.load(state_path(output), lock), options)
