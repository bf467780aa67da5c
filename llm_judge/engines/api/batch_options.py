"""The settings of ``--batch`` (see batch.py), apart from its machinery so that declaring the flags imports nothing."""
from __future__ import annotations

from dataclasses import dataclass, field

from ...locks import LockOptions

RETRY_MODES = ("batch", "live")  # how requests that failed inside a batch are retried
DEFAULT_POLL = 30.0


@dataclass(frozen=True)
class BatchOptions:
    poll: float = DEFAULT_POLL  # seconds between two looks at the batches in progress
    retry: str = "batch"  # "batch": a new batch, at the batch price; "live": ordinary calls
    lock: LockOptions = field(default_factory=LockOptions)  # the state file's, as the output's (--wait, --share)
