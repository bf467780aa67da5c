"""show_result never averages scores on different scales: each scale has its own tables and headline."""
from __future__ import annotations

from llm_judge.records import JudgeName, SingleJudgment
from llm_judge.results.report import BenchResult, across_benches, single_headline, single_tables


def _rec(model: str, qid: int, score: float | None, scale: list[int] | None = None, category: str = "c") -> SingleJudgment:
    return SingleJudgment(question_id=qid, model=model, judge=JudgeName("j", "p"), score=score, scale=scale,
                          category=category, error=None if score is not None else "unparseable judgment: x")


def test_each_scale_has_its_own_tables_and_the_largest_gives_the_headline():
    records = [_rec("a", 1, 5, [1, 5]), _rec("a", 2, 3, [1, 5]), _rec("a", 3, 10), _rec("b", 1, 1, [1, 5]),
               _rec("b", 2, None, [1, 5]), _rec("b", 3, 6)]
    tables = single_tables(records, None)
    titles = [t.title for t in tables]
    assert titles == ["single: mean score (1-5)", "single: mean score per category (1-5)",
                      "single: mean score (1-10)", "single: mean score per category (1-10)"]
    five = {row[0]: row for row in tables[0].rows}
    assert five["a"][-3:] == [4.0, 2, 0] and five["b"][-3:] == [1.0, 1, 1]  # score, n, failed
    assert {row[0]: row[-3] for row in tables[2].rows} == {"a": 10.0, "b": 6.0}
    assert "2 scales (1-5, 1-10)" in tables[0].note and "1 judgments failed" in tables[0].note
    headline, scale = single_headline(records, None)
    assert scale == (1.0, 5.0) and headline == {"a": 4.0, "b": 1.0}
    table = across_benches([BenchResult("x", "single", tables, headline, scale=scale),
                            BenchResult("y", "single", [], {"a": 7.0}, scale=(1.0, 10.0))])
    assert table.columns == ["model", "x score (1-5)", "y score"]


def test_one_scale_keeps_the_familiar_titles():
    tables = single_tables([_rec("a", 1, 7), _rec("a", 2, 9)], None)
    assert [t.title for t in tables] == ["single: mean score (1-10)", "single: mean score per category"]
    assert tables[0].note is None or "scales" not in tables[0].note
