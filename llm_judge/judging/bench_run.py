"""Judge a bench's answers with one judge or a panel: the plan, each judge's store, the cost preview, progress,
the summaries and W&B. What ``gen_judgment`` and :func:`llm_judge.judge` run.

Every input is checked before anything is written; judgments already in a judge's store are skipped and
failed ones judged again. Lines for a person go to the run's reporter (llm_judge/progress.py), never to print.
"""
from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from ..bench import Bench, parse_model_list
from ..engines.api.batch_options import BatchOptions, for_engine
from ..engines.config import EngineConfig
from ..errors import ConfigError
from ..jsonl import JsonlStore
from ..layouts import LayoutStore
from ..locks import LockOptions
from ..progress import Event, OnEvent, heard
from .families import JudgeFamily
from .judge import Judge
from .judge_id import judgment_folder, judgment_path
from .matches import Match, MatchPlan, plan_matches
from .panel_run import JudgeJob, run_judges
from .preview import cost_preview, speed_estimates
from .run import RunSummary, judgment_store, pending, share_chunk

if TYPE_CHECKING:
    from ..engines.api.costs import PriceTable


@dataclass(frozen=True)
class JudgeOptions:
    """What to judge and how, gen_judgment's flags as values (their defaults too)."""

    mode: str = "single"
    judge_file: str | None = None
    baseline_model: str | None = None
    model_list: Sequence[str] | None = None
    first_n: int | None = None
    reference_model: str | None = None
    output_file: str | Path | None = None
    judgment_layout: str | None = None
    judge_method: str = "generate"
    judge_max_new_token: int | None = None
    stop_at_verdict: bool = False
    dry_run: bool = False
    price_table: str | Path | None = None
    batch: BatchOptions | None = None
    wandb: bool = False
    wandb_run_name: str | None = None
    wait: bool = False  # another run writes a judge's file: wait for it (default: refuse)
    share: bool = False  # divide the judgments with the other runs given share (locks.py, claims.py)


@dataclass
class JudgeSummary:
    """One judge's share of a run: where its judgments are, what this run wrote, what it used and cost."""

    judge: str
    output: Path
    judgments: int  # the plan's, for every judge the same
    skipped: int  # already in the output before this run
    to_do: int  # what this run set out to judge (a dry run judges none of them)
    written: int = 0  # records this run wrote, failed ones included
    failed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: float | None = None  # API judges with a price; None when unknown or local
    errors: dict[str, int] = field(default_factory=dict)  # failed records by kind of error


@dataclass
class JudgingSummary:
    """A judging run: one :class:`JudgeSummary` per judge, in the order they were given."""

    bench: str
    mode: str
    judges: list[JudgeSummary]
    dry_run: bool = False

    @property
    def failed(self) -> int:
        return sum(j.failed for j in self.judges)

    @property
    def exit_code(self) -> int:
        """gen_judgment's: 1 when a judgment failed (a rerun retries it), else 0."""
        return 1 if self.failed else 0


def plan(bench: Bench, family: JudgeFamily, options: JudgeOptions) -> MatchPlan:
    """The matches to judge (every judge of a run judges the same ones)."""
    models = parse_model_list(options.model_list) or list(bench.answer_files())
    baseline = options.baseline_model or bench.config.baseline_model
    if options.mode == "pairwise-baseline":
        models = [m for m in models if m != baseline]
        answers = bench.load_answers(models + [baseline])
    else:
        answers = bench.load_answers(models)
    family.check_mode(options.mode)
    prompts = family.prompt_set(options.judge_file, bench.config.judge_prompts, bench.language, bench.path,
                                bench.config.prompt_names)
    match_plan = plan_matches(bench, options.mode, models, answers, prompts, baseline=baseline,
                              first_n=options.first_n, references=bench.reference_answers(options.reference_model))
    if layout(options, bench) == "ja-vicuna":
        if options.output_file:
            raise ConfigError("--output-file names one FastChat judgment file; with the ja-vicuna layout the files go "
                              "to model_judgment/pairwise/<judge>/ (single/<judge>/)")
        _sorted_pairs(match_plan)
    return match_plan


def output(options: JudgeOptions, bench: Bench, family: JudgeFamily, judge_id: str) -> Path:
    """Where ``judge_id``'s judgments go: the output file, its judge folder (ja-vicuna layout) or its file."""
    pairwise = options.mode != "single"
    if layout(options, bench) == "ja-vicuna":
        return judgment_folder(bench.judgment_dir, judge_id, family, pairwise)
    if options.output_file:
        return Path(options.output_file)
    return judgment_path(bench.judgment_dir, judge_id, family, pairwise)


