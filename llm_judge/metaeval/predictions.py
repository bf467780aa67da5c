"""A judge's stored verdicts on a labelled set, read from the output formats judges are published in.

    pandalm        PandaLM's released prediction files: a JSON array of {"idx", "<judge>_result"} with
                   0/"Tie" = tie, 1, 2 ("garbage" = no verdict); one order
    llmbar         LLMBar evaluator result.json: the set's rows plus ``results[-1]["swap = False"|"swap = True"]
                   ["winner"]`` ("1", "2", null), both already in the set's order; rows matched by content
    autoj          Auto-J: one {"output": 0|1|2} per line (0 first shown, 1 second shown, 2 tie), aligned by
                   line with the test file; a second file holds the run on the swapped pairs
    judgelm        JudgeLM: one {"pred_text": "8 7\n..."} per line aligned with the val set; second file = reversed
    fastchat       FastChat pairwise judgment files (our ``run`` output, gen_judgment, MT-bench gpt-4_pair.jsonl):
                   g1_winner / g2_winner per (question_id, model_1, model_2, turn); also a folder of
                   ja-vicuna-qa-benchmark's per-pair files (pairwise:<model_1>_<model_2>.jsonl, llm_judge/layouts.py)
    mtbench-votes  model votes in the MT-bench human-judgment format (its ``gpt4_pair`` split): one order
    jsonl          ours: {"id", "verdict": "1"|"2"|"tie"|null} or {"id", "verdicts": [order 1, order 2]}
    judgebench     JudgeBench output files: the pair rows with ``judgments``, two games (the second in shown
                   order, turned back here); reward-model files (``judge_name`` reward_model) their first game
    rmbench        RM-Bench scores: {"id", "subset", "score_chosen": [3], "score_rejected": [3]} per item (its
                   rows with a reward model's scores added): each of the nine pairs is won by the higher score

Every verdict is stored in the set's terms ("1" = response 1 better) whichever order the responses were
shown in. Order 1 shows response 1 first; order 2 shows response 2 first.
"""
from __future__ import annotations

import glob
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from ..datasets import autoj, judgebench, judgelm, ours, pandalm, rmbench
from ..datasets.rows import Row, read_rows
from ..errors import ConfigError, InputError
from ..layouts import judgment_files
from ..records import PairJudgment
from .pairs import ONE, TIE, TWO, LabelledSet, Verdict, flip

FORMATS = ("pandalm", "llmbar", "autoj", "judgelm", "fastchat", "mtbench-votes", "jsonl", "judgebench", "rmbench")


@dataclass
class Predictions:
    """Verdicts per pair id: ``(order 1,)`` or ``(order 1, order 2)``; None = the judge gave no verdict."""

    name: str
    orders: int
    verdicts: dict[str, tuple[Verdict, ...]] = field(default_factory=dict)
    unmatched: int = 0  # records about pairs the set does not hold (e.g. unlabelled MT-bench pairs)
    duplicates: int = 0  # later records of a pair already read (judgment files: dedup.py's rule)

    def add(self, path: Path | str, pair_id: str, verdicts: tuple[Verdict, ...], retry: bool = False) -> None:
        """Record a pair's verdicts; a second record of a pair is an error, unless ``retry`` (judgment files,
        where a rerun appends a new record after a failed one): then a failed record gives way to a good one."""
        old = self.verdicts.get(pair_id)
        if old is not None and not retry:
            raise InputError(path, f"holds a second verdict for pair {pair_id!r}")
        if old is not None:
            self.duplicates += 1  # the first valid record counts; a failed one gives way to a valid one
        if old is None or (None in old and None not in verdicts):
            self.verdicts[pair_id] = verdicts


@dataclass
class PredSpec:
    """What the command line names: a judge, the file(s) of its order-1 run, and of its swapped run."""

    name: str | None
    files: list[Path]
    swapped: list[Path]

    @classmethod
    def parse(cls, text: str) -> "PredSpec":
        """``[NAME=]FILE[,SWAPPED_FILE]``; FILE may be a glob pattern (quoted), e.g. for LLMBar's result.json files.
        A file that exists under the whole text is that file, commas and all."""
        name, sep, rest = text.partition("=")
        if not sep or "/" in name:  # no name given ("a=b" inside a path is not one)
            name, rest = "", text
        if Path(rest).is_file():  # a file whose name holds a comma (JudgeBench's do) is one file
            return cls(name or None, [Path(rest)], [])
        first, _, second = rest.partition(",")
        return cls(name or None, _expand(first), _expand(second) if second else [])


