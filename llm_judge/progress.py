"""What a run tells whoever watches it: :class:`Event` values handed to a callback, and :class:`Console`, the
callback that prints them as the commands do (each message one line on stderr, a tqdm bar while records come).

The library never prints on its own: a run takes ``verbose`` (a Console) and ``on_event`` (any callable), and
:func:`reporter` joins them into the one function the run calls. A panel's judges write records from several
threads, so a callback may be called from any of them.
"""
from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from typing import Any, Callable, Optional

KINDS = ("message", "start", "record", "done")


@dataclass(frozen=True)
class Event:
    """One thing a run reports.

    message: ``text`` is a line for a person (a plan, a cost estimate, a summary); start: ``total`` records
    are about to be written, counted in ``unit``; record: ``record`` was written (``failed`` when it is an
    error record); done: no more records come.
    """

    kind: str
    text: str = ""
    total: int = 0
    unit: str = "record"
    record: Any = None
    failed: bool = False


OnEvent = Callable[[Event], None]


class Console:
    """Messages printed to stderr; between start and done a tqdm bar (rate, ETA, failures so far), or
    nothing if tqdm is missing."""

    def __init__(self) -> None:
        self.bar = None
        self.failed = 0
        self.lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self.lock:
            if event.kind == "message":
                print(event.text, file=sys.stderr, flush=True)
            elif event.kind == "start":
                self._open(event)
            elif event.kind == "record" and self.bar is not None:
                if event.failed:
                    self.failed += 1
                    self.bar.set_postfix(failed=self.failed, refresh=False)
                self.bar.update(1)
            elif event.kind == "done" and self.bar is not None:
                self.bar.close()
                self.bar = None

    def _open(self, event: Event) -> None:
        try:
            from tqdm import tqdm
        except ImportError:
            return
        # Off a terminal (a log file, CI) redraw rarely, so the log gets a line now and then, not thousands.
        self.bar = tqdm(total=event.total, unit=event.unit, file=sys.stderr, dynamic_ncols=True,
                        mininterval=0.2 if sys.stderr.isatty() else 30.0)


def silent(event: Event) -> None:
    """The reporter of a run nobody watches."""


def reporter(verbose: bool = False, on_event: Optional[OnEvent] = None) -> OnEvent:
    """The one callback a run calls: a Console when ``verbose``, then ``on_event``; neither: :func:`silent`."""
    targets = ([Console()] if verbose else []) + ([on_event] if on_event is not None else [])
    if not targets:
        return silent

    def report(event: Event) -> None:
        for target in targets:
            target(event)

    return report


def heard(report: OnEvent) -> bool:
    """Whether anyone receives ``report``'s events: work done only to tell someone (a speed probe, a cost
    estimate) is skipped when nobody does."""
    return report is not silent
