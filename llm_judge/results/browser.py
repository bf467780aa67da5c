"""A results browser: one self-contained HTML page built from a data dir, viewable offline.

    python -m llm_judge browser --data-dir data --out site/ [--serve]   (:mod:`llm_judge.cli.browser`)

Pick a bench, a category and a question; see the question, the chosen models' answers side by side, and
every judgment of them (one per key: the first valid record, dedup.py): single scores with the judge's explanation, and pairwise games with both orders
(game 1 shows model_1 as assistant A, game 2 swaps them) and the combined result. The page holds its
data, script and style inline (no CDN, no server needed: open the file); judge prompts are left out,
as they only repeat the question and the answers.
"""
from __future__ import annotations

import functools
import http.server
import json
import re
import sys
from pathlib import Path
from typing import Any

from ..bench import Bench, describe, list_benches, load_bench
from ..dedup import first_valid
from ..errors import ConfigError
from ..records import Judgment, PairJudgment, read_judgments

WEB = Path(__file__).resolve().parent / "web"
SINGLE_FIELDS = ("model", "turn", "score", "judgment", "error")
PAIR_FIELDS = ("model_1", "model_2", "turn", "g1_winner", "g2_winner", "g1_judgment", "g2_judgment", "error")


def _judgment(record: Judgment, source: str) -> dict[str, Any]:
    """The part of a judgment record the page shows."""
    if isinstance(record, PairJudgment):
        out = {k: getattr(record, k) for k in PAIR_FIELDS}
        out["kind"] = "pair"
        out["result"] = record.combined_winner
    else:
        out = {k: getattr(record, k) for k in SINGLE_FIELDS}
        out["kind"] = "single"
    out["failed"] = record.failed
    out["judge"], out["prompt"] = record.judge or ("", "")
    out["file"] = source
    out["qid"] = str(record.question_id)
    return out


def bench_data(bench: Bench, models: list[str] | None = None) -> dict[str, Any]:
    """Everything the page needs about one bench, as plain JSON (question ids as strings: JS object keys)."""
    files = bench.answer_files()
    wanted = [m for m in files if not models or m in models]
    answers = bench.load_answers(wanted)
    references = bench.reference_answers()
    questions = [{"id": str(q.question_id), "category": q.category, "turns": q.turns,
                  "reference": references.get(q.question_id)} for q in bench.questions]
    judgments: list[dict[str, Any]] = []
    if bench.judgment_dir.is_dir():
        for path in sorted(bench.judgment_dir.rglob("*.jsonl")):
            source = str(path.relative_to(bench.judgment_dir))
            for record in first_valid(read_judgments(path), lambda r: r.key, lambda r: r.failed):
                j = _judgment(record, source)
                involved = [j["model"]] if j["kind"] == "single" else [j["model_1"], j["model_2"]]
                if models and not all(m in models for m in involved):
                    continue
                judgments.append(j)
    judged = {m for j in judgments for m in ([j["model"]] if j["kind"] == "single" else [j["model_1"], j["model_2"]])}
    return {
        "name": bench.name,
        "info": describe(bench),
        "description": bench.config.description,
        "questions": questions,
        "models": sorted(set(wanted) | judged),
        "answers": {m: {str(qid): a.turns for qid, a in by_qid.items()} for m, by_qid in answers.items()},
        "judgments": judgments,
    }


def collect(data_dir: Path, bench_names: list[str] | None = None, models: list[str] | None = None) -> dict[str, Any]:
    names = bench_names or list_benches(data_dir)
    if not names:
        raise ConfigError(f"no benches in {data_dir} (a bench is a folder holding question.jsonl)")
    return {"benches": [bench_data(load_bench(n, data_dir), models) for n in names]}


def _inline_json(data: Any) -> str:
    # "<" escaped so that no answer text can close the <script> element it sits in
    return json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")


def render_page(data: dict[str, Any]) -> str:
    parts = {
        "style": (WEB / "style.css").read_text(encoding="utf-8"),
        "script": (WEB / "app.js").read_text(encoding="utf-8"),
        "data": _inline_json(data),
    }
    template = (WEB / "index.html").read_text(encoding="utf-8")
    # one pass, so text placed into the page is never scanned for markers again
    return re.sub(r"<!--@(\w+)-->", lambda m: parts[m.group(1)], template)


def build(data_dir: Path, out: Path, bench_names: list[str] | None = None, models: list[str] | None = None) -> Path:
    page = render_page(collect(data_dir, bench_names, models))
    out.mkdir(parents=True, exist_ok=True)
    target = out / "index.html"
    tmp = target.with_suffix(".html.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(target)  # a reader never sees half a page
    return target


def serve(folder: Path, host: str, port: int) -> None:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    with http.server.ThreadingHTTPServer((host, port), handler) as httpd:
        print(f"serving {folder} at http://{host}:{httpd.server_address[1]}/ (Ctrl-C stops)", file=sys.stderr)
        httpd.serve_forever()
