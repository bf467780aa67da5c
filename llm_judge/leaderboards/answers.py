"""Answering a leaderboard bench with gen_model_answer: its prompts as questions, and the answers written
back in the bench's own layout.

The answers are first kept in our answer format under ``<bench>/.answers/model_answer/<model>.jsonl``
(resumable, as for every bench); after each run they are written in the bench's form: Arena-Hard's
``model_answer/<model>.jsonl`` (``messages``, with the answer's style ``metadata``) or AlpacaEval's
``results/<model>/model_outputs.json``. Arena-Hard's string ``uid`` is the question id throughout.
"""
from __future__ import annotations

from pathlib import Path

from ..bench import Bench, BenchConfig
from ..jsonl import read_jsonl, write_jsonl_atomic
from ..records import Question
from . import alpaca_files, arena_files
from .alpaca_eval import bench_folder
from .arena_hard import arena_folder

STAGING = ".answers"


def answer_bench(name: str, data_dir: str | Path | None) -> Bench | None:
    """The leaderboard bench ``name`` as a bench of questions, or None when it is not one."""
    folder = bench_folder(name, data_dir)
    if folder is not None:
        base = alpaca_files.read_outputs(folder / "results" / alpaca_files.BASELINE / alpaca_files.OUTPUTS_FILE)
        questions = [Question(i, o.dataset or "general", [o.instruction]) for i, o in enumerate(base)]
    else:
        folder = arena_folder(name, data_dir)
        if folder is None:
            return None
        questions = [Question(q.uid, q.category, [q.prompt]) for q in arena_files.read_questions(folder)]
    return Bench(folder.name, folder / STAGING, questions, BenchConfig(judge_turns=1), {})


def _answers(answer_file: Path) -> dict:
    """question id -> the first choice's answer text, of the records that hold one."""
    out = {}
    for rec in read_jsonl(answer_file) if answer_file.is_file() else []:
        if rec.get("error") or not rec.get("choices"):
            continue
        out[rec["question_id"]] = rec["choices"][0]["turns"][0]
    return out


def export_answers(bench: Bench, answer_file: Path, model: str) -> Path | None:
    """Write the answers of ``answer_file`` in the bench's own layout; the file written (None: not a
    leaderboard bench)."""
    if bench.path.name != STAGING:
        return None
    folder, answers = bench.path.parent, _answers(answer_file)
    if (folder / arena_files.QUESTION_FILE).is_file():
        from .arena_style import answer_metadata, default_token_counter

        count = default_token_counter()[0]
        records = [arena_files.answer_record(q.question_id, model, answers[q.question_id], q.turns[0],
                                             answer_metadata(answers[q.question_id], count))
                   for q in bench.questions if q.question_id in answers]
        out = folder / arena_files.ANSWER_DIR / f"{model}.jsonl"
        write_jsonl_atomic(out, records)
        return out
    outputs = [alpaca_files.Output(q.turns[0], answers[q.question_id], model, q.category)
               for q in bench.questions if q.question_id in answers]
    out = folder / "results" / model / alpaca_files.OUTPUTS_FILE
    alpaca_files.write_outputs(out, outputs)
    return out
