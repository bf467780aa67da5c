"""Step 2: judge the answers of a bench with an LLM judge.

    python -m llm_judge.gen_judgment --mode single --judge-model gpt-4 [--model-list a b] [--bench-name mt_bench]
    python -m llm_judge.gen_judgment --mode pairwise-baseline --baseline-model gpt-3.5-turbo
    python -m llm_judge.gen_judgment --mode pairwise-all --judge-model default     (local SmolLM2 judge)
    python -m llm_judge.gen_judgment --judge-model mock:judge     (a scripted judge, no model: see engines/mock.py)
    python -m llm_judge.gen_judgment --mode pairwise-all --wandb  (log the run's metadata to Weights & Biases)
    python -m llm_judge.gen_judgment --judge-model gpt-4o claude-3-5-sonnet-latest default   (a panel of 3 judges)
    python -m llm_judge.gen_judgment --bench-name alpaca_eval --judge-model gpt-4-1106-preview --model-list my-model

Writes data/<bench>/model_judgment/<judge>_single.jsonl or <judge>_pair.jsonl (FastChat's format plus
our fields), or with --judgment-layout ja-vicuna one file per model pair as ja-vicuna-qa-benchmark does:
model_judgment/pairwise/<judge>/pairwise:<model_1>_<model_2>.jsonl (single/<judge>/single:<model>.jsonl).
Judgments already present are skipped; failed ones are retried on the next run. Several --judge-model
judge in one run, each into its own file: API judges at the same time, local judges one after another
(judging/panel_run.py). An AlpacaEval bench folder is annotated with its own weighted annotator into
results/<model>/weighted_alpaca_eval_gpt4_turbo/annotations.json (llm_judge/leaderboards/).
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

from .. import cli
from ..bench import JUDGMENT_LAYOUTS, Bench, load_bench, parse_model_list
from ..errors import ConfigError
from ..engines.batch_rows import MAX_ROWS
from ..engines.config import EngineConfig
from ..judging.families import JudgeFamily, load_family
from ..judging.judge import Judge
from ..judging.judge_id import judge_ids, judgment_folder, judgment_path
from ..judging.matches import MODES, Match, MatchPlan, plan_matches
from ..judging.panel_run import JudgeJob, run_judges
from .. import leaderboards
from ..judging.run import RunSummary, judgment_store, pending, share_chunk
from ..jsonl import JsonlStore
from ..layouts import LayoutStore
from ..locks import LockOptions
from ..records import Judgment
from .engine_flags import add_batch_args, add_engine_args, batch_options, engine_choice, engine_config

if TYPE_CHECKING:
    from ..engines.api.costs import PriceTable

log = logging.getLogger("llm_judge.gen_judgment")
_skip_teardown = False  # see cli_main


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gen_judgment", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    cli.add_data_args(p)
    p.add_argument("--judge-file", default=None,
                   help="judge prompts in FastChat's judge_prompts.jsonl format (default: the bench's, else built-in)")
    p.add_argument("--judge-family", default=None, metavar="NAME|FILE",
                   help="judge family: its prompt layout, verdict parser and settings: fastchat (default; alias "
                        "ours), judgelm, autoj, pandalm, prometheus, or a family .json file (see README)")
    p.add_argument("--judge-model", nargs="+", default=["gpt-4"],
                   help="judge: API model name (gpt-4, claude-..., openai:NAME), local path, hub id or 'default'; "
                        "several: a panel, each judge writing its own file (API judges at once, local ones in turn)")
    engine_choice(p, "--judge-engine")
    p.add_argument("--judge-model-id", nargs="+", default=None,
                   help="judge name in records and file names (default: from --judge-model); one per judge")
    p.add_argument("--baseline-model", default=None, help="baseline for pairwise-baseline (default: the bench's)")
    p.add_argument("--mode", default="single", choices=MODES)
    p.add_argument("--model-list", nargs="+", default=None, help="models to judge (default: every answer file)")
    p.add_argument("--first-n", type=cli.positive_int, default=None, help="judge only the first n questions (debugging)")
    p.add_argument("--reference-model", default=None, help="reference answers file name (default: the bench's, gpt-4)")
    p.add_argument("--output-file", default=None, help="judgment file (default: model_judgment/<judge>_<single|pair>.jsonl)")
    p.add_argument("--judgment-layout", choices=JUDGMENT_LAYOUTS, default=None,
                   help="fastchat: one file per judge (default); ja-vicuna: one file per model pair in "
                        "model_judgment/pairwise/<judge>/, as ku-nlp/ja-vicuna-qa-benchmark writes "
                        "(default: the bench.json's judgment_layout)")
    p.add_argument("--judge-method", choices=["generate", "distribution"], default="generate",
                   help="generate: the judge writes an explanation and a verdict (default); distribution: read the "
                        "judge's probabilities for each verdict directly (local judges; fast, never unparseable)")
    p.add_argument("--judge-max-new-token", type=cli.positive_int, default=None,
                   help="most tokens a judgment may take (default: the judge family's; fastchat: 2048)")
    p.add_argument("--stop-at-verdict", action="store_true",
                   help="generate: end each judgment once the judge family's verdict marker is complete (fastchat: the "
                        "']]' of [[N]] or [[A]]) instead of at EOS or the budget; a judge that revises its verdict "
                        "later is then read at its first verdict (see docs/local-judges.md)")
    p.add_argument("--dry-run", action="store_true", help="print the plan (and, for API judges, the cost estimate) and stop")
    p.add_argument("--price-table", default=None, metavar="FILE",
                   help='JSON prices in USD per 1M tokens, e.g. {"gpt-4o": {"input": 2.5, "output": 10}}, '
                        "over the built-in table (API judges)")
    cli.add_wandb_args(p, "the run's metadata (judge, bench, mode, counts, tokens, cost)",
                       "gen_judgment-<bench>-<mode>-<judge>")
    add_engine_args(p, judge=True)
    add_batch_args(p)
    cli.add_lock_args(p, "judgment file")
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def plan(args: argparse.Namespace, bench: Bench, family: JudgeFamily) -> MatchPlan:
    """The matches to judge (every judge of a run judges the same ones)."""
    models = parse_model_list(args.model_list) or list(bench.answer_files())
    baseline = args.baseline_model or bench.config.baseline_model
    if args.mode == "pairwise-baseline":
        models = [m for m in models if m != baseline]
        answers = bench.load_answers(models + [baseline])
    else:
        answers = bench.load_answers(models)
    family.check_mode(args.mode)
    prompts = family.prompt_set(args.judge_file, bench.config.judge_prompts, bench.language, bench.path,
                                bench.config.prompt_names)
    match_plan = plan_matches(bench, args.mode, models, answers, prompts, baseline=baseline, first_n=args.first_n,
                              references=bench.reference_answers(args.reference_model))
    if _layout(args, bench) == "ja-vicuna":
        if args.output_file:
            raise ConfigError("--output-file names one FastChat judgment file; with the ja-vicuna layout the files go "
                              "to model_judgment/pairwise/<judge>/ (single/<judge>/)")
        _sorted_pairs(match_plan)
    return match_plan


def output(args: argparse.Namespace, bench: Bench, family: JudgeFamily, judge_id: str) -> Path:
    """Where ``judge_id``'s judgments go: --output-file, its judge folder (ja-vicuna layout) or its file."""
    pairwise = args.mode != "single"
    if _layout(args, bench) == "ja-vicuna":
        return judgment_folder(bench.judgment_dir, judge_id, family, pairwise)
    return Path(args.output_file) if args.output_file else judgment_path(bench.judgment_dir, judge_id, family, pairwise)