def layout(options: JudgeOptions, bench: Bench) -> str:
    """The option's layout, else the bench's (bench.json ``judgment_layout``), else FastChat's."""
    return options.judgment_layout or bench.config.judgment_layout


def _sorted_pairs(match_plan: MatchPlan) -> None:
    """Each pair in ja-vicuna-qa-benchmark's order, model_1 first by name (against a baseline too): the order is
    part of a judgment's key and of the file name, so a run finds the judgments its own tool wrote."""
    for i, match in enumerate(match_plan.matches):
        if match.pairwise and list(match.models) != sorted(match.models):
            match_plan.matches[i] = dataclasses.replace(match, models=match.models[::-1], answers=match.answers[::-1])


def open_store(layout_name: str, out: Path, pairwise: bool, matches: list[Match], judge_id: str,
               lock: LockOptions | None = LockOptions()) -> JsonlStore | LayoutStore:
    """The store of ``out``: a FastChat judgment file, or a judge folder of the ja-vicuna layout (its records
    carry the question and answer texts, taken from the matches); locked as ``lock`` says."""
    if layout_name != "ja-vicuna":
        return judgment_store(out, pairwise, lock)
    texts = {m.key(judge_id): (m.question.turns[m.turn - 1], [a.turns[m.turn - 1] for a in m.answers])
             for m in matches}
    return LayoutStore(out, pairwise, texts, lock)


def lock_options(options: JudgeOptions, config: EngineConfig, batch: bool) -> LockOptions | None:
    """How a judge's store is locked (None for a dry run, which writes nothing, not even a lock)."""
    if options.dry_run:
        return None
    return LockOptions(wait=options.wait, share=options.share, chunk=share_chunk(config, batch))


def make_judge(config: EngineConfig, family: JudgeFamily, options: JudgeOptions, model=None) -> Judge:
    return Judge(config, family, options.judge_method, options.judge_max_new_token,
                 stop_at_verdict=options.stop_at_verdict, model=model)


def judge_bench(bench: Bench, configs: Sequence[EngineConfig], family: JudgeFamily, options: JudgeOptions,
                report: OnEvent) -> JudgingSummary:
    """Judge ``bench`` with one judge per config (a config's ``name`` is the judge's id)."""
    if len(configs) > 1 and options.output_file:
        raise ConfigError(f"--output-file names one judgment file, and {len(configs)} judges each write their own; "
                          "drop --output-file (each goes to model_judgment/<judge>_<single|pair>.jsonl)")
    if options.wandb:
        from ..wandb_run import require_wandb

        require_wandb()  # before any judging: a missing extra is reported first
    judges = [make_judge(config, family, options) for config in configs]
    batches = {judge.id: for_engine(options.batch, judge.engine) for judge in judges}
    prices = {judge.id: price_table(options.price_table, judge.engine) for judge in judges}
    match_plan = plan(bench, family, options)  # validates every input before anything is written
    for judge in judges:
        judge.check(match_plan.matches, bench.language)
    jobs = []
    for judge in judges:
        out = output(options, bench, family, judge.id)
        lock = lock_options(options, judge.engine, bool(batches[judge.id]))
        store = open_store(layout(options, bench), out, options.mode != "single", match_plan.matches, judge.id, lock)
        todo = pending(match_plan.matches, store, judge.id)
        jobs.append(JudgeJob(judge, store, out, todo, len(match_plan.matches) - len(todo), lock and lock.chunk))
    costs = cost_preview(bench.name, options.mode, match_plan, jobs, prices, batches, report)
    if options.dry_run or not any(job.todo for job in jobs):
        costs()
        for job in jobs:
            job.store.close()
        if options.wandb:
            report(Event("message", "nothing judged in this run: no W&B run logged"))
        return JudgingSummary(bench.name, options.mode, [_summary(job, match_plan, RunSummary(job.already_done))
                                                         for job in jobs], dry_run=options.dry_run)
    if len(jobs) > 1:  # judges start at different times: their estimates come first, together
        costs()
    for job in jobs:  # batch APIs: each judge's engine becomes its batch engine, its state file beside its output
        if batches[job.judge.id]:
            from ..engines.api.batch import open_batch

            job.judge = make_judge(job.judge.engine, family, options,
                                   open_batch(job.judge.engine, job.out, batches[job.judge.id],
                                              lock_options(options, job.judge.engine, True)))
    start = _Start(report, sum(len(job.todo) for job in jobs), costs if len(jobs) == 1 else None)
    try:
        probe = speed_estimates(bench.language, len(jobs) > 1, report) if heard(report) else None
        runs = run_judges(jobs, bench.name, bench.language, start.record, probe, on_flight=start)
    finally:
        report(Event("done"))
    return _finish(bench, options, match_plan, jobs, runs, prices, batches, report)


