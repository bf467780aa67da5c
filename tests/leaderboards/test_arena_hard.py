"""Arena-Hard-Auto: its verdict parser, its dropped-question rule, its default scores and its style-controlled
scores on judgment folders in its layout written here, each against a hand computation of its rules."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from llm_judge.cli import show_result
from llm_judge.leaderboards import arena_hard, arena_scores
from llm_judge.leaderboards.arena_protocol import parse_verdict, question_battles
from llm_judge.leaderboards.arena_style import answer_metadata, battle_features, counts

BASE = "gpt-4-0314"


def test_verdict_is_the_last_double_bracket_else_the_last_single_case_insensitive():
    assert parse_verdict("First [[A>B]], then on reflection [[B>>A]].") == "B>>A"
    assert parse_verdict("my final verdict: [[a=b]]") == "A=B"
    assert parse_verdict("[A>B] at first, finally [B>A]") == "B>A"
    assert parse_verdict("[[A>B]] is my verdict, not [B>A]") == "A>B"  # [[...]] wins over a later [...]
    assert parse_verdict("Assistant A is better.") is None
    assert parse_verdict("[[]] [[A>>B]] [[]]") == "A>>B"


def test_battles_of_a_question_and_the_dropped_rule():
    # game 1: baseline is A; game 2: the model is A. Battles are the model's, game 2's first.
    assert question_battles(("A>>B", "A>B")) == [1.0, 0.0, 0.0, 0.0]
    assert question_battles(("B>A", "B>>A")) == [0.0, 0.0, 0.0, 1.0]
    assert question_battles(("A=B", "B=A")) == [0.5, 0.5]
    assert question_battles(("B>>A", "A>>B"), weight=1) == [1.0, 1.0]
    assert question_battles((None, "A>B")) is None
    assert question_battles(("A>B", None)) is None
    assert question_battles(("A>>>B", "A>B")) is None  # a label outside the five levels is no verdict


def judgment(uid: str, model: str, g1: str | None, g2: str | None, category: str = "arena-hard-v0.1") -> dict:
    game = lambda label: None if label == "call failed" else {"score": label, "judgment": {"answer": f"[[{label}]]"},
                                                              "prompt": []}
    return {"uid": uid, "category": category, "judge": "gpt-4-1106-preview", "model": model, "baseline": BASE,
            "games": [game(g1), game(g2)]}


VERDICTS = {  # model -> [(game 1, game 2)], game 1 with the baseline as A
    "m1": [("B>A", "A>B"), ("A>>B", "B>A"), ("B>>A", "A>>B"), ("A=B", "B>A"), (None, "A>B"), ("A>B", "call failed"),
           ("B>A", "A=B"), ("B>A", "A>B")],
    "m2": [("A>B", "B>A"), ("A>>B", "B>>A"), ("B>A", "A>B"), ("A=B", "A=B"), ("B>A", "B>A"), ("A>B", "B>A"),
           ("B>>A", "A>B"), ("A>B", "A>B")],
}
# the same by hand: per question, game 2's battles then game 1's, for the model; questions 5 and 6 of m1 dropped
HAND = {"m1": [1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0.5, 0.5, 1, 1, 1],
        "m2": [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0.5, 0.5, 0, 1, 0, 0, 1, 1, 1, 1, 1, 0]}


@pytest.fixture
def bench(tmp_path) -> Path:
    folder = tmp_path / "arena-hard-v0.1" / "model_judgment" / "gpt-4-1106-preview"
    folder.mkdir(parents=True)
    for model, games in VERDICTS.items():
        rows = [judgment(f"q{i}", model, g1, g2) for i, (g1, g2) in enumerate(games)]
        (folder / f"{model}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def hand_bootstrap(scores: dict[str, list[float]], seed: int = 0, rounds: int = 100) -> dict[str, tuple]:
    rng = np.random.default_rng(seed)
    means = {m: [] for m in scores}
    for _ in range(rounds):
        for m in sorted(scores):
            v = np.asarray(scores[m], dtype=float)
            means[m].append(v[rng.integers(0, len(v), len(v))].mean())
    return {m: (np.mean(x) * 100, np.quantile(x, 0.05) * 100, np.quantile(x, 0.95) * 100) for m, x in means.items()}


def test_default_scores_equal_the_hand_computation(bench):
    battles = arena_hard.collect(sorted(bench.glob("*.jsonl")))
    assert battles.dropped == 2 and battles.questions == 16
    got = {m: [r[4] for r in battles.rows if r[2] == m] for m in VERDICTS}
    assert got == HAND
    (table,) = arena_hard.leaderboard(sorted(bench.glob("*.jsonl")))
    rows = {r[0]: r for r in table.rows}
    want = hand_bootstrap(HAND)
    for m in VERDICTS:
        assert rows[m][1:4] == pytest.approx(list(want[m]), abs=1e-9)
        assert abs(rows[m][1] - np.mean(HAND[m]) * 100) < 5  # the bootstrap mean stays near the plain mean
    assert rows[BASE][1:4] == [50.0, 50.0, 50.0]
    assert "2 of 16 questions dropped" in table.note


def test_markdown_counts_and_battle_features():
    text = "# Title\n## Part\n####### not a header\n1. one\n2. two\n- a\n* b\n**bold** and __also__\n" \
           "```\n# inside code\n- not a list\n```\nend"
    meta = answer_metadata(text, lambda t: 100)
    assert meta["header_count"]["h1"] == 1 and meta["header_count"]["h2"] == 1 and sum(meta["header_count"].values()) == 2
    assert meta["list_count"] == {"ordered": 2, "unordered": 2}
    assert meta["bold_count"] == {"**": 1, "__": 1}
    assert counts(meta) == (100.0, 2.0, 4.0, 2.0)
    f = battle_features((100.0, 2.0, 4.0, 2.0), (50.0, 0.0, 1.0, 0.0))
    assert f[0] == pytest.approx(50 / 150)
    assert f[1] == pytest.approx((2 / 101 - 0) / (2 / 101 + 0 + 1))
    assert f[2] == pytest.approx((4 / 101 - 1 / 51) / (4 / 101 + 1 / 51 + 1))


def independent_fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Plain Newton-Raphson on the unpenalised soft-label log-likelihood, written apart from the library."""
    w = np.zeros(x.shape[1])
    for _ in range(200):
        p = 1 / (1 + np.exp(-x @ w))
        g = x.T @ (y - p)
        h = (x * (p * (1 - p))[:, None]).T @ x
        step = np.linalg.solve(h, g)
        w += step
        if np.abs(step).max() < 1e-13:
            break
    return w


