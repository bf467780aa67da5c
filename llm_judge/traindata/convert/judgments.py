"""FastChat judgment files (MT-bench's GPT-4 judgments, jp_bench's, and this harness's own), and folders
of ja-vicuna-qa-benchmark's per-pair (per-model) files (llm_judge/layouts.py: a judge folder, pairwise/, or
model_judgment/).

A judgment record names the question and model(s), not their text, so it is joined with its bench:
``question.jsonl``, ``model_answer/<model>.jsonl`` and ``reference_answer/``; a record gets the
reference only when the judge was shown it (its text is in the judge's prompt), whatever the prompt is
called. The bench is the folder above ``model_judgment/`` unless option ``bench=`` names it.

- pair files (``model_1, model_2, g1_winner, g2_winner, g1_judgment, g2_judgment``): each of the two
  games is one record, responses in the order the judge saw them (g1: model_1 first; g2: model_2 first).
  ``agreeing_only=1`` keeps a judgment only when both games name the same winner.
- single files (``model, score, judgment``): one record each.
Turn 2 becomes a two-turn record. Failed judgments (an ``error`` field, score -1, winner "error" or None)
are skipped and counted, and so are later records of a key already read (one record per key, dedup.py).
"""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from ...bench import Bench, load_answer_file, load_bench
from ...layouts import judgment_files
from ...datasets.rows import Row, iter_rows
from ...errors import ConfigError
from ...records import Answer, JudgeName, PairJudgment, Question, SingleJudgment, judgment_from_json
from ..rationale import is_japanese, strip_final_verdict
from ..record import JudgeRecord, Turn

_PAIR = re.compile(r"\[\[\s*([ABC])\s*\]\]")
_RATING = re.compile(r"(?:(?:Rating|Score|評価|点数)\s*[:：]\s*)?\[\[\s*(\d+(?:\.\d+)?)\s*(?:/\s*10\s*)?\]\]",
                     re.IGNORECASE)
# (first, second, tie) as FastChat-style prompts make the judge write them.
WORDS_EN = ("Assistant A", "Assistant B", "a tie")
WORDS_JA = ("アシスタントA", "アシスタントB", "引き分け")


def _bench_dir(path: Path, options: dict[str, str]) -> Path:
    if options.get("bench"):
        return Path(options["bench"])
    for parent in (path.resolve(), *path.resolve().parents):  # the path may be model_judgment/ itself
        if parent.name == "model_judgment":
            return parent.parent
    raise ConfigError(f"{path}: cannot tell which bench it judges; give it as {path},bench=DIR")


class _Bench:
    """Questions, answers (loaded per model on first use) and references of the judged bench."""

    def __init__(self, folder: Path):
        self.bench: Bench = load_bench(str(folder))
        self.questions = {q.question_id: q for q in self.bench.questions}
        self.answers: dict[str, dict] = {}
        self._references: dict | None = None

    def answer(self, row: Row, model: str, qid, field: str) -> Answer:
        if model not in self.answers:
            file = self.bench.answer_files().get(model)
            if file is None:
                raise row.error(f"no answer file for model {model!r} in {self.bench.answer_dir} "
                                f"({model}.jsonl or {model}/results.jsonl)", field)
            self.answers[model] = load_answer_file(file)
        answer = self.answers[model].get(qid)
        if answer is None:
            raise row.error(f"model {model!r} has no answer to question {qid!r} in {self.bench.answer_dir}", field)
        return answer

    def references(self) -> dict:
        if self._references is None:
            self._references = self.bench.reference_answers()
        return self._references


def _turns(row: Row, turn: int, question_turns: list[str], answers: list[Answer],
           refs: list[str] | None) -> tuple[str, list[str], str | None, list[Turn]]:
    """(instruction, responses, reference, history) for judging ``turn`` (1-based)."""
    if turn < 1 or turn > len(question_turns) or any(turn > len(a.turns) for a in answers):
        raise row.error(f"turn {turn} is past the question's or an answer's last turn", "turn")
    i = turn - 1
    ref = refs[i] if refs and i < len(refs) else None
    history = [Turn(question_turns[t], [a.turns[t] for a in answers], refs[t] if refs and t < len(refs) else None)
               for t in range(i)]
    return question_turns[i], [a.turns[i] for a in answers], ref, history


def _text(row: Row, value: str | None, name: str) -> str:
    if value is None:
        raise row.error("is missing", name)
    return value


