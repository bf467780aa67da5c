"""Judge meta-evaluation as a function: a labelled set's pairs chosen, stored predictions read, a judge run over
the pairs in both orders (resumably), a panel of them, and the agreement tables. What ``eval_judge score`` /
``eval_judge run`` and :func:`llm_judge.evaluate_judge` compute."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from ..engines.config import EngineConfig
from ..errors import ConfigError
from ..progress import Event, OnEvent
from ..results.tables import Table, render
from .judgebench import judgebench_table
from .loaders import load_set
from .metrics import group_key, interannotator, relabel, score_groups
from .pairs import LabelledPair, LabelledSet
from .predictions import PredSpec, Predictions, load_predictions
from .report import interannotator_table, metric_tables
from .rmbench import rmbench_tables


@dataclass(frozen=True)
class SetOptions:
    """Which pairs, which stored predictions, and how to score them (eval_judge's flags as values)."""

    set_format: str = "auto"
    annotators: Sequence[str] = ("expert",)
    subset: Sequence[str] | None = None
    ids: Sequence[str] | None = None
    first_n: int | None = None
    pred: Sequence[str] = ()  # [NAME=]FILE[,SWAPPED] specs
    pred_format: str = "auto"
    against: str = "human"
    group_by: str = "subset"
    invalid_as: str = "wrong"
    interannotator: bool = False
    panel: str | None = None


@dataclass(frozen=True)
class RunOptions:
    """How ``eval_judge run`` judges the pairs (its flags as values)."""

    judge_file: str | None = None
    judge_family: str | None = None
    language: str = "en"
    judge_method: str = "generate"
    judge_max_new_token: int | None = None
    output: str | Path | None = None
    output_dir: str | Path = "judge_eval"
    dry_run: bool = False
    wait: bool = False  # another run writes the judgment file: wait for it (default: refuse)
    share: bool = False  # divide the pairs with the other runs given share (locks.py, claims.py)


@dataclass
class JudgeEvaluation:
    """What a meta-evaluation found: the set, the pairs scored, each judge's predictions and the tables;
    with a judge run, its judgment file and counts."""

    set_name: str
    pairs: int
    judges: list[Predictions]
    tables: list[Table] = field(default_factory=list)
    output: Path | None = None  # the judge run's judgment file
    written: int = 0  # records the judge run wrote, failed ones included
    skipped: int = 0  # pairs judged before this run
    failed: int = 0

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def render(self, fmt: str = "table", digits: int = 2) -> str:
        return render(self.tables, fmt, digits)


def select(items: list[LabelledPair], subsets: Sequence[str] | None, ids: Sequence[str] | None,
           first_n: int | None) -> list[LabelledPair]:
    if ids:
        known_ids = {p.id for p in items}
        missing = [i for i in ids if i not in known_ids]
        if missing:
            raise ConfigError(f"no pair {', '.join(missing[:5])} in the set (ids look like {items[0].id!r})")
        items = [p for p in items if p.id in set(ids)]
    if subsets:
        known = set(p.subset for p in items)
        unknown = [s for s in subsets if s not in known]
        if unknown:
            raise ConfigError(f"no subset {', '.join(unknown)} in the set (it has: {', '.join(sorted(known))})")
        items = [p for p in items if p.subset in subsets]
    return items[:first_n] if first_n else items


def evaluate(path: str | Path, opts: SetOptions, report: OnEvent, judge: EngineConfig | None = None,
             run: RunOptions = RunOptions()) -> JudgeEvaluation | None:
    """Score the stored predictions of ``opts.pred`` (and, with ``judge``, a run of that judge) on the set at
    ``path``; None for a dry run."""
    labelled = load_set(path, opts.set_format, tuple(opts.annotators))
    items = select(labelled.items, opts.subset, opts.ids, opts.first_n)
    judges = [load_predictions(PredSpec.parse(spec), labelled, opts.pred_format) for spec in opts.pred]
    result = JudgeEvaluation(labelled.name, len(items), judges)
    if judge is not None:
        ran = run_judge(judge, run, labelled, items, result, report)
        if ran is None:
            return None
        judges.append(ran)
    if opts.panel:
        from .panel import panel_predictions

        judges.append(panel_predictions([p for p in judges if p.name != opts.against], opts.invalid_as == "tie"))
    for preds in judges:
        report(Event("message", _coverage(preds, items)))
    result.tables = tables(opts, labelled, items, judges)
    return result


def run_judge(config: EngineConfig, run: RunOptions, labelled: LabelledSet, items: list[LabelledPair],
              result: JudgeEvaluation, report: OnEvent) -> Predictions | None:
    """Judge the selected pairs (skipping those already judged), counting into ``result``; the run's
    predictions, or None for a dry run."""
    from ..judging.families import load_family
    from ..judging.judge import Judge
    from ..judging.run import judgment_store, pending, run_claimed, share_chunk
    from ..locks import LockOptions
    from .run import plan, read_run

    family = load_family(run.judge_family)
    family.check_mode("pairwise-all")
    judge = Judge(config, family, run.judge_method, run.judge_max_new_token)
    out = (Path(run.output) if run.output
           else Path(run.output_dir) / labelled.name / family.output_name(judge.id, pairwise=True))
    matches = plan(items, family.prompt_set(run.judge_file, None, run.language, None, None))
    judge.check(matches, run.language)
    result.output = out
    # Opening the store cuts a record torn by a kill and drops failed ones, so they are judged again.
    lock = None if run.dry_run else LockOptions(wait=run.wait, share=run.share, chunk=share_chunk(judge.engine, False))
    with judgment_store(out, pairwise=True, lock=lock) as store:
        todo = pending(matches, store, judge.id)
        result.skipped = len(items) - len(todo)
        report(Event("message", f"{labelled.name}: {len(items)} pairs, {len(items) - len(todo)} already judged in "
                                f"{out}, {len(todo)} to do = {2 * len(todo)} judge calls to {judge.id}"))
        if run.dry_run:
            return None
        if todo:
            with judge:
                summary = run_claimed(judge, labelled.name, todo, store, run.language,
                                      already_done=len(matches) - len(todo), chunk=lock and lock.chunk)
            report(Event("message", f"{judge.id} on {labelled.name}: {summary.line()} -> {out}"))
            result.written, result.failed = summary.done + summary.failed, summary.failed
    return read_run(out, labelled, judge.id, {m.key(judge.id) for m in matches})


def _coverage(preds: Predictions, items: list[LabelledPair]) -> str:
    covered = sum(1 for p in items if p.id in preds.verdicts)
    extra = f", {preds.unmatched} records about pairs not in the set" if preds.unmatched else ""
    if preds.duplicates:  # a pair judged twice in one file: its first valid record counts
        extra += f", {preds.duplicates} duplicate records dropped"
    return f"{preds.name}: verdicts on {covered} of {len(items)} pairs, {preds.orders} order(s){extra}"


def tables(opts: SetOptions, labelled: LabelledSet, items: list[LabelledPair],
           judges: list[Predictions]) -> list[Table]:
    """The judges' agreement tables (against the labels, or the ``against`` judge), and the annotators'."""
    invalid_as_tie = opts.invalid_as == "tie"
    title = f"{labelled.name} vs human labels"
    if opts.against != "human":
        ref = next((p for p in judges if p.name == opts.against), None)
        if ref is None:
            raise ConfigError(f"--against {opts.against}: no judge of that name (judges: "
                              f"{', '.join(p.name for p in judges) or 'none'})")
        items = relabel(items, ref, invalid_as_tie)
        judges = [p for p in judges if p is not ref]
        title = f"{labelled.name} vs {ref.name}"
    out: list[Table] = []
    rows = [(p.name, group, m) for p in judges for group, m in score_groups(items, p, opts.group_by, invalid_as_tie)]
    if labelled.format == "judgebench" and judges:
        out.append(judgebench_table(title, items, judges))
    if labelled.format == "rmbench" and judges:
        out += rmbench_tables(title, items, judges)
    if rows:
        out += metric_tables(title, rows)
    if opts.interannotator:
        key = group_key(opts.group_by)
        groups = list(dict.fromkeys(key(p) for p in items))
        per_group = [(g, interannotator([p for p in items if key(p) == g])) for g in groups] if len(groups) > 1 else []
        out.append(interannotator_table(labelled.name, per_group + [("overall", interannotator(items))]))
    if not out:
        raise ConfigError("nothing to score: give --pred FILE (or use run, or --interannotator)")
    return out
