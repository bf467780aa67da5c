"""Which failed API calls to retry, and how long to wait before trying again.

Pure functions, shared by every API backend: a backend turns its SDK's exception into an HTTP status
(or a network failure) and the error text, and :func:`classify_status` decides:

    retry   429, 408/409/425, 5xx (529 "overloaded" included), timeouts, dropped connections
    fail    this request cannot succeed (prompt too long, refused by a content filter): an error record
    fatal   no request can succeed (bad key 401, no permission 403, unknown model 404, malformed request
            400, quota used up): stop the whole run at once with one clear message
"""
from __future__ import annotations

import email.utils
import random
import re
import time
from dataclasses import dataclass
from typing import Mapping

from ...errors import LlmJudgeError

RETRY, FAIL, FATAL = "retry", "fail", "fatal"

# Text of a 4xx that is about this one request's content, not about the run's settings.
_PER_REQUEST = re.compile(r"context.?length|maximum context|too (long|many tokens)|prompt is too long|"
                          r"max_tokens.*(exceed|too large)|content.?(policy|filter|management)|safety|"
                          r"invalid_prompt|input length", re.IGNORECASE)
_QUOTA = re.compile(r"insufficient_quota|exceeded your current quota|credit balance is too low|billing",
                    re.IGNORECASE)


class APIFatalError(LlmJudgeError):
    """A failure that every later call would repeat (bad key, unknown model): the run stops here."""


@dataclass(frozen=True)
class Outcome:
    action: str  # RETRY, FAIL or FATAL
    message: str
    retry_after: float | None = None  # seconds the server asked us to wait


def classify_status(status: int, text: str, retry_after: float | None = None) -> Outcome:
    """Decide what a non-2xx HTTP answer means for the run (see the module docstring)."""
    what = f"HTTP {status}: {text}" if text else f"HTTP {status}"
    if status == 429:
        if _QUOTA.search(text):
            return Outcome(FATAL, f"{what} (the account's quota or credit is used up)")
        return Outcome(RETRY, what, retry_after)
    if status in (408, 409, 425) or status >= 500:
        return Outcome(RETRY, what, retry_after)
    if status == 401:
        return Outcome(FATAL, f"{what} (the API key was rejected)")
    if status == 403:
        return Outcome(FATAL, f"{what} (the key has no permission for this model or endpoint)")
    if status == 404:
        return Outcome(FATAL, f"{what} (check the model name and the base URL)")
    if status in (400, 413, 422):
        if _PER_REQUEST.search(text):
            return Outcome(FAIL, what)
        return Outcome(FATAL, f"{what} (the server rejects the request itself; check the model and settings)")
    return Outcome(FAIL, what)


def parse_retry_after(headers: Mapping[str, str] | None, now: float | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms``, or ``Retry-After`` as seconds or an HTTP date; else None."""
    if not headers:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@dataclass
class RetryPolicy:
    """Bounded retries: exponential backoff with jitter, or the server's Retry-After when it sent one."""

    max_retries: int = 6  # attempts = 1 + max_retries
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 300.0  # a longer Retry-After is capped here, so a run never sleeps for hours

    def delay(self, retry_number: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait before retry number ``retry_number`` (1 = the first retry)."""
        if retry_after is not None:
            # Honour the server's wait; a little extra jitter keeps retries from arriving in one burst.
            wait = min(retry_after, self.max_retry_after)
            return wait + rng.uniform(0, min(0.1 * wait, 1.0))
        # "Equal jitter": at least half the exponential step, so retries back off, never all at once.
        step = min(self.max_delay, self.base_delay * 2 ** (retry_number - 1))
        return step / 2 + rng.uniform(0, step / 2)
