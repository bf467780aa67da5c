import json

from llm_judge.records import json_key
from llm_judge.jsonl import JsonlStore


def single_key(obj: dict) -> tuple:
    return json_key(obj, pairwise=False)


def rec(qid, model="m", score=5.0, **kw):
    return {"question_id": qid, "model": model, "judge": ["j", "single-v1"], "turn": 1, "score": score, **kw}


def test_torn_tail_cut_errors_and_duplicates_dropped(tmp_path):
    path = tmp_path / "j.jsonl"
    lines = [json.dumps(rec(1)), json.dumps(rec(2, score=None, error="timeout")), json.dumps(rec(3)),
             json.dumps(rec(1, score=9.0))]
    path.write_text("\n".join(lines) + "\n" + '{"question_id": 4, "mod', encoding="utf-8")
    store = JsonlStore(path, single_key)
    assert store.repaired_tail and store.dropped_errors == 1 and store.dropped_duplicates == 1
    assert {k[1] for k in store.done} == {1, 3}
    store.append(rec(2))
    store.append(rec(4, score=None, error="boom"))
    store.close()
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    assert [r["question_id"] for r in rows] == [1, 3, 2, 4]
    assert rows[0]["score"] == 5.0  # the first good record of a key wins
    again = JsonlStore(path, single_key)
    assert {k[1] for k in again.done} == {1, 2, 3} and again.dropped_errors == 1


def test_japanese_written_as_utf8(tmp_path):
    path = tmp_path / "j.jsonl"
    with JsonlStore(path, single_key) as store:
        store.append(rec(1, judgment="良い回答です"))
    assert "良い回答です" in path.read_text(encoding="utf-8")
