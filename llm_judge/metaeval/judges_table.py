"""The judges' table (eval_judge report): one row per judge, each set's headline number with a 95% interval
from a bootstrap over the set's items, so judges are compared on the same footing.

The headline of a set is the number its own paper reports:

    judgebench   JudgeBench accuracy: a pair is right when its orders' +1 / -1 / 0 scores sum above 0
    rmbench      RM-Bench's average: the mean over domains of each domain's accuracy over its nine style
                 pairs per item (the bootstrap resamples items within each domain)
    llmbar       LLMBar's average accuracy: the mean over the two orders of "the verdict is the label"
    the others   agreement: the final verdict (both orders agree, else a tie) is the label

Pairs without a label, and pairs the judge gave no verdicts on, are left out (``n`` counts the rest). A panel
(``--panel majority``) is one more row: on each set, the majority of the judges given for that set.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from ..datasets.rmbench import cell_of
from ..errors import ConfigError
from ..results.tables import Table
from ..stats import bootstrap_interval
from .judgebench import correct
from .metrics import final_verdict, resolved
from .pairs import LabelledSet
from .predictions import Predictions

HEADLINES = {"judgebench": "JudgeBench accuracy", "rmbench": "RM-Bench average accuracy",
             "llmbar": "average accuracy over both orders"}


@dataclass
class SetEntry:
    """One set of the report and the judges' predictions on it."""

    name: str
    labelled: LabelledSet
    judges: list[Predictions] = field(default_factory=list)


def units(labelled: LabelledSet, preds: Predictions, invalid_as_tie: bool = False) -> dict[str, list[float]]:
    """The per-item values whose (stratified) mean is the set's headline: stratum -> values."""
    fmt = labelled.format
    scored = [(p, resolved(preds.verdicts[p.id], invalid_as_tie)) for p in labelled.items
              if p.id in preds.verdicts and p.label is not None]
    if fmt == "rmbench":
        items: dict[tuple[str, str], list[float]] = {}
        for p, v in scored:
            items.setdefault((p.subset, cell_of(p.id)[0]), []).append(float(correct(v, p.label)))
        strata: dict[str, list[float]] = {}
        for (domain, _), cells in items.items():
            strata.setdefault(domain, []).append(sum(cells) / len(cells))
        return strata
    if fmt == "judgebench":
        return {"all": [float(correct(v, p.label)) for p, v in scored]}
    if fmt == "llmbar":
        return {"all": [sum(x == p.label for x in v) / len(v) for p, v in scored]}
    return {"all": [float(final_verdict(v) == p.label) for p, v in scored]}


def headline(strata: dict[str, list[float]]) -> float | None:
    means = [sum(v) / len(v) for v in strata.values() if v]
    return sum(means) / len(means) if means else None


def judges_table(sets: Sequence[SetEntry], invalid_as_tie: bool = False, resamples: int = 1000,
                 seed: int = 0) -> Table:
    """One row per judge name (in order of first appearance), three columns per set (%)."""
    names = list(dict.fromkeys(p.name for s in sets for p in s.judges))
    columns = ["judge"] + [f"{s.name}{part}" for s in sets for part in ("", "_lower", "_upper", "_n")]
    table = Table("judges: each set's headline (%) with a 95% bootstrap interval", columns)
    for name in names:
        row: list = [name]
        for s in sets:
            preds = next((p for p in s.judges if p.name == name), None)
            strata = units(s.labelled, preds, invalid_as_tie) if preds else {}
            value, interval = headline(strata), bootstrap_interval(list(strata.values()), resamples, seed)
            row += [None if value is None else 100 * value] + (
                [100 * interval[0], 100 * interval[1]] if interval else [None, None])
            row.append(sum(len(v) for v in strata.values()) if preds else None)
        table.rows.append(row)
    table.note = "; ".join([f"{s.name}: {HEADLINES.get(s.labelled.format, 'agreement with the label')}"
                            for s in sets] + [f"intervals: {resamples} bootstrap resamples of items, seed {seed}"])
    return table


def load_entries(sets: Sequence[str], preds: Sequence[str], annotators: tuple[str, ...] = ("expert",),
                 panel: bool = False, invalid_as_tie: bool = False) -> list[SetEntry]:
    """The report's sets (``NAME=PATH``, format detected) and predictions (``SET:[JUDGE=]FILE``, each on the set
    named before the colon), with a panel row per set when asked."""
    from .loaders import load_set
    from .panel import panel_predictions
    from .predictions import PredSpec, load_predictions

    entries: dict[str, SetEntry] = {}
    for spec in sets:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise ConfigError(f"--set {spec!r}: expected NAME=PATH (e.g. pandalm=data/pandalm/testset-v1.json)")
        if name in entries:
            raise ConfigError(f"--set {name}: given twice")
        entries[name] = SetEntry(name, load_set(path, "auto", annotators))
    for spec in preds:
        name, sep, rest = spec.partition(":")
        if not sep or name not in entries:
            raise ConfigError(f"--pred {spec!r}: expected SET:[JUDGE=]FILE with SET one of the --set names "
                              f"({', '.join(entries)})")
        entry = entries[name]
        entry.judges.append(load_predictions(PredSpec.parse(rest), entry.labelled))
    if panel:
        for entry in entries.values():
            if len(entry.judges) > 1:
                entry.judges.append(panel_predictions(entry.judges, invalid_as_tie))
    return list(entries.values())