def _expand(pattern: str) -> list[Path]:
    """The files a pattern names: a glob's matches, a folder's per-pair judgment files, or the one file."""
    if Path(pattern).is_dir():
        found = judgment_files(Path(pattern), pairwise=True)
        if not found:
            raise InputError(pattern, "is a folder without pairwise judgment files "
                                      "(pairwise:<model_1>_<model_2>.jsonl)")
        return found
    if any(ch in pattern for ch in "*?["):
        found = sorted(Path(p) for p in glob.glob(pattern, recursive=True))
        if not found:
            raise InputError(pattern, "matches no files")
        return found
    return [Path(pattern)]


def default_name(path: Path, fmt: str) -> str:
    """LLMBar results are named by their evaluator folder ("GPT-4/CoT"), JudgeBench outputs by the judge in
    their file name ("arena_hard/claude-3-haiku-20240307"), other files by their stem."""
    if fmt == "judgebench":  # dataset=judgebench,response_model=...,judge_name=arena_hard,judge_model=M.jsonl
        fields = dict(part.partition("=")[::2] for part in path.stem.split(","))
        if fields.get("judge_name") and fields.get("judge_model"):
            return f"{fields['judge_name']}/{fields['judge_model']}"
    if fmt == "llmbar" and "evaluators" in path.parts:
        parts = path.parts[path.parts.index("evaluators") + 1:-1]
        if parts:
            return "/".join(parts)
    return path.stem


# -- readers ---------------------------------------------------------------------------------------

def read_pandalm(files: list[Path], labelled: LabelledSet, name: str) -> Predictions:
    ids = labelled.by_id()
    preds = Predictions(name, 1)
    for path in files:
        for out in pandalm.read_outputs(path):
            if str(out.idx) not in ids:
                raise out.row.error(f"idx {out.idx!r} is not in the labelled set", "idx")
            preds.add(path, str(out.idx), (out.verdict,))
    return preds


def read_judgebench(files: list[Path], labelled: LabelledSet, name: str) -> Predictions:
    ids = labelled.by_id()
    preds: Predictions | None = None
    for path in files:
        for out in judgebench.read_outputs(path):
            if out.pair_id not in ids:
                raise out.row.error(f"pair {out.pair_id!r} is not in the labelled set", "pair_id")
            preds = preds or Predictions(name, len(out.verdicts))
            if len(out.verdicts) != preds.orders:
                raise out.row.error(f"judge {out.judge!r}: every file of one judge must count the same games",
                                    "judge_name")
            preds.add(path, out.pair_id, out.verdicts)
    return preds or Predictions(name, 2)


def read_rmbench_scores(files: list[Path], labelled: LabelledSet, name: str) -> Predictions:
    """Per-response scores: pair (i, j) goes to the chosen response when its score is higher, a tie if equal."""
    ids = labelled.by_id()
    preds = Predictions(name, 1)
    styles = range(len(rmbench.STYLES))
    for row, item, chosen, rejected in rmbench.read_scores(files):
        if rmbench.pair_id(item, 0, 0) not in ids:
            raise row.error(f"item {item!r} is not in the labelled set", "id")
        for i in styles:
            for j in styles:
                a, b = chosen[i], rejected[j]
                verdict = None if a is None or b is None else ONE if a > b else TWO if a < b else TIE
                preds.add(row.path, rmbench.pair_id(item, i, j), (verdict,))
    return preds


LLMBAR_WINNER = {"1": ONE, "2": TWO, None: None}


def read_llmbar(files: list[Path], labelled: LabelledSet, name: str) -> Predictions:
    """LLMBar's result.json rows, matched to the set's pairs by (input, output_1, output_2)."""
    by_content: dict[tuple, list[str]] = {}
    for p in labelled.items:
        by_content.setdefault((p.turns[0], p.answers_1[0], p.answers_2[0]), []).append(p.id)
    preds = Predictions(name, 2)
    for path in files:
        for row in read_rows(path):
            results = row.object().get("results")
            if not isinstance(results, list) or not results or not isinstance(results[-1], dict):
                raise row.error("must be a non-empty list of evaluator results", "results")
            last = results[-1]
            verdicts = []
            for swap in ("swap = False", "swap = True"):
                game = last.get(swap)
                winner = game.get("winner", "(missing)") if isinstance(game, dict) else "(missing)"
                verdicts.append(row.pick(winner, f'results[-1]["{swap}"]["winner"]', LLMBAR_WINNER))
            key = (row.text("input"), row.response("output_1"), row.response("output_2"))
            candidates = [i for i in by_content.get(key, []) if i not in preds.verdicts]
            if not candidates:
                preds.unmatched += 1
                continue
            preds.add(path, candidates[0], tuple(verdicts))
    return preds


