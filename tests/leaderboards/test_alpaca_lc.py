"""AlpacaEval 2.0's length-controlled GLM: the fit is the L1 problem's optimum (its optimality conditions checked
independently here), length differences are controlled away, and without its files the number is refused."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from llm_judge.leaderboards import alpaca_lc as lc
from llm_judge.leaderboards.alpaca_files import Annotation
from llm_judge.leaderboards.alpaca_eval import leaderboard_rows


def kkt_violation(w: np.ndarray, x: np.ndarray, p: np.ndarray, s: np.ndarray, c: float) -> float:
    """How far w is from the optimum of ||w||_1 + c * sum s * soft log-loss (0 at the optimum)."""
    q = 1 / (1 + np.exp(-(x @ w)))
    g = c * (x.T @ (s * (q - p)))
    worst = 0.0
    for j in range(len(w)):
        worst = max(worst, abs(g[j] + np.sign(w[j])) if w[j] != 0 else max(0.0, abs(g[j]) - 1))
    return worst


def synthetic(n: int = 300, seed: int = 0, length_effect: float = 2.0):
    rng = np.random.default_rng(seed)
    diff = rng.normal(size=n)
    len_base = rng.integers(500, 2000, size=n)
    len_model = rng.integers(200, 3000, size=n)
    delta = (len_base - len_model).astype(float)
    z = -length_effect * np.tanh(delta / delta.std(ddof=1)) + 0.8 * diff - 0.3
    pref = 1 / (1 + np.exp(-z))
    anns = [Annotation("i%d" % i, "b" * int(len_base[i]), "m" * int(len_model[i]), "base", "model",
                       float(1 + pref[i]), i) for i in range(n)]
    return anns, diff, z


def write_files(folder: Path, diff: np.ndarray, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    lines = ["index,instruction_difficulty"] + [f"{i},{float(d)!r}" for i, d in enumerate(diff)]
    (folder / lc.DIFFICULTY_FILE).write_text("\n".join(lines) + "\n")
    rows = ["index,preference,std_delta_len,instruction_difficulty,not_gamed_baseline,model"]
    for name, sign in (("gamed_verbose", -1.0), ("gamed_concise", 1.0)):
        for i, d in enumerate(diff):
            sd = float(sign * abs(rng.normal(1.0, 0.3)))
            p = 1 / (1 + math.exp(-(-2.0 * math.tanh(sd) + 0.8 * d)))
            rows.append(f"{i},{p!r},{sd!r},{float(d)!r},False,{name}")
    (folder / lc.GAMED_FILE).write_text("\n".join(rows) + "\n")


def test_fit_meets_the_optimality_conditions():
    rng = np.random.default_rng(3)
    x = np.column_stack([np.tanh(rng.normal(size=400)), rng.normal(size=400), np.ones(400)])
    p = 1 / (1 + np.exp(-(x @ np.array([1.5, -0.7, 0.4]))))
    s = np.where(rng.random(400) < 0.5, 1.0, 0.1)
    for c in (1e-4, 0.0215, 0.464, 100.0):
        w = lc.fit_l1_logistic(x, p, s, c)
        assert kkt_violation(w, x, p, s, c) < 1e-6, c
    assert np.allclose(lc.fit_l1_logistic(x, p, s, 1e-4), 0)  # strong penalty: every coefficient 0
    assert np.allclose(lc.fit_l1_logistic(x, p, s, 1e4), [1.5, -0.7, 0.4], atol=1e-2)


def test_folds_keep_five_equal_parts():
    fold = lc.folds(12)
    assert list(fold) == [1, 0, 4, 3, 2, 1, 0, 4, 3, 2, 1, 0]


def test_length_controlled_win_rate_removes_a_length_effect(tmp_path):
    anns, diff, z = synthetic()
    write_files(tmp_path, diff)
    data = lc.load_length_control(tmp_path)
    got = lc.length_controlled(anns, data)
    raw = sum(a.preference - 1 for a in anns) / len(anns) * 100
    # the same model with no length difference: the length term at 0
    want = float(np.mean(1 / (1 + np.exp(-(0.8 * diff - 0.3))))) * 100
    assert abs(got.win_rate - want) < 1.0 < abs(raw - want)
    assert got.coefficients[0] < -1.5  # tanh(baseline longer) lowers the model's preference


def test_without_the_files_the_lc_column_is_refused(tmp_path):
    with pytest.raises(lc.LengthControlMissing, match="instruction_difficulty.csv and df_gamed.csv"):
        lc.load_length_control(tmp_path)
