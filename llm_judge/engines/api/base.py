"""API engines (OpenAI, Anthropic, any OpenAI-compatible server) behind the ChatModel interface.

Concurrency, retries and failure handling live here once; the provider modules only say how to build
a request, read a response and sort their SDK's exceptions (``openai_api.py``, ``anthropic_api.py``).

* ``parallel`` worker coroutines on one event loop (a background thread, see ``aioloop.py``) pull
  requests from one queue, so exactly that many calls are in flight, whatever the number of requests.
* The SDKs' own retries are switched off. A call that fails with a retryable error gives its slot back
  while it waits (Retry-After, else exponential backoff with jitter) and then goes to the front of the
  queue; after ``max_retries`` retries it becomes ``GenResult(error=...)``, i.e. an error record that
  the next run retries.
* A fatal failure (bad key, unknown model) raises :class:`APIFatalError` from ``stream`` at once.
* Keys are read from the environment only, and never appear in a message we produce.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import importlib
import logging
import os
import queue
import random
import re
import threading
import time
from typing import Any, Callable, Iterator, Sequence

from ...errors import ConfigError
from .aioloop import LoopThread
from ..base import ChatModel, GenRequest, GenResult
from ..config import APIOptions, EngineConfig
from .retry import FAIL, FATAL, RETRY, APIFatalError, Outcome, RetryPolicy, classify_status, parse_retry_after

__all__ = ["APIOptions", "APIModel", "APIFatalError", "require_name"]

log = logging.getLogger(__name__)

_DONE = object()  # put on a stream's result queue when its run has ended

_timeout = getattr(asyncio, "timeout", None)  # Python >= 3.11; cheaper than wait_for (no task per call)


def require_name(config: EngineConfig) -> str:
    """The API model name of ``config``: a provider's models have no default."""
    if not config.model:
        raise ConfigError(f"an {config.provider} model needs a name, e.g. {config.provider}:MODEL")
    return config.model


class BadResponse(Exception):
    """The server answered 200 with a body that is not the protocol's response."""