def _pair_records(row: Row, j: PairJudgment, bench: _Bench, question: Question, refs: list[str] | None,
                  meta: dict) -> list[JudgeRecord]:
    """Both games of a pairwise judgment, each with the responses in the order the judge saw them."""
    models = (j.model_1, j.model_2)
    answers = [bench.answer(row, models[0], j.question_id, "model_1"),
               bench.answer(row, models[1], j.question_id, "model_2")]
    games = (("g1", j.g1_winner, j.g1_judgment, j.g1_distribution, answers,
              {"model_1": "A", "model_2": "B", "tie": "tie"}, models),
             ("g2", j.g2_winner, j.g2_judgment, j.g2_distribution, answers[::-1],
              {"model_2": "A", "model_1": "B", "tie": "tie"}, models[::-1]))
    out = []
    for game, winner, judgment, distribution, shown, labels, order in games:
        judgment = _text(row, judgment, f"{game}_judgment")
        words = WORDS_JA if is_japanese(judgment) else WORDS_EN
        rationale = strip_final_verdict(judgment, _PAIR, lambda m: words["ABC".index(m.group(1))])
        instruction, responses, ref, history = _turns(row, j.turn, question.turns, shown, refs)
        out.append(row.checked(JudgeRecord(
            source="judgments", instruction=instruction, responses=responses, reference=ref,
            label=labels[winner], rationale=rationale or None, names=(words[0], words[1]),
            scenario=question.category, history=history,
            meta={**meta, "game": game, "models": list(order),
                  **({"distribution": distribution} if distribution else {})})))
    return out


def _single_record(row: Row, j: SingleJudgment, bench: _Bench, question: Question, refs: list[str] | None,
                   meta: dict) -> JudgeRecord:
    answer = bench.answer(row, j.model, j.question_id, "model")
    rationale = strip_final_verdict(_text(row, j.judgment, "judgment"), _RATING, lambda m: m.group(1))
    instruction, responses, ref, history = _turns(row, j.turn, question.turns, [answer], refs)
    extra = {k: getattr(j, k) for k in ("score_distribution", "expected_score") if getattr(j, k) is not None}
    return row.checked(JudgeRecord(
        source="judgments", instruction=instruction, responses=responses, reference=ref,
        score=float(j.score), rationale=rationale or None, scenario=question.category, history=history,
        meta={**meta, "models": [j.model], **extra}))


def _reference_shown(j: PairJudgment | SingleJudgment, refs: list[str]) -> bool:
    """Whether the judge saw the reference: its text is in the prompt shown. A record that keeps no prompt
    (ja-vicuna-qa-benchmark's) says it by the prompt's name: FastChat's and its reference prompts are *-math*."""
    shown = j.g1_user_prompt if isinstance(j, PairJudgment) else j.user_prompt
    if shown is None:
        return j.judge is not None and "-math" in j.judge.prompt
    return all(ref.strip() in shown for ref in refs[:j.turn])


def read(path: Path, options: dict[str, str], skipped: Counter) -> list[JudgeRecord]:
    """A judgment file's records, or those of every per-pair (per-model) file under a folder."""
    bench = _Bench(_bench_dir(path, options))
    agreeing_only = options.get("agreeing_only", "0") not in ("0", "", "false", "no")
    files = judgment_files(path, True) + judgment_files(path, False) if path.is_dir() else [path]
    if not files:
        raise ConfigError(f"{path}: a folder without judgment files (pairwise:<model_1>_<model_2>.jsonl or "
                          "single:<model>.jsonl, directly or in a judge folder)")
    seen: set = set()
    return [record for file in files for record in _read_file(file, bench, agreeing_only, skipped, seen)]


def _read_file(path: Path, bench: _Bench, agreeing_only: bool, skipped: Counter, seen: set) -> list[JudgeRecord]:
    records: list[JudgeRecord] = []
    for row in iter_rows(path):
        j = judgment_from_json(row.obj, row.path if row.line is not None else f"{row.path}[{row.index}]", row.line)
        if j.failed:
            skipped["failed judgment (error, no verdict)"] += 1
            continue
        if j.key in seen:  # the first valid record of a key counts (llm_judge/dedup.py)
            skipped["duplicate record of a judgment already read"] += 1
            continue
        seen.add(j.key)
        question = bench.questions.get(j.question_id)
        if question is None:
            raise row.error(f"question {j.question_id!r} is not in {bench.bench.question_file}", "question_id")
        refs = bench.references().get(j.question_id)
        if refs and not _reference_shown(j, refs):
            refs = None  # judged without the reference (a general prompt)
        judge = j.judge or JudgeName("", "")
        meta = {"question_id": j.question_id, "judge": judge.model, "prompt": judge.prompt, "turn": j.turn,
                "bench": bench.bench.name}
        if isinstance(j, SingleJudgment):
            records.append(_single_record(row, j, bench, question, refs, meta))
        elif agreeing_only and j.g1_winner != j.g2_winner:
            skipped["the two orders disagree (agreeing_only)"] += 1
        else:
            records.extend(_pair_records(row, j, bench, question, refs, meta))
    return records
