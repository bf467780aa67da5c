"""Style control: the style features of answers, a planted style effect recovered from synthetic games, no
change when styles are equal, and show_result --style-control on real judgments."""
import json
import math
import random

import pytest

from llm_judge.cli import show_result
from llm_judge.errors import ConfigError
from llm_judge.records import Answer, PairJudgment
from llm_judge.results.ratings import ELO_SCALE, rate
from llm_judge.results.style import FEATURES, LENGTH_ONLY, Styles, answer_styles, count_tokens, style_of

JP = ("jp_bench", "model_judgment", "fastchat_era_2023-08", "gpt-4_pair.jsonl")


@pytest.mark.parametrize("text,tokens", [
    ("The quick brown fox.", 4),
    ("東京は日本の首都です。", 11),  # no spaces: every CJK character, punctuation included, is a token
    ("Tokyo（東京）is big!", 7),
    ("  \n\t ", 0),
    ("ｶﾀｶﾅ and ＡＢＣ", 8),  # half- and full-width forms are CJK-width characters, one token each
])
def test_count_tokens(text, tokens):
    assert count_tokens(text) == tokens


def test_markdown_counts_leave_code_blocks_out():
    text = ("# Title\n## 見出し\nSome **bold**, __also bold__ and ** not bold**.\n- one\n* two\n+ three\n"
            "1. four\n２）五\n・六\n#hashtag is no header\n```python\n# a comment\n- not a list\n**x**\n```\nend")
    length, headers, lists, bold = style_of(text)
    assert (headers, lists, bold) == (2, 6, 2)
    assert length == count_tokens(text)  # code counts toward length
    assert style_of(text, ("bold", "length")) == (2, length)


def test_normalised_difference():
    styles = Styles(("length", "bold"), {("a", 1, 1): (30, 0), ("b", 1, 1): (10, 0)})
    assert styles.diff(("a", 1, 1), ("b", 1, 1)) == (0.5, 0.0)
    with pytest.raises(ConfigError, match="no answer of c to question 1 turn 1"):
        styles.diff(("a", 1, 1), ("c", 1, 1))
    with pytest.raises(ConfigError, match="unknown style feature 'emoji'"):
        answer_styles({}, ("length", "emoji"))


TRUTH = {"strong": 1100.0, "verbose": 950.0, "mid": 1000.0, "terse": 950.0}
PLANTED = 100.0  # Elo points per standard deviation of the normalised length difference


def _answer(model: str, qid: int, rng: random.Random) -> Answer:
    words = rng.randint(400, 800) if model == "verbose" else rng.randint(100, 300)
    text = " ".join(["word"] * words) + "\n" + "\n".join(["- point"] * rng.randint(0, 3)) + " **x**" * rng.randint(0, 3)
    return Answer(qid, model, [{"index": 0, "turns": [text]}])


def _games(coef: float, per_pair: int = 500, seed: int = 7) -> tuple[list[PairJudgment], Styles]:
    """Games drawn from TRUTH plus ``coef`` Elo per s.d. of the length difference; list items and bold spans
    vary but have no effect."""
    rng = random.Random(seed)
    models, games, answers = list(TRUTH), [], {m: {} for m in TRUTH}
    for i, a in enumerate(models):
        for b in models[i + 1:]:
            for _ in range(per_pair):
                qid = len(games)
                answers[a][qid], answers[b][qid] = _answer(a, qid, rng), _answer(b, qid, rng)
                games.append((a, b, qid))
    styles = answer_styles(answers)
    diffs = [styles.diff((a, q, 1), (b, q, 1))[0] for a, b, q in games]
    mean = sum(diffs) / len(diffs)
    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / len(diffs))
    records = []
    for (a, b, qid), d in zip(games, diffs):
        elo = TRUTH[a] - TRUTH[b] + coef * d / sd
        won = rng.random() < 1.0 / (1.0 + math.exp(-elo / ELO_SCALE))
        w = "model_1" if won else "model_2"
        records.append(PairJudgment(question_id=qid, model_1=a, model_2=b, g1_winner=w, g2_winner=w))
    return records, styles