class APIModel(ChatModel):
    """The shared machinery; a provider names its SDK (class attributes) and implements ``_call``."""

    engine = "api"
    key_env = ""  # default environment variable of the key
    base_env = ""  # the SDK's environment variable of the base URL
    provider_label = "API"
    sdk = ""  # the SDK's module, "openai" or "anthropic"
    client_class = ""  # its async client class
    sdk_error = ""  # its base exception class

    def __init__(self, model: str, name: str, options: APIOptions | None = None):
        self.model = model
        self.name = name
        self.options = options or APIOptions()
        if self.options.parallel < 1:
            raise ConfigError(f"--parallel must be >= 1, got {self.options.parallel}")
        self.base_url = self.options.api_base or os.environ.get(self.base_env) or None
        # what is shown and stored: never a user:password that a base URL may carry
        self.shown_url = re.sub(r"//[^/@]*@", "//", self.base_url) if self.base_url else None
        self._key_env = self.options.api_key_env or self.key_env
        self._key = self._read_key()
        self.policy = RetryPolicy(max_retries=self.options.max_retries)
        self.retries: dict[str, int] = {}  # reason -> count, for the end-of-run note
        self._rng = random.Random()
        self._loop: LoopThread | None = None
        self._client_ready: concurrent.futures.Future[Any] | None = None
        self._client: Any = None  # the SDK client, once built
        for noisy in ("httpx", "httpx2", "httpcore", "httpcore2"):  # one INFO line per request otherwise
            logging.getLogger(noisy).setLevel(logging.WARNING)

    # -- what a provider module implements: the SDK's names, the request body and reading the reply ----
    async def _call(self, client: Any, request: GenRequest) -> GenResult:
        raise NotImplementedError

    def _classify(self, exc: BaseException) -> Outcome | None:
        """What an exception from ``_call`` means; None for exceptions that are bugs, not API errors.

        Both SDKs raise the same family: APIStatusError (with the HTTP status and headers),
        APITimeoutError, APIConnectionError (dropped connections, refused, reset), under one base class.
        """
        sdk = self._sdk_module()
        if isinstance(exc, sdk.APIStatusError):
            return classify_status(exc.status_code, error_text(exc), parse_retry_after(exc.response.headers))
        if isinstance(exc, sdk.APITimeoutError):  # also a connection the server dropped, with aiohttp
            return Outcome(RETRY, f"timeout: {exc.__cause__ or 'the request timed out'}")
        if isinstance(exc, sdk.APIConnectionError):
            return Outcome(RETRY, f"connection error: {exc.__cause__ or exc}")
        if isinstance(exc, BadResponse):
            return Outcome(RETRY, f"bad response: {exc}")
        if isinstance(exc, getattr(sdk, self.sdk_error)):
            return Outcome(FAIL, f"{type(exc).__name__}: {exc}")
        return None

    # -- keys and messages -------------------------------------------------------------------------
    def _read_key(self) -> str:
        key = os.environ.get(self._key_env, "")
        if key:
            return key
        if self.options.api_key_env:
            raise ConfigError(f"--api-key-env {self._key_env}: that environment variable is not set or empty")
        if self.base_url:
            return "none"  # local OpenAI-compatible servers (vLLM, llama.cpp, Ollama) usually need no key
        raise ConfigError(f"{self._key_env} is not set: export your {self.provider_label} API key in it "
                          f"(keys are read only from the environment), or name another variable with --api-key-env")

    def secrets(self) -> list[str]:
        """Every credential this engine holds (a provider with several, AWS's, lists them all)."""
        return [self._key]

    def scrub(self, text: str) -> str:
        """``text`` with the credentials removed, for anything that is logged or written."""
        for secret in self.secrets():
            if secret and len(secret) >= 4 and secret in text:
                text = text.replace(secret, "[redacted]")
        return text

    def where(self) -> str:
        return f"{self.provider_label} model {self.model!r}" + (f" at {self.shown_url}" if self.base_url else "")

    def describe(self) -> dict[str, Any]:
        d = {"engine": self.engine, "model": self.model}
        if self.base_url:
            d["api_base"] = self.shown_url
        return d

    # -- running -----------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the engine's event loop and build the SDK client on it, without waiting for either.

        Building the client imports the SDK, the largest part of an API run's start-up (docs/api.md, Throughput);
        ``stream`` waits for it on the loop, so a caller may start early and do its own work first.
        """
        if self._loop is None:
            self._loop = LoopThread(f"llm-judge-{self.engine}")
            self._client_ready = self._loop.submit(self._create_client())

    def _ensure_started(self) -> LoopThread:
        self.start()
        assert self._loop is not None
        return self._loop

    async def _create_client(self) -> Any:
        # Built on the loop thread: the HTTP client binds to the loop it is first used on. Both SDKs'
        # clients take the same arguments; base_url None lets the SDK read its own environment variable.
        sdk = self._sdk_module()
        http_client = _http_client(sdk, self.options.parallel, self.options.request_timeout)
        return getattr(sdk, self.client_class)(**self._client_args(), max_retries=0,
                                               timeout=self.options.request_timeout, http_client=http_client)

    async def _close_client(self) -> None:
        assert self._client_ready is not None
        try:
            client = await asyncio.wrap_future(self._client_ready)
        except Exception:  # never built (the SDK failed to import): nothing to close
            return
        await client.close()

    def _client_args(self) -> dict[str, Any]:
        """The SDK client's credentials and address; Azure, Bedrock and Vertex clients take their own."""
        return {"api_key": self._key, "base_url": self.options.api_base}

    def _sdk_module(self) -> Any:
        return importlib.import_module(self.sdk)

    def stream(self, requests: Sequence[GenRequest]) -> Iterator[tuple[int, GenResult]]:
        """Yield (index, result) as calls complete. Unlike a generator, it starts at once: it returns when the
        first ``parallel`` calls are sent, so that the caller's own work (the cost preview) overlaps their
        latency instead of delaying them or competing with their sending for the interpreter lock."""
        if not requests:
            return iter(())
        for r in requests:
            if r.score_choices:
                raise ConfigError(f"{self.where()}: distribution judging (--judge-method distribution) needs a "
                                  f"local judge; API judges generate their verdict (--judge-method generate)")
        loop = self._ensure_started()
        out: queue.SimpleQueue = queue.SimpleQueue()
        sent = threading.Event()
        # calls in flight plus results the caller has not taken yet: at most ``parallel``, so that a caller
        # slower than the calls (a loaded CPU) holds back new calls instead of piling up results that a
        # kill would lose before they are written
        slots = asyncio.Semaphore(self.options.parallel)
        future = loop.submit(self._run_all(list(requests), out.put, sent, slots))

        def finished(_: Any) -> None:
            out.put(_DONE)
            sent.set()

        future.add_done_callback(finished)
        results = self._results(future, out, len(requests), lambda: loop.call(slots.release))
        next(results)  # primed: from here on, closing or dropping the iterator cancels the calls
        sent.wait()
        return results

    def _results(self, future: Any, out: queue.SimpleQueue, total: int, taken: Callable[[], None]) -> Iterator[Any]:
        received = 0
        try:
            yield None  # the priming step of ``stream``
            while received < total:
                if received:
                    taken()  # the caller is done with the last result (written it): its slot is free
                item = out.get()
                if item is _DONE:
                    future.result()  # raises the run's exception (APIFatalError, a bug)
                    raise RuntimeError(f"{self.where()}: stopped after {received} of {total} results")
                received += 1
                yield item
        finally:
            if not future.done():  # the caller stopped early (an exception, Ctrl-C): stop the calls too
                future.cancel()

    async def _run_all(self, requests: list[GenRequest], emit: Callable[[tuple[int, GenResult]], None],
                       sent: threading.Event, slots: asyncio.Semaphore) -> None:
        assert self._client_ready is not None
        self._client = await asyncio.wrap_future(self._client_ready)
        batch = _Batch(requests, emit, slots)
        workers = [asyncio.create_task(self._worker(batch)) for _ in range(min(self.options.parallel, len(requests)))]
        waiter = asyncio.create_task(batch.all_done.wait())
        try:
            await _until_idle()  # every worker has built and written its first request
            sent.set()
            finished, _ = await asyncio.wait(workers + [waiter], return_when=asyncio.FIRST_COMPLETED)
            for t in finished:
                if t is not waiter:
                    t.result()  # a worker only ends by raising
        finally:
            for h in batch.timers:
                h.cancel()
            await _cancel_all(workers, waiter)

    async def _worker(self, batch: "_Batch") -> None:
        while True:
            await batch.slots.acquire()  # freed when the caller takes the result, or when the call is retried
            _, i = await batch.ready.get()
            batch.attempts[i] += 1
            self._settle(batch, i, await self._attempt(batch.requests[i]))

    def _settle(self, batch: "_Batch", i: int, outcome: GenResult | Outcome) -> None:
        """Record request ``i``'s result, schedule its retry, or stop the run (a fatal error)."""
        attempts = batch.attempts[i]
        if isinstance(outcome, GenResult):
            batch.finish(i, outcome)
        elif outcome.action == FATAL:
            raise APIFatalError(self.scrub(
                f"{self.where()}: {outcome.message}. Stopped at once: every other call would fail the same "
                f"way. Results finished so far are saved; fix the cause and rerun the same command."))
        elif outcome.action == RETRY and attempts <= self.policy.max_retries:
            reason = outcome.message.split(":")[0]
            self.retries[reason] = self.retries.get(reason, 0) + 1
            delay = self.policy.delay(attempts, outcome.retry_after, self._rng)
            log.debug("%s: retry %d of request %d in %.2fs after %s", self.name, attempts, i, delay, outcome.message)
            batch.retry_later(i, delay)
            batch.slots.release()  # no call is in flight while it waits out its backoff
        else:
            gave_up = f" (gave up after {attempts} attempts)" if outcome.action == RETRY else ""
            batch.finish(i, GenResult(error=self.scrub(outcome.message) + gave_up))

    async def _attempt(self, request: GenRequest) -> GenResult | Outcome:
        try:
            if _timeout is not None:
                async with _timeout(self.options.request_timeout):
                    return await self._call(self._client, request)
            return await asyncio.wait_for(self._call(self._client, request), self.options.request_timeout)
        except asyncio.TimeoutError:
            return Outcome(RETRY, f"timeout: no answer within {self.options.request_timeout:g}s")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            outcome = self._classify(exc)
            if outcome is None:
                raise
            return outcome

    def close(self) -> None:
        if self._loop is not None:
            self._loop.close(self._close_client())
            self._loop, self._client = None, None
        if self.retries:
            log.info("%s: %d retries (%s)", self.name, sum(self.retries.values()),
                     ", ".join(f"{k}: {v}" for k, v in sorted(self.retries.items())))