def _sorted_pairs(match_plan: MatchPlan) -> None:
    """Each pair in ja-vicuna-qa-benchmark's order, model_1 first by name (against a baseline too): the order is
    part of a judgment's key and of the file name, so a run finds the judgments its own tool wrote."""
    for i, match in enumerate(match_plan.matches):
        if match.pairwise and list(match.models) != sorted(match.models):
            match_plan.matches[i] = dataclasses.replace(match, models=match.models[::-1], answers=match.answers[::-1])


def _layout(args: argparse.Namespace, bench: Bench) -> str:
    """The flag's layout, else the bench's (bench.json ``judgment_layout``), else FastChat's."""
    return args.judgment_layout or bench.config.judgment_layout


def open_store(layout: str, out: Path, pairwise: bool, matches: list[Match], judge_id: str,
               lock: LockOptions | None = LockOptions()) -> JsonlStore | LayoutStore:
    """The store of ``out``: a FastChat judgment file, or a judge folder of the ja-vicuna layout (its records
    carry the question and answer texts, taken from the matches); locked as ``lock`` says."""
    if layout != "ja-vicuna":
        return judgment_store(out, pairwise, lock)
    texts = {m.key(judge_id): (m.question.turns[m.turn - 1], [a.turns[m.turn - 1] for a in m.answers])
             for m in matches}
    return LayoutStore(out, pairwise, texts, lock)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cli.setup_logging(args.verbose)
    if args.wandb:
        from ..results.wandb_log import require_wandb

        require_wandb()  # before any judging: a missing extra is reported first
    if leaderboards.bench_kind(args.bench_name, args.data_dir):
        return _leaderboard_bench(args)
    family = load_family(args.judge_family)
    judges = build_judges(args, family)
    global _skip_teardown
    _skip_teardown = all(judge.engine.is_api for judge in judges) and not args.wandb
    batches = {judge.id: batch_options(args, judge.engine) for judge in judges}
    prices = {judge.id: _price_table(args.price_table, judge.engine) for judge in judges}
    bench = load_bench(args.bench_name, args.data_dir)
    match_plan = plan(args, bench, family)  # validates every input before anything is written
    for judge in judges:
        judge.check(match_plan.matches, bench.language)
    jobs = []
    for judge in judges:
        out = output(args, bench, family, judge.id)
        lock = cli.lock_options(args, share_chunk(judge.engine, bool(batches[judge.id])))  # None: --dry-run
        store = open_store(_layout(args, bench), out, args.mode != "single", match_plan.matches, judge.id, lock)
        todo = pending(match_plan.matches, store, judge.id)
        jobs.append(JudgeJob(judge, store, out, todo, len(match_plan.matches) - len(todo), lock and lock.chunk))
    costs = _preview(args, bench, match_plan, jobs, prices, batches)
    if args.dry_run or not any(job.todo for job in jobs):
        costs()
        for job in jobs:
            job.store.close()
        if args.wandb:
            print("nothing judged in this run: no W&B run logged", file=sys.stderr)
        return 0
    if len(jobs) > 1:  # judges start at different times: their estimates come first, together
        costs()
    for job in jobs:  # --batch: each judge's engine becomes its batch engine, its state file beside its output
        if batches[job.judge.id]:
            from ..engines.api.batch import open_batch

            job.judge = _judge(args, family, job.judge.engine, open_batch(job.judge.engine, job.out, batches[job.judge.id]))
    with _progress(sum(len(job.todo) for job in jobs), costs if len(jobs) == 1 else None) as progress:
        summaries = run_judges(jobs, bench.name, bench.language, progress.record,
                               _estimate_printer(bench.language, len(jobs) > 1), on_flight=progress.start)
    for job, summary in zip(jobs, summaries):
        table = prices[job.judge.id]
        price = table.lookup(job.judge.engine.model, bool(batches[job.judge.id])) if table else None
        usd = price.cost(summary.prompt_tokens, summary.completion_tokens) if price else None
        cost = "" if table is None else f", cost ${usd:,.2f}" if price else ", cost unknown"
        print(f"{job.judge.id} on {bench.name}: {summary.line()}{cost} -> {job.out}", file=sys.stderr)
        if args.wandb and job.todo:
            _log_wandb(args, job.judge, bench, match_plan, summary, usd, job.out)
    return 1 if any(summary.failed for summary in summaries) else 0