def _one_file(files: list[Path], what: str) -> Path:
    if len(files) != 1:
        raise ConfigError(f"{what} predictions are aligned by line with the set: give one file per order, not {len(files)}")
    return files[0]


def _read_aligned(labelled: LabelledSet, name: str, files: list[Path], swapped: list[Path], what: str,
                  verdict_of: Callable[[Row], Verdict]) -> Predictions:
    """Line-aligned prediction files; the swapped file's verdicts are in shown order and flipped back here."""
    runs = [_one_file(files, what)] + ([_one_file(swapped, what)] if swapped else [])
    columns = []
    for path in runs:
        rows = read_rows(path)
        if len(rows) != len(labelled.items):
            raise InputError(path, f"has {len(rows)} predictions but the set has {len(labelled.items)} pairs; "
                                   "the file must hold one line per pair, in the set's order")
        columns.append([verdict_of(row) for row in rows])
    preds = Predictions(name, len(columns))
    for i, pair in enumerate(labelled.items):
        verdicts = [columns[0][i]] + ([flip(columns[1][i])] if len(columns) > 1 else [])
        preds.add(runs[0], pair.id, tuple(verdicts))
    return preds


AUTOJ_OUTPUT = {**autoj.LABEL, None: None}


def read_autoj(files: list[Path], swapped: list[Path], labelled: LabelledSet, name: str) -> Predictions:
    return _read_aligned(labelled, name, files, swapped, "Auto-J", lambda row: row.choice("output", AUTOJ_OUTPUT))


def read_judgelm(files: list[Path], swapped: list[Path], labelled: LabelledSet, name: str) -> Predictions:
    def verdict(row: Row) -> Verdict:
        return judgelm.scores_verdict(judgelm.text_scores(row.text("pred_text", allow_empty=True)))

    return _read_aligned(labelled, name, files, swapped, "JudgeLM", verdict)


def pair_index(labelled: LabelledSet) -> dict[tuple, tuple[str, bool]]:
    """(question id, model shown first in game 1, the other model, turn) -> (pair id, models swapped?)."""
    index: dict[tuple, tuple[str, bool]] = {}
    for p in labelled.items:
        index[(str(p.qid), p.model_1, p.model_2, p.turn)] = (p.id, False)
        index.setdefault((str(p.qid), p.model_2, p.model_1, p.turn), (p.id, True))
    return index


def _winner(value: Any, swapped: bool) -> Verdict:
    """A FastChat winner ("model_1", "model_2", "tie", "tie (bothbad)", "error") in the set's order."""
    if not isinstance(value, str):
        return None
    if value.startswith("tie"):
        return TIE
    verdict = {"model_1": ONE, "model_2": TWO, "model_a": ONE, "model_b": TWO}.get(value)
    return flip(verdict) if swapped else verdict


def fastchat_verdicts(record: PairJudgment, swapped: bool) -> tuple[Verdict, Verdict]:
    """(order 1, order 2) of one pairwise judgment record; a failed record gives no verdicts."""
    if record.error:
        return None, None
    g1, g2 = _winner(record.g1_winner, swapped), _winner(record.g2_winner, swapped)
    # game 1 shows the record's model_1 first: that is order 1 unless the record names the models the other way
    return (g2, g1) if swapped else (g1, g2)


def pair_judgment(row: Row) -> PairJudgment:
    """A row of a FastChat pairwise judgment file, validated (errors name the file and line, or array index)."""
    where = row.path if row.line is not None else f"{row.path}[{row.index}]"
    return PairJudgment.from_json(row.obj, where, row.line)


def from_fastchat_records(records: Iterable[tuple[Path | str, PairJudgment]], labelled: LabelledSet,
                          name: str) -> Predictions:
    index = pair_index(labelled)
    preds = Predictions(name, 2)
    for path, rec in records:
        found = index.get((str(rec.question_id), rec.model_1, rec.model_2, rec.turn))
        if found is None:
            preds.unmatched += 1
            continue
        pair_id, swapped = found
        preds.add(path, pair_id, fastchat_verdicts(rec, swapped), retry=True)
    return preds


def read_fastchat(files: list[Path], labelled: LabelledSet, name: str) -> Predictions:
    return from_fastchat_records(((path, pair_judgment(row)) for path in files for row in read_rows(path)),
                                 labelled, name)


