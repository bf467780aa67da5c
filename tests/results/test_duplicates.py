"""Readers given a judgment file that holds keys twice (two runs at once, an older version, FastChat's reruns)
count each key once: the first valid record, never an error record in place of a valid one."""
import json
from pathlib import Path

from llm_judge.cli import gen_judgment, gen_model_answer, make_traindata, show_result
from llm_judge.dedup import FirstValid, first_valid
from llm_judge.jsonl import read_jsonl
from llm_judge.results.browser import bench_data
from llm_judge.bench import load_bench

NOTE = "duplicate records dropped (a key written more than once: its first valid record counts)"


def failed_copy(obj: dict) -> dict:
    """The record as a failed attempt at the same key writes it."""
    out = dict(obj, error="g1: HTTP 500: injected")
    for name in ("g1_winner", "g2_winner", "score"):
        if name in out:
            out[name] = None
    return out


def planted(rows: list[dict]) -> tuple[list[dict], int]:
    """``rows`` with duplicates planted: every 5th record again (later, with another verdict), every 7th
    preceded by a failed attempt, every 11th followed by one; and how many were planted."""
    out, later = [], []
    for i, row in enumerate(rows):
        if i % 7 == 0:
            out.append(failed_copy(row))
        out.append(row)
        if i % 11 == 0:
            out.append(failed_copy(row))
        if i % 5 == 0:
            other = dict(row)
            if "g1_winner" in other:
                other["g1_winner"] = other["g2_winner"] = "model_1" if row["g1_winner"] != "model_1" else "model_2"
            else:
                other["score"] = 1 if row["score"] != 1 else 10
            later.append(other)
    return out + later, len(out) + len(later) - len(rows)


def n_failed(rows: list[dict]) -> int:
    return sum(1 for r in rows if r.get("error"))


def write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def shown(argv: list[str], capsys) -> str:
    assert show_result.main(argv) == 0
    return capsys.readouterr().out


def test_first_valid_rule():
    seen = FirstValid()
    rows = [("a", True, 1), ("a", False, 2), ("a", False, 3), ("b", False, 4), ("b", True, 5), ("c", True, 6),
            ("c", True, 7)]
    kept = first_valid(rows, lambda r: r[0], lambda r: r[1], seen)
    assert kept == [("a", False, 2), ("b", False, 4), ("c", True, 6)]  # the valid one takes the failed one's place
    assert seen.dropped == 4 and seen.note().startswith("4 duplicate records dropped")


def test_show_result_pairwise_same_table_plus_note(published_data, tmp_path, capsys):
    source = published_data("jp_bench", "model_judgment", "fastchat_era_2023-08", "gpt-4_pair.jsonl")
    clean = write(tmp_path / "clean.jsonl", read_jsonl(source))
    rows, n = planted(read_jsonl(source))
    dup = write(tmp_path / "dup.jsonl", rows)
    for fmt in ("markdown", "json"):
        args = ["--mode", "pairwise-all", "--format", fmt]
        before, after = shown(["--input-file", str(clean), *args], capsys), shown(["--input-file", str(dup), *args],
                                                                                    capsys)
        note = f"{n} {NOTE}"
        assert note in after and note not in before
        if fmt == "json":
            tables = json.loads(after)
            assert all(note in t["note"] for t in tables)
            for t in tables:
                t["note"] = t["note"].replace(f"; {note}", "").replace(note, "")
            assert tables == json.loads(before)
    counted = shown(["--input-file", str(dup), "--mode", "pairwise-all", "--format", "json", "--ratings",
                     "--bootstrap", "20"], capsys)
    assert json.loads(counted)[1]["rows"] == json.loads(shown(["--input-file", str(clean), "--mode", "pairwise-all",
                                                                "--format", "json", "--ratings", "--bootstrap", "20"],
                                                               capsys))[1]["rows"]


def test_show_result_single_and_make_traindata_and_browser(data_dir, tmp_path, capsys):
    for model in ("a", "b"):
        assert gen_model_answer.main(["--data-dir", str(data_dir), "--model-path", "mock:echo", "--model-id",
                                      model]) == 0
    assert gen_judgment.main(["--data-dir", str(data_dir), "--judge-model", "mock:judge"]) == 0
    judged = data_dir / "demo_bench" / "model_judgment" / "judge_single.jsonl"
    clean = read_jsonl(judged)
    rows, n = planted(clean)
    before = shown(["--data-dir", str(data_dir), "--judge-model", "mock:judge", "--format", "json"], capsys)
    train_before = tmp_path / "before"
    assert make_traindata.main(["--source", f"judgments={judged}", "--out-dir", str(train_before)]) == 0
    capsys.readouterr()
    page_before = bench_data(load_bench("demo_bench", str(data_dir)))["judgments"]

    write(judged, rows)
    after = json.loads(shown(["--data-dir", str(data_dir), "--judge-model", "mock:judge", "--format", "json"], capsys))
    assert all(f"{n} {NOTE}" in t["note"] for t in after)
    for t in after:
        t["note"] = t["note"].replace(f"; {n} {NOTE}", "").replace(f"{n} {NOTE}", "")
    assert after == json.loads(before)
    train_after = tmp_path / "after"
    assert make_traindata.main(["--source", f"judgments={judged}", "--out-dir", str(train_after)]) == 0
    capsys.readouterr()
    summary = json.loads((train_after / "judge_sft_summary.json").read_text())["sources"][0]["notes"]
    assert summary["duplicate record of a judgment already read"] == n - n_failed(rows)
    for path in sorted(train_before.iterdir()):  # the same examples, split the same way
        if path.suffix in (".json", ".jsonl") and "summary" not in path.name:
            assert path.read_bytes() == (train_after / path.name).read_bytes(), path.name
    page_after = bench_data(load_bench("demo_bench", str(data_dir)))["judgments"]
    assert len(page_after) == len(page_before) == len(clean)
    assert [(j["qid"], j["model"], j["turn"], j["score"]) for j in page_after] == \
        [(j["qid"], j["model"], j["turn"], j["score"]) for j in page_before]


def test_eval_judge_counts_a_pair_once(tmp_path):
    from llm_judge.metaeval.pairs import LabelledPair, LabelledSet
    from llm_judge.metaeval.predictions import read_fastchat

    pairs = [LabelledPair(id=str(i), turns=("q",), answers_1=("a",), answers_2=("b",), votes=("1",),
                          model_1="x", model_2="y") for i in range(3)]
    labelled = LabelledSet("toy", "jsonl", pairs)
    base = {"model_1": "x", "model_2": "y", "judge": ["gpt-4", "pair-v2"], "turn": 1}
    rows = [dict(base, question_id="0", error="timeout", g1_winner=None, g2_winner=None),
            dict(base, question_id="0", g1_winner="model_1", g2_winner="tie"),
            dict(base, question_id="0", g1_winner="model_2", g2_winner="model_2"),
            dict(base, question_id="1", g1_winner="tie", g2_winner="model_2"),
            dict(base, question_id="1", error="timeout", g1_winner=None, g2_winner=None),
            dict(base, question_id="2", g1_winner="model_2", g2_winner="model_2")]
    preds = read_fastchat([write(tmp_path / "p.jsonl", rows)], labelled, "gpt-4")
    # pair 0: the failed record gives way to the first valid one, the later valid one is dropped; pair 1: the
    # failed record after a valid one changes nothing
    assert preds.verdicts == {"0": ("1", "tie"), "1": ("tie", "2"), "2": ("2", "2")}
    assert preds.duplicates == 3