def style_battles(n: int = 400, seed: int = 5) -> list:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        model = ("m1", "m2", "m3")[i % 3]
        feats = tuple(rng.normal(size=4))
        z = {"m1": 0.8, "m2": -0.3, "m3": 0.1}[model] + 1.2 * feats[0] + 0.4 * feats[2]
        score = float(rng.random() < 1 / (1 + math.exp(-z)))
        out.append(arena_scores.Battle(model, BASE, score if i % 7 else 0.5, feats))
    return out


def test_style_fit_equals_an_independent_fit():
    battles = style_battles()
    feats = np.array([b.features for b in battles])
    z = (feats - feats.mean(0)) / feats.std(0, ddof=1)
    onehot = np.array([[b.model == m for m in ("m1", "m2", "m3")] for b in battles], dtype=float)
    y = np.array([b.score for b in battles])
    want = independent_fit(np.hstack([onehot, z]), y)
    x, y2, models = arena_scores.design(battles)
    got = arena_scores.fit_bt(x, y2, np.ones((1, len(battles))))[0]
    assert models == ["m1", "m2", "m3"]
    p_got, p_want = 1 / (1 + np.exp(-got[:3])), 1 / (1 + np.exp(-want[:3]))
    assert np.abs(p_got - p_want).max() < 1e-3
    assert np.abs(got[3:] - want[3:]).max() < 1e-3
    scores, coefs = arena_scores.style_controlled(battles)
    for s, p in zip(scores, p_want):
        assert s.lower <= s.score <= s.upper and abs(s.score - p * 100) < 3


def test_show_result_prints_both_tables_from_the_folder(bench, capsys):
    answers = bench.parent.parent / "model_answer"
    answers.mkdir()
    for model in (*VERDICTS, BASE):
        rows = [{"uid": f"q{i}", "model": model, "messages": [{"role": "user", "content": "q"}, {
            "role": "assistant", "content": {"answer": "# H\n- x\n" * (i + 1) if model != BASE else "plain " * 9}}],
            "metadata": None} for i in range(8)]
        (answers / f"{model}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert show_result.main(["--input-file", str(bench), "--format", "json"]) == 0
    (table,) = json.loads(capsys.readouterr().out)
    assert table["title"] == "Arena-Hard: arena-hard-v0.1"
    assert [r["model"] for r in table["rows"]] == ["m1", BASE, "m2"]  # 66.7, 50, 40.9 by the plain means
    assert show_result.main(["--input-file", str(bench), "--style-control", "--format", "json"]) == 0
    (styled,) = json.loads(capsys.readouterr().out)
    assert styled["title"].endswith("style-controlled") and len(styled["rows"]) == 3


def test_our_ratings_read_the_same_judgments(bench, capsys):
    from llm_judge.leaderboards.arena_protocol import five_level

    assert [five_level(x) for x in ("A<<B", "B<A", "B=A", "A>B", "A>>>B", None)] == ["B>>A", "A>B", "A=B", "A>B",
                                                                                      None, None]
    records = arena_hard.pair_records(sorted(bench.glob("*.jsonl")))
    assert len(records) == 16 and sum(r.failed for r in records) == 2
    first = next(r for r in records if r.model_2 == "m1" and r.question_id == "q0")  # ("B>A", "A>B"): m1 wins both
    assert (first.model_1, first.g1_winner, first.g2_winner) == (BASE, "model_2", "model_2")
    assert show_result.main(["--input-file", str(bench), "--ratings", "--bootstrap", "50", "--format", "json"]) == 0
    tables = json.loads(capsys.readouterr().out)
    ratings = tables[-1]
    assert [r["model"] for r in ratings["rows"]] == ["m1", BASE, "m2"]  # the order of the plain win rates
    assert "2 questions without both verdicts left out" in ratings["note"]
