"""AlpacaEval 2.0's length-controlled win rate (its ``length_controlled_v1`` GLM), fitted here with numpy.

The GLM predicts a preference in [0, 1] from three features and no intercept:
``tanh(std_delta_len)`` (the baseline's output length minus the model's, divided by that difference's sample
standard deviation over all instructions), the instruction's difficulty, and ``not_gamed_baseline`` (1 for the
model's rows). Rows of two "gamed" baselines (``df_gamed.csv``: the baseline prompted to be verbose or concise,
``not_gamed_baseline`` false) join the fit with weight 0.2 / 2, which pulls the length coefficient towards what
gaming the length alone buys. The fit is an L1-penalised logistic regression on soft labels (each row counted
as a win with weight p and a loss with weight 1 - p), its strength C chosen from 10 values 1e-4..1e4 by 5-fold
cross-validation with a row's two halves in one fold and the weighted log-loss as the score, then refitted on
all rows. The length-controlled win rate is the mean over all instructions of the prediction with the length
term at 0, and its standard error that prediction's sample standard error (both x100).

Without the difficulty and gamed-baseline files the number cannot be computed; :class:`LengthControlMissing`
says which file is absent, and nothing is estimated in their place.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import InputError, LlmJudgeError
from .alpaca_files import Annotation

DIFFICULTY_FILE = "instruction_difficulty.csv"
GAMED_FILE = "df_gamed.csv"
GAMED_WEIGHT = 0.2 / 2  # regularisation to the baseline, split between the two gamed baselines
CS = np.logspace(-4, 4, 10)
N_SPLITS = 5
EPS = 1e-15


class LengthControlMissing(LlmJudgeError):
    """The files the length-controlled GLM needs are absent."""


@dataclass(frozen=True)
class LengthControlData:
    difficulty: dict[int, float]  # instruction index -> difficulty
    gamed_x: np.ndarray  # the gamed baselines' rows: tanh(std_delta_len), difficulty, 0
    gamed_p: np.ndarray  # their preferences in [0, 1]


@dataclass(frozen=True)
class LengthControlled:
    win_rate: float
    standard_error: float
    coefficients: tuple[float, float, float]  # length, difficulty, not_gamed_baseline


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _number(row: dict[str, str], name: str, path: Path, line: int) -> float:
    try:
        return float(row[name])
    except (KeyError, TypeError, ValueError):
        raise InputError(path, f"must be a number, got {row.get(name)!r}", line, name) from None


def _flag(row: dict[str, str], name: str, path: Path, line: int) -> bool:
    value = (row.get(name) or "").strip().lower()
    if value not in ("true", "false", "1", "0", "1.0", "0.0"):
        raise InputError(path, f"must be True or False, got {row.get(name)!r}", line, name)
    return value in ("true", "1", "1.0")


def load_length_control(folder: Path) -> LengthControlData:
    """The difficulty and gamed-baseline files in ``folder`` (AlpacaEval's, as `download alpaca_eval` fetches)."""
    missing = [name for name in (DIFFICULTY_FILE, GAMED_FILE) if not (folder / name).is_file()]
    if missing:
        raise LengthControlMissing(
            f"length-controlled win rate needs {' and '.join(missing)} in {folder} (from AlpacaEval's Hugging "
            f"Face dataset tatsu-lab/alpaca_eval); not estimated without them")
    path = folder / DIFFICULTY_FILE
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if not header or len(header) < 2:
            raise InputError(path, "expected a header and two columns (index, instruction_difficulty)", 1)
        difficulty = {}
        for line, row in enumerate(reader, start=2):
            try:
                difficulty[int(float(row[0]))] = float(row[1])
            except (IndexError, ValueError):
                raise InputError(path, "expected an instruction index and a number", line) from None
    path = folder / GAMED_FILE
    xs, ps = [], []
    for line, row in enumerate(_rows(path), start=2):
        if _flag(row, "not_gamed_baseline", path, line):
            raise InputError(path, "lists only the gamed baselines' rows (False)", line, "not_gamed_baseline")
        xs.append((math.tanh(_number(row, "std_delta_len", path, line)),
                   _number(row, "instruction_difficulty", path, line), 0.0))
        pref = _number(row, "preference", path, line)
        if not 0.0 <= pref <= 1.0:
            raise InputError(path, f"must lie in [0, 1] (the GLM's scale), got {pref}", line, "preference")
        ps.append(pref)
    return LengthControlData(difficulty, np.array(xs, dtype=float).reshape(-1, 3), np.array(ps, dtype=float))


def _objective(w: np.ndarray, x: np.ndarray, p: np.ndarray, s: np.ndarray, c: float) -> float:
    z = x @ w
    # soft-label log-loss: p log(1 + e^-z) + (1 - p) log(1 + e^z)
    loss = p * np.logaddexp(0.0, -z) + (1.0 - p) * np.logaddexp(0.0, z)
    return float(np.abs(w).sum() + c * (s * loss).sum())


def fit_l1_logistic(x: np.ndarray, p: np.ndarray, s: np.ndarray, c: float, tol: float = 1e-10) -> np.ndarray:
    """argmin_w ||w||_1 + c * sum_i s_i * soft-label log-loss_i, by coordinate descent with a line search."""
    w = np.zeros(x.shape[1])
    for _ in range(1000):
        w_start = w.copy()
        for j in range(x.shape[1]):
            q = 1.0 / (1.0 + np.exp(-(x @ w)))
            g = c * float(np.sum(s * (q - p) * x[:, j]))
            h = max(c * float(np.sum(s * q * (1.0 - q) * x[:, j] ** 2)), 1e-12)
            if g + 1.0 <= h * w[j]:
                d = -(g + 1.0) / h
            elif g - 1.0 >= h * w[j]:
                d = -(g - 1.0) / h
            else:
                d = -w[j]
            before, step = _objective(w, x, p, s, c), 1.0
            while step > 1e-12:
                trial = w.copy()
                trial[j] += step * d
                if _objective(trial, x, p, s, c) <= before:
                    w = trial
                    break
                step /= 2
        if np.max(np.abs(w - w_start)) < tol:
            break
    return w


def _log_loss(w: np.ndarray, x: np.ndarray, p: np.ndarray, s: np.ndarray) -> float:
    q = np.clip(1.0 / (1.0 + np.exp(-(x @ w))), EPS, 1 - EPS)
    return float(-np.mean(s * (p * np.log(q) + (1 - p) * np.log(1 - q))))


def folds(n: int, n_splits: int = N_SPLITS) -> np.ndarray:
    """Each row's fold: rows of equal size dealt round-robin from the last, as a group k-fold of equal groups."""
    fold = np.empty(n, dtype=int)
    for k, row in enumerate(range(n - 1, -1, -1)):
        fold[row] = k % n_splits
    return fold


def choose_c(x: np.ndarray, p: np.ndarray, s: np.ndarray) -> float:
    """The strength with the lowest mean held-out weighted log-loss (the first such on ties)."""
    fold = folds(len(p))
    best, best_c = math.inf, float(CS[0])
    for c in CS:
        loss = 0.0
        for k in range(N_SPLITS):
            train, test = fold != k, fold == k
            w = fit_l1_logistic(x[train], p[train], s[train], float(c))
            loss += _log_loss(w, x[test], p[test], s[test])
        if loss < best - 1e-12:
            best, best_c = loss, float(c)
    return best_c


def length_controlled(annotations: Sequence[Annotation], data: LengthControlData) -> LengthControlled:
    """The length-controlled win rate of one model's annotations against its baseline."""
    if all(a.generator_1 == a.generator_2 for a in annotations):
        return LengthControlled(50.0, 0.0, (0.0, 0.0, 0.0))
    try:
        diff = np.array([data.difficulty[a.index] for a in annotations])
    except KeyError as exc:
        raise LlmJudgeError(f"{DIFFICULTY_FILE} has no difficulty for instruction {exc.args[0]}") from None
    delta = np.array([len(a.output_1) - len(a.output_2) for a in annotations], dtype=float)
    x_model = np.column_stack([np.tanh(delta / delta.std(ddof=1)), diff, np.ones(len(diff))])
    scored = np.array([a.preference is not None for a in annotations])
    p_model = np.array([(a.preference or 1.5) - 1.0 for a in annotations])
    x = np.vstack([data.gamed_x, x_model[scored]])
    p = np.concatenate([data.gamed_p, p_model[scored]])
    s = np.concatenate([np.full(len(data.gamed_p), GAMED_WEIGHT), np.ones(int(scored.sum()))])
    w = fit_l1_logistic(x, p, s, choose_c(x, p, s))
    test = np.column_stack([np.zeros(len(diff)), diff, np.ones(len(diff))])
    pred = 1.0 / (1.0 + np.exp(-(test @ w)))
    sem = float(pred.std(ddof=1) / math.sqrt(len(pred))) if len(pred) > 1 else float("nan")
    return LengthControlled(float(pred.mean()) * 100, sem * 100, (float(w[0]), float(w[1]), float(w[2])))