class _Batch:
    """The state of one ``stream`` call on the event loop: requests ready to send, attempts, retry timers.

    Fresh requests are (1, index), retries (0, index): a retry that has waited out its backoff goes
    before fresh work, so the run's tail is not made of retries queued behind everything else.
    """

    def __init__(self, requests: list[GenRequest], emit: Callable[[tuple[int, GenResult]], None],
                 slots: asyncio.Semaphore):
        self.requests = requests
        self.emit = emit
        self.slots = slots
        self.ready: asyncio.PriorityQueue[tuple[int, int]] = asyncio.PriorityQueue()
        for i in range(len(requests)):
            self.ready.put_nowait((1, i))
        self.attempts = [0] * len(requests)
        self.left = len(requests)
        self.all_done = asyncio.Event()
        self.timers: set[asyncio.TimerHandle] = set()

    def finish(self, i: int, result: GenResult) -> None:
        result.attempts = self.attempts[i]
        self.emit((i, result))
        self.left -= 1
        if self.left == 0:
            self.all_done.set()

    def retry_later(self, i: int, delay: float) -> None:
        self.timers.add(asyncio.get_running_loop().call_later(delay, self.ready.put_nowait, (0, i)))


async def _until_idle(limit: float = 2.0) -> None:
    """Return once the loop has nothing left to run, or after ``limit`` seconds.

    Right after the workers start, the loop is busy building and writing their first requests. Idle means a
    1 ms sleep during which this thread used (almost) no CPU: CPU time, not wall time, so that a loaded
    machine that wakes the thread late does not read as a busy loop.
    """
    loop = asyncio.get_running_loop()
    end = loop.time() + limit
    while loop.time() < end:
        before = time.thread_time()
        await asyncio.sleep(0.001)
        if time.thread_time() - before < 0.0005:  # an idle 1 ms sleep costs a small fraction of that
            return


