"""Step 3: the tables of one or several benches' judgments (scores, win rates, ratings, style control, a
panel's agreement, human-corrected estimates), drawn and logged to W&B when asked. What ``show_result`` and
:func:`llm_judge.results` compute; rendering them is :func:`llm_judge.results.tables.render`'s."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..bench import Bench, parse_model_list
from ..errors import ConfigError
from ..progress import Event, OnEvent
from ..records import Judgment
from .aggregate import error_games, pairwise_tallies, rule_note, scale_of, singles
from .human import human_tables
from .inputs import Judged, baseline_of, find_bench, read_judged
from .options import ResultOptions
from .report import (BenchResult, across_benches, pairwise_tables, ratings_table, single_headline, single_tables,
                     style_table)
from .style import FEATURES, LENGTH_ONLY, Styles, answer_styles
from .tables import Table, render


@dataclass(frozen=True)
class Readers:
    """Results that another package computes its own way (the leaderboards' folders and files, which sit above
    this package): ``bench`` gives a bench's result, or None when the bench is not its kind; ``file`` gives
    the tables of an input file, or None when the file is not its kind."""

    bench: Callable[[str, ResultOptions, "list[str] | None"], "BenchResult | None"] = lambda *_: None
    file: Callable[[ResultOptions], "list[Table] | None"] = lambda _: None


@dataclass
class Results:
    """What step 3 computed: per bench its :class:`~llm_judge.results.report.BenchResult` (tables, headline
    numbers, ratings), the table across benches when there are several, and the plots drawn."""

    benches: list[BenchResult]
    across: Table | None = None
    plots: dict[str, Path] = field(default_factory=dict)
    other: list[Table] = field(default_factory=list)  # an input file's own tables (Readers.file)

    @property
    def tables(self) -> list[Table]:
        """Every table in show_result's order: the cross-bench table, then each bench's."""
        return ([self.across] if self.across else []) + [t for r in self.benches for t in r.tables] + self.other

    def render(self, fmt: str = "table", digits: int = 2) -> str:
        """The tables as show_result prints them (fmt: table, markdown, csv, json)."""
        return render(self.tables, fmt, digits)


def show(opts: ResultOptions, report: OnEvent, readers: Readers = Readers()) -> Results:
    """The results of ``opts``' benches: computed, drawn (``plot``) and logged (``wandb``)."""
    results = compute(opts, readers)
    return publish(results, opts, report) if results.benches else results


def compute(opts: ResultOptions, readers: Readers = Readers()) -> Results:
    """The tables of ``opts``' benches (the cross-bench table too, when there are several)."""
    names = list(dict.fromkeys(opts.bench_name))
    if opts.input_file and len(names) > 1:
        raise ConfigError("--input-file reads one bench's judgments; give one --bench-name with it")
    if opts.human_labels and len(names) > 1:
        raise ConfigError("--human-labels labels one bench's games; give one --bench-name with it")
    if opts.bootstrap < 0:
        raise ConfigError(f"--bootstrap must be >= 0, got {opts.bootstrap}")
    if opts.wandb:
        from ..wandb_run import require_wandb

        require_wandb()  # before any work: a missing extra is reported first
    other = readers.file(opts) if opts.input_file else None
    if other is not None:
        return Results([], other=other)
    models = parse_model_list(opts.model_list)
    results = Results([bench_result(opts, name, models, readers) for name in names])
    if len(results.benches) > 1:
        results.across = across_benches(results.benches)
        for r in results.benches:
            for t in r.tables:
                t.title = f"{r.name}: {t.title}"
    return results


def publish(results: Results, opts: ResultOptions, report: OnEvent) -> Results:
    """``results`` drawn into ``opts.plot`` and logged to W&B, as asked."""
    if opts.plot:
        from .plots import plot_result

        for r in results.benches:
            results.plots[r.name] = plot_result(r, plot_path(opts.plot, r.name, len(results.benches) > 1))
            report(Event("message", f"wrote {results.plots[r.name]}"))
    if opts.wandb:
        _log_wandb(opts, results, report)
    return results


def _log_wandb(opts: ResultOptions, results: Results, report: OnEvent) -> None:
    from ..wandb_run import default_run_name
    from .wandb_log import log_results

    benches = results.benches
    judges = sorted({r.judge_model for res in benches for r in res.records if r.judge_model})
    mode = benches[0].mode
    config = {"benches": [r.name for r in benches], "mode": mode, "judges": judges, "baseline": benches[0].baseline,
              "models": benches[0].models, "failed_games": opts.failed_games,
              "input_file": None if opts.input_file is None else str(opts.input_file),
              "ratings": bool(opts.ratings or opts.length_control or opts.style_control), "bootstrap": opts.bootstrap,
              "seed": opts.seed, "length_control": opts.length_control, "style_control": opts.style_control,
              "strong_weight": opts.strong_weight, "verdict_rule": opts.verdict_rule or "fastchat",
              "judge_models": list(opts.judge_model), "panel": opts.panel}
    name = opts.wandb_run_name or default_run_name([r.name for r in benches], mode, judges)
    folder = log_results(benches, name, config, results.plots, results.across)
    report(Event("message", f"logged to W&B run {name!r} ({folder})"))


