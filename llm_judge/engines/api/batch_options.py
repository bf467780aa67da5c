"""The settings of ``--batch`` (see batch.py), apart from its machinery so that declaring the flags imports nothing."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...errors import ConfigError

if TYPE_CHECKING:
    from ..config import EngineConfig

RETRY_MODES = ("batch", "live")  # how requests that failed inside a batch are retried
DEFAULT_POLL = 30.0


@dataclass(frozen=True)
class BatchOptions:
    poll: float = DEFAULT_POLL  # seconds between two looks at the batches in progress
    retry: str = "batch"  # "batch": a new batch, at the batch price; "live": ordinary calls


def for_engine(options: BatchOptions | None, config: "EngineConfig") -> BatchOptions | None:
    """``options`` for ``config``'s engine: only the API providers have batch APIs."""
    if options is not None and not config.is_api:
        raise ConfigError(f"--batch needs an API model (openai:, anthropic:), not the {config.provider} engine")
    return options
