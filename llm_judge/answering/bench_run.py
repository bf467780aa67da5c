"""Answer a bench's questions with one model into its answer file: the questions still to do, the engine (or
its batch API), the run and the file's order. What ``gen_model_answer`` and :func:`llm_judge.answer` run."""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

from ..bench import Bench
from ..engines.api.batch_options import BatchOptions, for_engine
from ..engines.base import ChatModel
from ..engines.config import EngineConfig
from ..engines.registry import open_engine
from ..errors import ConfigError
from ..locks import LockOptions
from ..progress import Event, OnEvent
from .run import AnswerSettings, answer_questions, answer_store, pending

log = logging.getLogger("llm_judge.gen_model_answer")


@dataclass
class AnswerRun:
    """What one answering run did: the answer file, and how many answers it wrote, skipped and failed."""

    model: str  # the model id, the answer file's name
    output: Path
    questions: int  # in the range asked for
    skipped: int  # answered before this run
    written: int = 0  # answers this run wrote, failed ones included
    failed: int = 0
    completion_tokens: int = 0

    @property
    def exit_code(self) -> int:
        """gen_model_answer's: 1 when an answer failed (a rerun retries it), else 0."""
        return 1 if self.failed else 0


def answer_bench(bench: Bench, config: EngineConfig, settings: AnswerSettings, report: OnEvent, *,
                 question_begin: int | None = None, question_end: int | None = None,
                 answer_file: str | Path | None = None, batch: BatchOptions | None = None,
                 lock: LockOptions = LockOptions()) -> AnswerRun:
    """Answer the questions ``question_begin:question_end`` of ``bench`` with ``config``'s model (its ``name``
    names the answer file), skipping those answered already; answers go in question order. ``lock``: what
    happens when another run writes the same file (locks.py)."""
    questions = bench.question_slice(question_begin, question_end)
    if not questions:
        raise ConfigError(f"--question-begin/--question-end select no question of {bench.name} "
                          f"({len(bench.questions)} questions)")
    batch = for_engine(batch, config)
    out = Path(answer_file) if answer_file else bench.answer_dir / f"{config.name}.jsonl"
    settings = replace(settings, chunk_size=chunk_size(config, settings.chunk_size))
    with answer_store(out, lock) as store:  # its lock freed however the run ends
        todo = pending(questions, store)
        log.info("%s: %d questions, %d already answered in %s", bench.name, len(questions), len(questions) - len(todo),
                 out)
        run = AnswerRun(config.name, out, len(questions), len(questions) - len(todo))
        if todo:
            with _open(config, batch, out, settings, len(todo), lock) as model:
                summary = answer_questions(model, bench, todo, run.model, store, settings,
                                           lambda rec: report(Event("record", record=rec, failed="error" in rec)))
            order = {q.question_id: i for i, q in enumerate(bench.questions)}
            store.sort(lambda r: order.get(r["question_id"], len(order)))
            _export(bench, out, run.model, report)
            run.written, run.failed = summary.written + summary.failed, summary.failed
            run.completion_tokens = summary.completion_tokens
            report(Event("message", f"{run.model}: {summary.written} answered, {run.skipped} already done, "
                                    f"{summary.failed} failed -> {out}"))
            return run
    _export(bench, out, run.model, report)
    report(Event("message", f"{run.model}: all {len(questions)} questions already answered in {out}"))
    return run


def _export(bench: Bench, answer_file: Path, model_id: str, report: OnEvent) -> None:
    """AlpacaEval and Arena-Hard benches get the answers in their own layout too (llm_judge/leaderboards/)."""
    from ..leaderboards.answers import export_answers

    written = export_answers(bench, answer_file, model_id)
    if written:
        report(Event("message", f"{model_id}: answers in {bench.name}'s layout -> {written}"))


def _open(config: EngineConfig, batch: BatchOptions | None, answer_file: Path, settings: AnswerSettings,
          todo: int, lock: LockOptions) -> ChatModel:
    """The engine; with a batch API, the model's batch engine (its state locked as the answer file is), and
    every question in one chunk (one batch per turn)."""
    if batch is None:
        return open_engine(config)
    from ..engines.api.batch import open_batch

    settings.chunk_size = max(1, todo)
    return open_batch(config, answer_file, batch, lock)


def chunk_size(config: EngineConfig, base: int = AnswerSettings.chunk_size) -> int:
    """Questions per chunk: every turn of a chunk is one batch, which should keep the engine busy."""
    chunk = base
    if config.is_api:  # one batch fills the parallel calls
        chunk = max(chunk, config.api.parallel)
    if config.pool:  # a batch is spread over the workers: give each a full share
        chunk = max(chunk, 64 * config.pool.workers)
    return chunk