def read_mtbench_votes(files: list[Path], labelled: LabelledSet, name: str) -> Predictions:
    """Model votes (judge given as a list, e.g. ["gpt-4", "pair-v2"]) in the human-judgment format."""
    index = pair_index(labelled)
    preds = Predictions(name, 1)
    for path in files:
        for row in read_rows(path):
            obj = row.object()
            if not isinstance(obj.get("judge"), list):
                continue  # human votes are labels, not predictions
            found = index.get((str(obj.get("question_id")), obj.get("model_a"), obj.get("model_b"), obj.get("turn")))
            if found is None:
                preds.unmatched += 1
                continue
            preds.add(path, found[0], (_winner(obj.get("winner"), found[1]),))
    return preds


OUR_VERDICT = {**ours.LABEL, None: None}


def read_jsonl(files: list[Path], labelled: LabelledSet, name: str) -> Predictions:
    ids = labelled.by_id()
    preds: Predictions | None = None
    for path in files:
        for row in read_rows(path):
            obj = row.object()
            if "verdicts" in obj:
                raw = obj["verdicts"]
                if not isinstance(raw, list) or len(raw) not in (1, 2):
                    raise row.error("must be a list of one or two verdicts (order 1, order 2)", "verdicts")
                verdicts = tuple(row.pick(v, "verdicts", OUR_VERDICT) for v in raw)
            else:
                if "verdict" not in obj:
                    raise row.error("is missing (or give 'verdicts')", "verdict")
                verdicts = (row.choice("verdict", OUR_VERDICT),)
            preds = preds or Predictions(name, len(verdicts))
            if len(verdicts) != preds.orders:
                raise row.error(f"every line must give the same number of orders ({preds.orders})", "verdicts")
            if str(obj.get("id")) not in ids:
                raise row.error(f"pair {obj.get('id')!r} is not in the labelled set", "id")
            preds.add(path, str(obj["id"]), verdicts)
    return preds or Predictions(name, 1)


# -- format detection ------------------------------------------------------------------------------

_SIGNATURES: list[tuple[str, Callable[[dict], bool]]] = [
    ("judgebench", lambda o: "judgments" in o and "pair_id" in o),
    ("rmbench", lambda o: "score_chosen" in o and "score_rejected" in o),
    ("rmbench", lambda o: "model" in o and "score" in o and "model_1" not in o),  # single judgments (RM-Bench bench)
    ("pandalm", lambda o: "idx" in o and any(k.endswith("_result") for k in o)),
    ("llmbar", lambda o: "results" in o and "output_1" in o),
    ("judgelm", lambda o: "pred_text" in o),
    ("fastchat", lambda o: "g1_winner" in o),
    ("mtbench-votes", lambda o: "winner" in o and "judge" in o),
    ("jsonl", lambda o: "verdict" in o or "verdicts" in o),
    ("autoj", lambda o: "output" in o),
]


def detect_format(path: Path) -> str:
    rows = read_rows(path)
    obj = rows[0].obj if rows else None
    if not isinstance(obj, dict):
        raise InputError(path, "expected JSON objects (one per line, or a JSON array of them)")
    for fmt, matches in _SIGNATURES:
        if matches(obj):
            return fmt
    raise ConfigError(f"{path}: cannot tell which prediction format this is (fields: {', '.join(list(obj)[:8])}); "
                      f"give --pred-format ({', '.join(FORMATS)})")


def load_predictions(spec: PredSpec, labelled: LabelledSet, fmt: str = "auto") -> Predictions:
    fmt = detect_format(spec.files[0]) if fmt == "auto" else fmt
    name = spec.name or default_name(spec.files[0], fmt)
    if spec.swapped and fmt not in ("autoj", "judgelm"):
        raise ConfigError(f"{name}: a second (swapped-order) file only applies to autoj and judgelm predictions; "
                          f"{fmt} files hold both orders, or one")
    if fmt == "autoj":
        return read_autoj(spec.files, spec.swapped, labelled, name)
    if fmt == "judgelm":
        return read_judgelm(spec.files, spec.swapped, labelled, name)
    readers: dict[str, Callable[[list[Path], LabelledSet, str], Predictions]] = {
        "pandalm": read_pandalm, "llmbar": read_llmbar, "fastchat": read_fastchat,
        "mtbench-votes": read_mtbench_votes, "jsonl": read_jsonl, "judgebench": read_judgebench,
        "rmbench": read_rmbench_scores,
    }
    if fmt not in readers:
        raise ConfigError(f"unknown prediction format {fmt!r} (known: {', '.join(FORMATS)})")
    return readers[fmt](spec.files, labelled, name)