def _leaderboard_bench(args: argparse.Namespace) -> int:
    """AlpacaEval 2.0 and Arena-Hard-Auto folders are judged by their own protocols (llm_judge/leaderboards/)."""
    if len(args.judge_model) > 1:
        raise ConfigError(f"{args.bench_name} is judged by one judge per run; give one --judge-model")
    judge_id = judge_ids(args.judge_model, args.judge_model_id)[0]
    config = engine_config(args, args.judge_model[0], args.judge_engine, judge_id)
    lines, failed = leaderboards.judge_bench(args.bench_name, args.data_dir, config, parse_model_list(args.model_list),
                                             judge_id, args.judge_max_new_token, args.first_n)
    for line in lines:
        print(line, file=sys.stderr)
    return 1 if failed else 0


def build_judges(args: argparse.Namespace, family: JudgeFamily) -> list[Judge]:
    """One Judge per --judge-model (ids from --judge-model-id, one each); none is opened yet."""
    ids = judge_ids(args.judge_model, args.judge_model_id)
    if len(ids) > 1 and args.output_file:
        raise ConfigError(f"--output-file names one judgment file, and {len(ids)} judges each write their own; "
                          "drop --output-file (each goes to model_judgment/<judge>_<single|pair>.jsonl)")
    return [_judge(args, family, engine_config(args, model, args.judge_engine, judge_id))
            for model, judge_id in zip(args.judge_model, ids)]


