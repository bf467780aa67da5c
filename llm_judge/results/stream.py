"""show_result's reader: pairwise judgment files in one streaming pass, kept as counted records.

A million pairwise judgments are about 1.5 GB of JSON, nearly all of it prompts and judgment texts that no
table shows. :func:`read_counted` decodes each line with msgspec into a Struct of the fields a pairwise
record has, type-checking each as :mod:`llm_judge.records` does, and keeps one
:class:`~.aggregate.CountedPair` per distinct (model_1, model_2, g1_winner, g2_winner, five-level verdicts,
judge, failed): what it holds grows with the models and verdicts, not with the judgments. A record with
verdict probabilities is kept as its own (slim) record, with those probabilities, so that the position tables
add the probabilities in file order, exactly as when every record is read.

Validation is the typed reader's: a line the fast decoder refuses, or whose fields fail one of its checks,
is read again by :func:`llm_judge.records.judgment_from_json`, which raises the error it always raises
(file, line, field) or, where the fast checks were stricter, reads the record. Without msgspec
(``pip install 'llm_judge[fast]'``) every line goes through the typed reader: slower, the same memory.
A file with a single-answer judgment is not pairwise: :func:`read_counted` returns None, and the caller
reads it with :func:`llm_judge.records.read_judgments`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Optional, Union

from ..five_level import FIVE_LEVELS, level_winner
from ..jsonl import BLANK, open_jsonl, parse_line
from ..dedup import FirstValid, first_valid
from ..records import WINNERS, JudgeName, Judgment, PairJudgment, judgment_from_json, read_judgments
from .aggregate import ERROR_VERDICT, CountedPair

try:
    import msgspec
except ImportError:  # the standard json module reads every line instead
    msgspec = None

_VERDICTS = frozenset(WINNERS + (ERROR_VERDICT, None))
Groups = dict[tuple[Any, ...], CountedPair]

if msgspec is not None:
    class _Pair(msgspec.Struct):
        """Every field the typed reader checks on a pairwise record, with the JSON type it requires; the
        texts are decoded to be type-checked and dropped with the Struct."""

        question_id: Union[int, str, msgspec.UnsetType] = msgspec.UNSET
        model_1: Optional[str] = None
        model_2: Optional[str] = None
        g1_winner: Optional[str] = None
        g2_winner: Optional[str] = None
        judge: Optional[tuple[str, str]] = None
        judge_model: Optional[str] = None
        judge_prompt: Optional[str] = None
        turn: Union[int, None, msgspec.UnsetType] = msgspec.UNSET
        g1_user_prompt: Optional[str] = None
        g1_judgment: Optional[str] = None
        g2_user_prompt: Optional[str] = None
        g2_judgment: Optional[str] = None
        tstamp: Optional[float] = None
        bench: Optional[str] = None
        category: Optional[str] = None
        error: Optional[str] = None
        usage: Optional[dict] = None
        g1_distribution: Optional[dict] = None
        g1_verdict_probs: Optional[dict] = None
        g2_distribution: Optional[dict] = None
        g2_verdict_probs: Optional[dict] = None
        win_probs: Optional[dict] = None
        g1_verdict: Optional[str] = None
        g2_verdict: Optional[str] = None


def read_counted(paths: Iterable[Path | str], seen: FirstValid | None = None) -> list[PairJudgment] | None:
    """The pairwise judgments of ``paths`` as counted records, one per key (dedup.py; ``seen`` counts the
    records dropped), in order of first appearance; None when a file holds a single-answer judgment."""
    out: list[PairJudgment] = []
    groups: Groups = {}
    seen = seen if seen is not None else FirstValid()
    for path in paths:
        if not _read_file(Path(path), _Counter(out, groups, seen)):
            return None
    return out


def read_once(paths: list[Path], counted: bool, seen: FirstValid) -> list[Judgment]:
    """The judgments of ``paths``, one per key (``seen`` counts those dropped): counted records when ``counted``
    and every file is pairwise, else typed records."""
    counting = FirstValid()
    records = read_counted(paths, counting) if counted else None
    if records is None:
        counting = FirstValid()
        records = first_valid((r for path in paths for r in read_judgments(path)), lambda r: r.key,
                              lambda r: r.failed, counting)
    seen.dropped += counting.dropped
    return records


class _Counter:
    """Counts each record into its group, one record per key. Keys are kept as their hash, so that what is
    held grows by a number per judgment, not by its texts (two keys of a million share a hash with a
    chance of about 3e-8)."""

    def __init__(self, out: list[PairJudgment], groups: Groups, seen: FirstValid):
        self.out, self.groups, self.seen = out, groups, seen

    def add(self, rec: Any, judge: tuple[str, str] | None) -> None:
        turn = rec.turn if isinstance(rec.turn, int) else 1
        key = hash((judge, rec.question_id, rec.model_1, rec.model_2, turn))
        failed = bool(rec.error) or rec.g1_winner not in WINNERS or rec.g2_winner not in WINNERS
        keep, replaced = self.seen.add(key, failed)
        if not keep:
            return
        if replaced is not None:
            self._uncount(*replaced)
        counted = _add(self.out, self.groups, rec, judge)
        if failed:
            self.seen.counted_failed(key, counted)

    def _uncount(self, group: CountedPair, group_key: tuple[Any, ...] | None) -> None:
        """Take back a failed record that a valid one of its key replaces."""
        if group.count > 1:
            group.count -= 1
            return
        self.out[:] = [r for r in self.out if r is not group]
        if group_key is not None and self.groups.get(group_key) is group:
            del self.groups[group_key]


def _read_file(path: Path, counter: _Counter) -> bool:
    decode = msgspec.json.Decoder(_Pair).decode if msgspec is not None else None
    with open_jsonl(path) as fh:
        for lineno, raw in enumerate(fh, 1):
            if decode is not None:
                try:
                    rec = decode(raw)
                except msgspec.MsgspecError:  # bad JSON, a type, a blank line: the typed reader says which
                    rec = None
                if rec is not None and _valid(rec):
                    counter.add(rec, _judge(rec))
                    continue
            obj = parse_line(path, raw, lineno)
            if obj is BLANK:
                continue
            typed = judgment_from_json(obj, path, lineno)
            if not isinstance(typed, PairJudgment):
                return False
            counter.add(typed, tuple(typed.judge) if typed.judge else None)
    return True


def _valid(rec: Any) -> bool:
    """The typed reader's checks that a Struct type cannot express; False sends the line to that reader."""
    if rec.question_id is msgspec.UNSET or rec.question_id == "" or not rec.model_1 or not rec.model_2:
        return False
    if rec.g1_winner not in _VERDICTS or rec.g2_winner not in _VERDICTS:
        return False
    if rec.turn is not msgspec.UNSET and (rec.turn is None or rec.turn < 1):
        return False
    for game, label, winner in (("g1", rec.g1_verdict, rec.g1_winner), ("g2", rec.g2_verdict, rec.g2_winner)):
        if label is not None and (label not in FIVE_LEVELS or level_winner(label, game) != winner):
            return False
    # judge_model/judge_prompt (ja-vicuna-qa-benchmark's form) count only without a judge list, and then both
    return rec.judge is not None or (rec.judge_model is None and rec.judge_prompt is None) or bool(
        rec.judge_model and rec.judge_prompt)