def _with_notes(judged: Judged, tables: list[Table], failed_games: str, models: list[str] | None,
                baseline: str | None = None) -> list[Table]:
    """The tables with the rule notes added and, for a panel, the inter-judge agreement table second, beside
    the panel's first table. The position tables say that they count the judges' own verdicts, before any rule."""
    if not judged.notes and not judged.dropped:
        return tables
    for t in tables:
        if t.title.startswith("pairwise: position") and judged.notes:
            extra = "each judge's own verdict in each order, before the verdict rule" + (
                " and the panel" if judged.panel else "")
        else:
            extra = "; ".join(judged.notes)
        t.note = "; ".join(n for n in (t.note, extra, judged.dropped) if n)
    if judged.panel is not None:
        from .agreement import agreement_table

        tables.insert(1, agreement_table(judged.panel, judged.mode != "single", failed_games, models, baseline))
    return tables


def bench_result(opts: ResultOptions, bench_name: str, models: list[str] | None,
                 readers: Readers = Readers()) -> BenchResult:
    own = None if opts.input_file else readers.bench(bench_name, opts, models)
    if own is not None:
        return own
    judged = read_judged(opts, bench_name)
    mode, path, records = judged.mode, judged.path, judged.records
    controlled = opts.length_control or opts.style_control
    bench = find_bench(opts, bench_name)
    if bench is not None and opts.input_file:
        bench_name = bench.name
    categories = {q.question_id: q.category for q in bench.questions} if bench else None
    if mode == "single":
        if opts.ratings or controlled:
            raise ConfigError(f"{path}: --ratings needs pairwise judgments; this file holds single scores")
        headline, scale = single_headline(records, models)
        # The plots draw one scale: the headline's (the tables show every scale, each apart).
        shown = [r for r in singles(records) if scale_of(r) == scale]
        tables = _with_notes(judged, single_tables(records, models, categories), opts.failed_games, models)
        if opts.human_labels:
            tables += human_tables(opts.human_labels, records, False, models, scale=scale)
        return BenchResult(bench_name, mode, tables, headline, shown, models, None, categories, scale=scale)
    baseline, rule, weight = baseline_of(opts, mode, bench), opts.failed_games, opts.strong_weight
    tallies = pairwise_tallies(records, models, baseline, rule, weight)
    headline = {m: t.rate("win_rate_adjusted") for m, t in tallies.items()}
    tables = pairwise_tables(records, models, baseline, mode, rule, weight, position_records=judged.own)
    result = BenchResult(bench_name, mode, tables, headline, records, models, baseline, categories, failed_games=rule,
                         strong_weight=weight)
    if opts.ratings or controlled:
        from .ratings import rate

        styles = _styles(opts, bench, path, records, models, baseline) if controlled else None
        result.ratings = rate(records, models, baseline, opts.bootstrap, opts.seed, failed_games=rule, styles=styles,
                              strong_weight=weight)
        result.tables.append(ratings_table(result.ratings, rule_note(error_games(records, models, baseline), rule)))
        if len(result.ratings.controls) > 1:
            result.tables.append(style_table(result.ratings))
    _with_notes(judged, result.tables, rule, models, baseline)
    if opts.human_labels:
        result.tables += human_tables(opts.human_labels, records, True, models, baseline, rule, weight,
                                      ratings=opts.ratings)
    return result


def _styles(opts: ResultOptions, bench: Bench | None, path: Path, records: list[Judgment],
            models: list[str] | None, baseline: str | None) -> Styles:
    """The style counts of the answers the ratings' games compare: every feature, or length alone."""
    from .ratings import collect_games

    flag = "--style-control" if opts.style_control else "--length-control"
    if bench is None:
        raise ConfigError(f"{flag} needs the bench's answers, and no question.jsonl was found above {path}; "
                          "pass --bench-name/--data-dir of the bench")
    played = collect_games(records, models, baseline, failed_games=opts.failed_games).models
    return answer_styles(bench.load_answers(played), FEATURES if opts.style_control else LENGTH_ONLY)


def plot_path(plot: str, bench_name: str, several: bool) -> Path:
    path = Path(plot)
    return path.with_name(f"{path.stem}_{bench_name}{path.suffix}") if several else path