async def _cancel_all(workers: list[asyncio.Task], waiter: asyncio.Task) -> None:
    """Cancel until every worker has ended.

    A cancellation that arrives just as a call completes can be swallowed on the way (asyncio.wait_for
    on Python < 3.12), and a worker that missed it would wait on the empty queue forever.
    """
    pending = set(workers) | {waiter}
    while pending:
        for t in pending:
            t.cancel()
        _, pending = await asyncio.wait(pending, timeout=1.0)
    for t in workers:  # more than one may have failed (every call in flight gets the same 401)
        if not t.cancelled():
            t.exception()


def _http_client(sdk: Any, parallel: int, timeout: float) -> Any:
    """The SDK's async HTTP client, sized for ``parallel`` connections.

    aiohttp's transport (the SDKs' ``DefaultAioHttpClient``) costs about half the CPU per request of the
    default httpx one, which is what lets one process keep hundreds of calls in flight; it is used when
    aiohttp is installed.
    """
    httpx = _httpx()
    limits = httpx.Limits(max_connections=parallel, max_keepalive_connections=parallel)
    timeouts = httpx.Timeout(timeout, connect=min(timeout, 30.0))
    try:
        import aiohttp  # noqa: F401

        return sdk.DefaultAioHttpClient(limits=limits, timeout=timeouts)
    except (ImportError, RuntimeError, AttributeError):
        return sdk.DefaultAsyncHttpxClient(limits=limits, timeout=timeouts)


def _httpx() -> Any:
    try:
        import httpx2  # the SDKs' HTTP library in their current versions

        return httpx2
    except ImportError:
        import httpx  # older SDK versions

        return httpx


def error_text(exc: BaseException) -> str:
    """The server's own error message from an SDK status error, else the exception's text."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            code = inner.get("code") or inner.get("type")
            return f"{inner['message']}" + (f" [{code}]" if code else "")
        if isinstance(inner, str):
            return inner
    return str(getattr(exc, "message", None) or exc)