def _judge(rec: Any) -> tuple[str, str] | None:
    if rec.judge is not None:
        return rec.judge
    return (rec.judge_model, rec.judge_prompt) if rec.judge_model else None


def _add(out: list[PairJudgment], groups: Groups, rec: Any,
         judge: tuple[str, str] | None) -> tuple[CountedPair, tuple[Any, ...] | None]:
    """Count ``rec`` (a Struct or a PairJudgment) into its group, or keep it alone if it has verdict
    probabilities; the group, and its key in ``groups`` (None: alone)."""
    alone = rec.g1_verdict_probs is not None or rec.g2_verdict_probs is not None or rec.win_probs is not None
    key = (rec.model_1, rec.model_2, rec.g1_winner, rec.g2_winner, rec.g1_verdict, rec.g2_verdict, judge,
           bool(rec.error))
    group = None if alone else groups.get(key)
    if group is not None:
        group.count += 1
        return group, key
    turn = rec.turn if isinstance(rec.turn, int) else 1
    group = CountedPair(question_id=rec.question_id, model_1=rec.model_1, model_2=rec.model_2,
                        g1_winner=rec.g1_winner, g2_winner=rec.g2_winner,
                        judge=JudgeName(*judge) if judge else None, turn=turn, error=rec.error,
                        g1_verdict_probs=rec.g1_verdict_probs, g2_verdict_probs=rec.g2_verdict_probs,
                        g1_verdict=rec.g1_verdict, g2_verdict=rec.g2_verdict,
                        win_probs=rec.win_probs)  # --verdict-rule pooled reads them
    out.append(group)
    if not alone:
        groups[key] = group
    return group, None if alone else key
