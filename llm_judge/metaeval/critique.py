"""Auto-J's critique task (eval_judge critique): a critic's critiques of the 232 test responses compared, by any
pairwise judge in both orders, with the ChatGPT reference critiques Auto-J released; win / tie / loss per
scenario group and overall, and the win rate (ties half) with a 95% bootstrap interval over queries.

Each query becomes a pair: the task (critique this response to this query) as the question, the critic's
critique as response 1 and the reference as response 2, so ``eval_judge run``'s machinery judges it (any
engine, generation or distribution, resumable). A pair's outcome is the final verdict: a win only when both
orders prefer the critic's critique, a loss when both prefer the reference, else a tie (FastChat's rule).
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ..datasets.autoj import GROUPS, CritiqueItem, read_critique_set
from ..datasets.rows import iter_rows
from ..engines.config import EngineConfig
from ..errors import ConfigError, InputError
from ..jsonl import write_jsonl_atomic
from ..records import Answer, Question
from ..progress import OnEvent
from ..results.tables import Table
from ..stats import bootstrap_interval
from .evaluate import JudgeEvaluation, RunOptions, run_judge, select
from .metrics import final_verdict
from .pairs import ONE, TIE, TWO, LabelledPair, LabelledSet
from .predictions import Predictions

REFERENCE = "chatgpt-reference"
TASK = ("Write a critique of the response below to the user's query: say what it does well and what it "
        "gets wrong or leaves out, specifically enough that the response could be improved from it.\n\n"
        "[Query]\n{query}\n\n[Response]\n{response}")


def critic_texts(items: Sequence[CritiqueItem], critic: str) -> list[str]:
    """The critic's critiques: a name released in the test file (``autoj``); a JSONL file aligned by line with
    it, ``{"output": critique}`` per line (the reference file's format); or gen_model_answer's answer file
    for the bench :func:`write_bench` wrote (each query's critique its answer's first turn)."""
    if all(critic in item.critiques for item in items):
        return [item.critiques[critic] for item in items]
    path = Path(critic)
    if not path.is_file():
        released = sorted({name for item in items for name in item.critiques})
        raise ConfigError(f"--critiques {critic}: neither a critic of the test file ({', '.join(released)}) "
                          "nor a file")
    rows = list(iter_rows(path))
    if rows and isinstance(rows[0].obj, dict) and "choices" in rows[0].obj:
        answers = {str(a.question_id): a.turns[0] for a in (Answer.from_json(r.obj, path, r.line) for r in rows)}
        missing = [item.id for item in items if item.id not in answers]
        if missing:
            raise InputError(path, f"has no answer for {len(missing)} of the {len(items)} queries (question ids "
                                   f"{', '.join(missing[:5])}); run gen_model_answer on the whole bench")
        return [answers[item.id] for item in items]
    if len(rows) != len(items):
        raise InputError(path, f"has {len(rows)} critiques for {len(items)} queries; one per line, in the test "
                               "file's order")
    return [row.text("output", allow_empty=True) for row in rows]


def write_bench(items: Sequence[CritiqueItem], folder: Path) -> Path:
    """The critique tasks as a bench (``question.jsonl``: question id = the query's line, category = its
    scenario), for gen_model_answer to have any model write the critiques."""
    questions = [Question(int(item.id), item.scenario, [TASK.format(query=item.prompt, response=item.response)])
                 for item in items]
    write_jsonl_atomic(folder / "question.jsonl", (q.to_json() for q in questions))
    return folder / "question.jsonl"


def critique_set(items: Sequence[CritiqueItem], critic: str, name: str) -> LabelledSet:
    """The comparisons as an (unlabelled) pairwise set: response 1 the critic's critique, 2 the reference."""
    texts = critic_texts(items, critic)
    pairs = [LabelledPair(item.id, (TASK.format(query=item.prompt, response=item.response),), (text,),
                          (item.reference,), subset=item.group, category=item.scenario, model_1=name,
                          model_2=REFERENCE) for item, text in zip(items, texts)]
    return LabelledSet("autoj-critique", "autoj-critique", pairs)


def outcome(verdicts: Sequence) -> float | None:
    """1 the critic's critique won, 0.5 a tie, 0 it lost; None without verdicts."""
    final = final_verdict(verdicts)
    return {ONE: 1.0, TIE: 0.5, TWO: 0.0}.get(final) if final is not None else None


def critique_table(pairs: Sequence[LabelledPair], preds: Predictions, resamples: int = 1000, seed: int = 0) -> Table:
    """Win / tie / loss (%) of the critic against the reference per scenario group and overall."""
    table = Table(f"{preds.name} vs the ChatGPT reference critiques (Auto-J critique task)",
                  ["group", "n", "win %", "tie %", "loss %", "win_rate %", "lower_95", "upper_95", "no verdict"],
                  note="win: both orders prefer the critic's critique; win_rate: win + tie / 2; interval: "
                       f"{resamples} bootstrap resamples of queries, seed {seed}")
    groups = [g for g in GROUPS if any(p.subset == g for p in pairs)] + ["overall"]
    for group in groups:
        members = [p for p in pairs if group == "overall" or p.subset == group]
        got = [outcome(preds.verdicts[p.id]) for p in members if p.id in preds.verdicts]
        values = [v for v in got if v is not None]
        if not values:
            continue
        n = len(values)
        interval = bootstrap_interval([values], resamples, seed) or (None, None)
        table.rows.append([group, n, 100 * values.count(1.0) / n, 100 * values.count(0.5) / n,
                           100 * values.count(0.0) / n, 100 * sum(values) / n,
                           *(None if x is None else 100 * x for x in interval), len(members) - n])
    return table


def evaluate_critiques(test: str | Path, reference: str | Path, critic: str, name: str, judge: EngineConfig,
                       run: RunOptions, report: OnEvent, subsets: Sequence[str] | None = None,
                       first_n: int | None = None, resamples: int = 1000, seed: int = 0) -> JudgeEvaluation | None:
    """Judge the critic's critiques against the reference (resumably) and tabulate them; None for a dry run."""
    labelled = critique_set(read_critique_set(test, reference), critic, name)
    items = select(labelled.items, subsets, None, first_n)
    result = JudgeEvaluation(labelled.name, len(items), [])
    ran = run_judge(judge, run, labelled, items, result, report)
    if ran is None:
        return None
    ran.name = name
    result.judges.append(ran)
    result.tables = [critique_table(items, ran, resamples, seed)]
    return result