def test_style_control_recovers_a_planted_length_effect():
    records, styles = _games(PLANTED)
    ratings = rate(records, bootstrap=200, seed=0, styles=styles)
    rows = {r.model: r for r in ratings.rows}
    # raw ratings credit the verbose model with its length; controlled ones give back the true strengths
    assert rows["verbose"].rating - TRUTH["verbose"] > 60
    for model, truth in TRUTH.items():
        assert rows[model].lc_rating == pytest.approx(truth, abs=30), model
        assert rows[model].lc_lower < truth < rows[model].lc_upper, model
    assert ratings.controls == FEATURES
    assert ratings.coefs["length"] == pytest.approx(PLANTED, rel=0.25)
    lo, hi = ratings.coef_intervals["length"]
    assert lo < PLANTED < hi and lo > 0
    for feature in ("lists", "bold"):  # present, varied, and without effect
        lo, hi = ratings.coef_intervals[feature]
        assert lo < 0 < hi and abs(ratings.coefs[feature]) < 25, feature
    assert ratings.coefs["headers"] == 0.0  # no answer has a header: the feature is all zeros
    assert "style terms" in ratings.describe() and "length +" in ratings.describe()


def test_without_a_style_effect_the_controlled_ratings_stay_near_the_raw_ones():
    records, styles = _games(0.0, per_pair=300)
    ratings = rate(records, bootstrap=100, seed=0, styles=styles)
    lo, hi = ratings.coef_intervals["length"]
    assert lo < 0 < hi
    assert all(abs(r.lc_rating - r.rating) < 25 for r in ratings.rows)


def test_equal_styles_leave_the_ratings_unchanged():
    records, _ = _games(0.0, per_pair=60)
    same = Styles(FEATURES, {(m, r.question_id, 1): (120, 1, 3, 2) for r in records for m in (r.model_1, r.model_2)})
    ratings = rate(records, bootstrap=50, seed=3, styles=same)
    for r in ratings.rows:
        assert r.lc_rating == pytest.approx(r.rating, abs=1e-6)
        assert (r.lc_lower, r.lc_upper) == pytest.approx((r.lower, r.upper), abs=1e-6)
    assert all(c == 0.0 for c in ratings.coefs.values())


def test_length_control_is_style_control_with_length_alone():
    records, styles = _games(PLANTED, per_pair=100)
    lengths = {key: values[0] for key, values in styles.values.items()}
    by_lengths = rate(records, bootstrap=30, seed=1, lengths=lengths)
    by_styles = rate(records, bootstrap=30, seed=1,
                     styles=Styles(LENGTH_ONLY, {k: (v,) for k, v in lengths.items()}))
    assert by_lengths.rows == by_styles.rows and by_lengths.coefs == by_styles.coefs
    assert by_lengths.control_name == "length" and "length term" in by_lengths.describe()


def test_show_result_style_control_on_real_judgments(published_data, capsys):
    path = str(published_data(*JP))
    assert show_result.main(["--input-file", path, "--ratings", "--style-control", "--bootstrap", "100",
                             "--format", "json"]) == 0
    tables = {t["title"]: t for t in json.loads(capsys.readouterr().out)}
    ratings = tables["pairwise: Bradley-Terry ratings (Elo scale)"]
    assert ratings["columns"][-3:] == ["sc_rating", "sc_lower_95", "sc_upper_95"]
    assert all(r["sc_lower_95"] < r["sc_rating"] < r["sc_upper_95"] for r in ratings["rows"])
    coefs = tables["pairwise: style coefficients (Elo per s.d. of the normalised difference)"]
    assert [r["feature"] for r in coefs["rows"]] == list(FEATURES)
    assert all(r["lower_95"] <= r["coef"] <= r["upper_95"] for r in coefs["rows"])
    assert "style terms" in ratings["note"]
