"""What a judging run says before its records come: per judge what is done and to do, the API judges' cost
estimates, and a local judge's speed probe, each as a message to the run's reporter."""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from ..engines.batch_rows import MAX_ROWS
from ..progress import Event, OnEvent, heard
from .judge import Judge
from .matches import Match, MatchPlan
from .panel_run import JudgeJob

if TYPE_CHECKING:
    from ..engines.api.costs import PriceTable


def cost_preview(bench: str, mode: str, match_plan: MatchPlan, jobs: list[JudgeJob],
                 prices: dict[str, "PriceTable | None"], batches: dict, report: OnEvent) -> Callable[[], None]:
    """Per judge, what is done and to do (reported now); returned, what reports the API judges' cost estimates
    (with several, their total).

    One judge's run reports its estimate once its first calls are in flight (run_matches' on_start): tiktoken's
    vocabulary and the counting take about 0.2 s, which the calls' latency hides.
    """
    for job in jobs:
        calls = sum(2 if m.pairwise else 1 for m in job.todo)
        report(Event("message", f"{bench}: {len(match_plan.matches)} judgments ({mode}), {job.already_done} already "
                                f"in {job.out}, {len(job.todo)} to do = {calls} judge calls to {job.judge.id}"))
    if match_plan.skipped_missing_turn or match_plan.no_reference:
        report(Event("message", f"note: {match_plan.skipped_missing_turn} turns skipped (answer has fewer turns than "
                                f"the question), {match_plan.no_reference} questions needed a reference answer and "
                                "had none"))

    def costs() -> None:
        if not heard(report):  # the estimate is only told, never used
            return
        low = high = 0.0
        priced = unpriced = 0
        for job in jobs:
            table = prices[job.judge.id]
            if table is None or not job.todo:
                continue
            from ..engines.api.costs import estimate

            config = job.judge.engine
            games = [g for m in job.todo for g in m.games()]
            most = job.judge.max_new_tokens + (config.api.thinking_budget or 0)  # thinking comes on top
            est = estimate(config.provider, config.model, games, most, table, bool(batches[job.judge.id]))
            for line in est.lines():
                report(Event("message", line if len(jobs) == 1 else f"{line} [{job.judge.id}]"))
            if est.price is None:
                unpriced += 1
                continue
            low, high, priced = low + (est.cost() or 0.0), high + (est.max_cost() or 0.0), priced + 1
        if len(jobs) > 1 and priced:
            report(Event("message", f"estimate: ~${low:,.2f} for the {priced} priced API judges together (at most "
                                    f"${high:,.2f})" + (f"; {unpriced} more without a price" if unpriced else "")))

    return costs


def speed_estimates(language: str, several: bool, report: OnEvent) -> Callable[[JudgeJob], None]:
    """What run_judges calls as each judge opens: a local generating judge (no pool) probes its speed."""
    def on_start(job: JudgeJob) -> None:
        config = job.judge.engine
        if job.judge.method == "generate" and config.local and config.pool is None:
            line = _probe(job.judge, job.todo, language, config.hf.batch_size or MAX_ROWS)
            report(Event("message", f"{line} [{job.judge.id}]" if several else line))
    return on_start


def _probe(judge: Judge, todo: list[Match], language: str, batch_size: int) -> str:
    """How long the run is likely to take, from a probe of its first batch (judging/estimate.py)."""
    from .estimate import probe

    requests = [judge.request(m, messages, language) for m in todo for messages in m.games()]
    if judge.engine.provider == "vllm":
        batch_size = len(requests)  # vLLM schedules every request at once (continuous batching)
    return probe(judge.model, requests, batch_size).line()