def _judge(args: argparse.Namespace, family: JudgeFamily, config: EngineConfig, model=None) -> Judge:
    return Judge(config, family, args.judge_method, args.judge_max_new_token, stop_at_verdict=args.stop_at_verdict,
                 model=model)


def _preview(args: argparse.Namespace, bench: Bench, match_plan: MatchPlan, jobs: list[JudgeJob],
             prices: dict[str, "PriceTable | None"], batches: dict) -> Callable[[], None]:
    """Per judge, what is done and to do (printed now); returned, what prints the API judges' cost estimates
    (with several, their total).

    One judge's run prints its estimate once its first calls are in flight (run_matches' on_start): tiktoken's
    vocabulary and the counting take about 0.2 s, which the calls' latency hides.
    """
    for job in jobs:
        calls = sum(2 if m.pairwise else 1 for m in job.todo)
        print(f"{bench.name}: {len(match_plan.matches)} judgments ({args.mode}), {job.already_done} already in "
              f"{job.out}, {len(job.todo)} to do = {calls} judge calls to {job.judge.id}", file=sys.stderr)
    if match_plan.skipped_missing_turn or match_plan.no_reference:
        print(f"note: {match_plan.skipped_missing_turn} turns skipped (answer has fewer turns than the question), "
              f"{match_plan.no_reference} questions needed a reference answer and had none", file=sys.stderr)

    def costs() -> None:
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
                print(line if len(jobs) == 1 else f"{line} [{job.judge.id}]", file=sys.stderr, flush=True)
            if est.price is None:
                unpriced += 1
                continue
            low, high, priced = low + (est.cost() or 0.0), high + (est.max_cost() or 0.0), priced + 1
        if len(jobs) > 1 and priced:
            print(f"estimate: ~${low:,.2f} for the {priced} priced API judges together (at most ${high:,.2f})"
                  + (f"; {unpriced} more without a price" if unpriced else ""), file=sys.stderr)

    return costs


def _estimate_printer(language: str, several: bool) -> Callable[[JudgeJob], None]:
    """What run_judges calls as each judge opens: a local generating judge (no pool) probes its speed."""
    def on_start(job: JudgeJob) -> None:
        config = job.judge.engine
        if job.judge.method == "generate" and config.local and config.pool is None:
            _print_estimate(job.judge, job.todo, language, config.hf.batch_size or MAX_ROWS,
                            job.judge.id if several else "")
    return on_start


