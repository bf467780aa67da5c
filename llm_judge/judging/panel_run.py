"""Several judges over the same matches in one run (gen_judgment --judge-model A B C), each into its own store.

The judges work at the same time so that the slowest one sets the pace: each API judge streams its calls
from its own thread (its engine keeps its own ``--parallel`` calls in flight on its own event loop), while
the local judges (transformers, vLLM, mock) take turns on one more thread, one model loaded at a time, as
they would otherwise contend for the same cores or GPU memory. A run of API judges then takes about as
long as its slowest judge; local judges add up. Each judge writes only its own store, from one thread, so
resuming, the locks and --share work per judge exactly as for one judge.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Union

from ..jsonl import JsonlStore
from ..layouts import LayoutStore
from ..records import Judgment
from .judge import Judge
from .matches import Match
from .run import RunSummary, run_claimed

Store = Union[JsonlStore, LayoutStore]


@dataclass
class JudgeJob:
    """One judge's share of a run: the matches it has no record of yet and the store its records go to."""

    judge: Judge
    store: Store
    out: Path
    todo: list[Match]
    already_done: int = 0
    chunk: int | None = None  # --share: matches claimed at a time (run_claimed)


def run_judges(jobs: list[JudgeJob], bench: str, language: str = "en",
               on_record: Callable[[Judgment], None] | None = None,
               on_start: Callable[[JudgeJob], None] | None = None,
               on_flight: Callable[[], None] | None = None) -> list[RunSummary]:
    """Run every job (opening and closing its judge and store); their summaries, in the order of ``jobs``.

    ``on_record`` is called from the judges' threads (it must be thread-safe when there are several);
    ``on_start`` once per judge, after its engine is open; ``on_flight`` once per judge, as its first calls
    are out (run_matches' on_start). An exception in one judge's thread is raised
    once every other judge has finished, so no judge's work is cut short by another's failure.
    """
    if len(jobs) == 1:
        return _lane(jobs, bench, language, on_record, on_start, on_flight)
    lanes = [[job] for job in jobs if not job.judge.engine.local]
    local = [job for job in jobs if job.judge.engine.local]
    if local:
        lanes.append(local)
    done: list[list[RunSummary] | None] = [None] * len(lanes)
    errors: list[BaseException | None] = [None] * len(lanes)

    def work(i: int) -> None:
        try:
            done[i] = _lane(lanes[i], bench, language, on_record, on_start, on_flight)
        except BaseException as exc:  # handed to the main thread, which raises it
            errors[i] = exc

    # Daemon threads: Ctrl-C in the main thread ends the run at once, as a kill would (every record already
    # written is kept, a torn last line is cut when the store is next opened), instead of waiting for judges.
    threads = [threading.Thread(target=work, args=(i,), name=f"judge-{i}", daemon=True) for i in range(len(lanes))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for error in errors:
        if error is not None:
            raise error
    summaries = {id(job): summary for lane, got in zip(lanes, done) for job, summary in zip(lane, got or [])}
    return [summaries[id(job)] for job in jobs]


def _lane(jobs: list[JudgeJob], bench: str, language: str, on_record: Callable[[Judgment], None] | None,
          on_start: Callable[[JudgeJob], None] | None,
          on_flight: Callable[[], None] | None = None) -> list[RunSummary]:
    """The jobs one after another on this thread; a judge with nothing to do is never opened."""
    summaries = []
    for job in jobs:
        with job.store:
            if not job.todo:
                summaries.append(RunSummary(skipped=job.already_done))
                continue
            with job.judge:
                if on_start is not None:
                    on_start(job)
                summaries.append(run_claimed(job.judge, bench, job.todo, job.store, language, on_record,
                                             already_done=job.already_done, on_start=on_flight, chunk=job.chunk))
    return summaries
