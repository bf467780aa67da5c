"""RM-Bench's score: the 3x3 accuracy matrix of chosen style against rejected style, and its hard / normal /
easy accuracies, per domain and averaged over domains (its README and ``compute_accuracy``).

M[i][j] is the share of items whose chosen response in style i beats the rejected one in style j (styles:
concise, detailed, markdown). hard = the mean of the upper triangle (j > i: the rejected response is the more
styled one), normal = the diagonal, easy = the lower triangle; total = the mean of all nine. A pair judged in
both orders is won by the chosen response when the orders' +1 / -1 / 0 scores sum above 0 (as JudgeBench; a
tie is not a win, as RM-Bench's strict ``>`` on scores); a pair scored once, when its verdict is "1". The
average row is the mean over the domains present, as RM-Bench's table averages chat, math, code and safety.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ..datasets.rmbench import DOMAINS, STYLES, cell_of
from ..jsonl import write_jsonl_atomic
from ..records import Answer, Question
from ..results.tables import Table
from .judgebench import correct
from .pairs import LabelledPair
from .predictions import Predictions

SIZE = len(STYLES)
Matrix = list[list[float | None]]  # M[chosen style][rejected style]; None: no pair of that cell judged
UPPER = [(i, j) for i in range(SIZE) for j in range(SIZE) if j > i]
LOWER = [(j, i) for i, j in UPPER]
DIAGONAL = [(i, i) for i in range(SIZE)]


def matrices(items: Sequence[LabelledPair], preds: Predictions) -> dict[str, tuple[Matrix, int]]:
    """domain -> (M, the number of items with a verdict), over the pairs the judge has verdicts for."""
    cells: dict[str, dict[tuple[int, int], list[bool]]] = {}
    items_seen: dict[str, set[str]] = {}
    for p in items:
        if p.id not in preds.verdicts or p.label is None:
            continue
        item, i, j = cell_of(p.id)
        cells.setdefault(p.subset, {}).setdefault((i, j), []).append(correct(preds.verdicts[p.id], p.label))
        items_seen.setdefault(p.subset, set()).add(item)
    order = [d for d in DOMAINS if d in cells] + sorted(set(cells) - set(DOMAINS))
    return {d: ([[_mean(cells[d].get((i, j), [])) for j in range(SIZE)] for i in range(SIZE)], len(items_seen[d]))
            for d in order}


def _mean(values: Sequence[float | None]) -> float | None:
    known = [float(v) for v in values if v is not None]
    return sum(known) / len(known) if known else None


def summary(m: Matrix) -> dict[str, float | None]:
    """hard (upper triangle), normal (diagonal), easy (lower triangle) and total of a matrix."""
    return {"hard": _mean([m[i][j] for i, j in UPPER]), "normal": _mean([m[i][j] for i, j in DIAGONAL]),
            "easy": _mean([m[i][j] for i, j in LOWER]), "total": _mean([v for row in m for v in row])}


def _pct(x: float | None) -> float | None:
    return None if x is None else 100.0 * x


def rmbench_tables(title: str, items: Sequence[LabelledPair], judges: Sequence[Predictions]) -> list[Table]:
    """The accuracies per judge and domain (and their average), then each judge's matrices."""
    scores = Table(f"{title}: RM-Bench accuracy (%)",
                   ["judge", "domain", "items", "hard", "normal", "easy", "total"],
                   note="hard: chosen in a plainer style than rejected (upper triangle of the matrix); normal: the "
                        "same style; easy: the chosen one more styled; average: the mean over the domains")
    cells = Table(f"{title}: RM-Bench matrix (% chosen beats rejected)",
                  ["judge", "domain", "chosen"] + [f"vs {s}" for s in STYLES],
                  note="rows: the chosen response's style; columns: the rejected one's")
    for preds in judges:
        found = matrices(items, preds)
        for domain, (m, n) in found.items():
            s = summary(m)
            scores.rows.append([preds.name, domain, n] + [_pct(s[k]) for k in ("hard", "normal", "easy", "total")])
            cells.rows += [[preds.name, domain, STYLES[i]] + [_pct(m[i][j]) for j in range(SIZE)]
                           for i in range(SIZE)]
        if len(found) > 1:
            per = [summary(m) for m, _ in found.values()]
            scores.rows.append([preds.name, "average", sum(n for _, n in found.values())]
                               + [_pct(_mean([s[k] for s in per])) for k in ("hard", "normal", "easy", "total")])
    return [scores, cells]


def write_bench(items: Sequence[LabelledPair], folder: Path) -> list[Path]:
    """RM-Bench as a bench for single-answer judging (gen_judgment --mode single): each item a question
    (question id ``<subset>/<id>``), each of its six responses the answer of a "model" named by role and style
    (``chosen_concise`` ... ``rejected_markdown``). The judgment file is then a ``--pred`` of the set."""
    questions: dict[str, Question] = {}
    answers: dict[str, list[Answer]] = {}
    for p in items:
        item, i, j = cell_of(p.id)
        questions.setdefault(item, Question(item, p.subset, list(p.turns)))
        for model, text, seen in ((p.model_1, p.answers_1[0], j == 0), (p.model_2, p.answers_2[0], i == 0)):
            if seen:  # each response once: the chosen ones from column 0, the rejected ones from row 0
                answers.setdefault(model, []).append(Answer(item, model, [{"index": 0, "turns": [text]}]))
    written = [folder / "question.jsonl"]
    write_jsonl_atomic(written[0], (q.to_json() for q in questions.values()))
    for model, rows in answers.items():
        written.append(folder / "model_answer" / f"{model}.jsonl")
        write_jsonl_atomic(written[-1], (a.to_json() for a in rows))
    return written