def _log_wandb(args: argparse.Namespace, judge: Judge, bench: Bench, match_plan: MatchPlan, summary: RunSummary,
               usd: float | None, out: Path) -> None:
    """The run's metadata as a W&B run: what was judged, by whom, and what it took."""
    from ..results.wandb_log import default_run_name, log_run

    engine = judge.engine
    baseline = (args.baseline_model or bench.config.baseline_model) if args.mode == "pairwise-baseline" else None
    config = {"judge": judge.id, "judge_model": engine.model, "provider": engine.provider,
              "judge_family": judge.family.name, "judge_method": judge.method, "max_new_tokens": judge.max_new_tokens,
              "bench": bench.name, "mode": args.mode, "baseline": baseline,
              "models": sorted({m for match in match_plan.matches for m in match.models}), "output_file": str(out)}
    metrics = {"judgments": len(match_plan.matches), "already_done": summary.skipped, "judged": summary.done,
               "failed": summary.failed, "prompt_tokens": summary.prompt_tokens,
               "completion_tokens": summary.completion_tokens, "errors": dict(summary.errors)}
    if usd is not None:
        metrics["cost_usd"] = usd
    name = args.wandb_run_name or "gen_judgment-" + default_run_name([bench.name], args.mode, [judge.id])
    folder = log_run(name, "gen_judgment", config, metrics)
    print(f"logged to W&B run {name!r} ({folder})", file=sys.stderr)


def _print_estimate(judge: Judge, todo: list[Match], language: str, batch_size: int, tag: str = "") -> None:
    """How long the run is likely to take, from a probe of its first batch (judging/estimate.py)."""
    from ..judging.estimate import probe

    requests = [judge.request(m, messages, language) for m in todo for messages in m.games()]
    if judge.engine.provider == "vllm":
        batch_size = len(requests)  # vLLM schedules every request at once (continuous batching)
    line = probe(judge.model, requests, batch_size).line()
    print(f"{line} [{tag}]" if tag else line, file=sys.stderr, flush=True)


def _price_table(path: str | None, config: EngineConfig):
    """The price table for an API judge (read now, so a bad --price-table fails before any call); else None."""
    if not config.is_api:
        return None
    from ..engines.api.costs import PriceTable

    return PriceTable.load(path)


class _Progress:
    """A tqdm bar (rate, ETA, failures so far) fed one record at a time, from several judges' threads;
    nothing if tqdm is missing.

    ``start`` (once the first calls are out) prints what must come first (the cost estimate), then opens the
    bar, so the two never interleave; later calls do nothing.
    """

    def __init__(self, total: int, before: Callable[[], None] | None):
        self.total, self.before = total, before
        self.bar = None
        self.started = False
        self.failed = 0
        self.lock = threading.Lock()

    def start(self) -> None:
        with self.lock:
            if self.started:
                return
            self.started = True
            if self.before is not None:
                self.before()
            try:
                from tqdm import tqdm
            except ImportError:
                return
            # Off a terminal (a log file, CI) redraw rarely, so the log gets a line now and then, not thousands.
            self.bar = tqdm(total=self.total, unit="judgment", file=sys.stderr, dynamic_ncols=True,
                            mininterval=0.2 if sys.stderr.isatty() else 30.0)

    def record(self, rec: Judgment) -> None:
        with self.lock:
            if self.bar is None:
                return
            if rec.error:
                self.failed += 1
                self.bar.set_postfix(failed=self.failed, refresh=False)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@contextlib.contextmanager
def _progress(total: int, before: Callable[[], None] | None = None) -> Iterator[_Progress]:
    progress = _Progress(total, before)
    try:
        yield progress
    finally:
        progress.close()


def cli_main() -> None:
    rc = cli.run(main)
    if _skip_teardown:
        # An API run has loaded the SDK's thousands of classes, and the interpreter's teardown frees them one by
        # one: 0.1-0.2 s of CPU after the last record (0.4 s on a loaded machine). Every file is closed and
        # synced by now; flush what is buffered and leave. Not after --wandb: its exit hook finishes the upload.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(rc)
    sys.exit(rc)


if __name__ == "__main__":
    cli_main()