def _finish(bench: Bench, options: JudgeOptions, match_plan: MatchPlan, jobs: list[JudgeJob],
            runs: list[RunSummary], prices: dict[str, "PriceTable | None"], batches: dict,
            report: OnEvent) -> JudgingSummary:
    """Each judge's summary line (and W&B run), and the run's summary."""
    summaries = []
    for job, run in zip(jobs, runs):
        table = prices[job.judge.id]
        price = table.lookup(job.judge.engine.model, bool(batches[job.judge.id])) if table else None
        usd = price.cost(run.prompt_tokens, run.completion_tokens) if price else None
        cost = "" if table is None else f", cost ${usd:,.2f}" if price else ", cost unknown"
        report(Event("message", f"{job.judge.id} on {bench.name}: {run.line()}{cost} -> {job.out}"))
        if options.wandb and job.todo:
            _log_wandb(options, job.judge, bench, match_plan, run, usd, job.out, report)
        summaries.append(_summary(job, match_plan, run, usd))
    return JudgingSummary(bench.name, options.mode, summaries)


def _summary(job: JudgeJob, match_plan: MatchPlan, run: RunSummary, usd: float | None = None) -> JudgeSummary:
    return JudgeSummary(job.judge.id, job.out, len(match_plan.matches), job.already_done, len(job.todo),
                        run.done + run.failed, run.failed, run.prompt_tokens, run.completion_tokens,
                        run.reasoning_tokens, usd, dict(run.errors))


def price_table(path: str | Path | None, config: EngineConfig) -> "PriceTable | None":
    """The price table for an API judge (read now, so a bad price table fails before any call); else None."""
    if not config.is_api:
        return None
    from ..engines.api.costs import PriceTable

    return PriceTable.load(path)


def _log_wandb(options: JudgeOptions, judge: Judge, bench: Bench, match_plan: MatchPlan, summary: RunSummary,
               usd: float | None, out: Path, report: OnEvent) -> None:
    """The run's metadata as a W&B run: what was judged, by whom, and what it took."""
    from ..wandb_run import default_run_name, log_run

    engine, mode = judge.engine, options.mode
    baseline = (options.baseline_model or bench.config.baseline_model) if mode == "pairwise-baseline" else None
    config = {"judge": judge.id, "judge_model": engine.model, "provider": engine.provider,
              "judge_family": judge.family.name, "judge_method": judge.method, "max_new_tokens": judge.max_new_tokens,
              "bench": bench.name, "mode": mode, "baseline": baseline,
              "models": sorted({m for match in match_plan.matches for m in match.models}), "output_file": str(out)}
    metrics = {"judgments": len(match_plan.matches), "already_done": summary.skipped, "judged": summary.done,
               "failed": summary.failed, "prompt_tokens": summary.prompt_tokens,
               "completion_tokens": summary.completion_tokens, "errors": dict(summary.errors)}
    if usd is not None:
        metrics["cost_usd"] = usd
    name = options.wandb_run_name or "gen_judgment-" + default_run_name([bench.name], mode, [judge.id])
    folder = log_run(name, "gen_judgment", config, metrics)
    report(Event("message", f"logged to W&B run {name!r} ({folder})"))


class _Start:
    """Called as each judge's first calls are out: the first time, what must come first (one judge's cost
    estimate) is reported, then the start of the records, so the two never interleave; later calls do nothing.
    ``record`` reports each record written, from the judges' threads."""

    def __init__(self, report: OnEvent, total: int, before: Callable[[], None] | None):
        self.report, self.total, self.before = report, total, before
        self.started = False
        self.lock = threading.Lock()

    def __call__(self) -> None:
        with self.lock:
            if self.started:
                return
            self.started = True
            if self.before is not None:
                self.before()
            self.report(Event("start", total=self.total, unit="judgment"))

    def record(self, rec) -> None:
        self.report(Event("record", record=rec, failed=bool(rec.error)))
