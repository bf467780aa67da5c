"""What step 3 reads and how it counts: show_result's flags as one value (:class:`ResultOptions`), with the
flags' defaults."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..five_level import STRONG_WEIGHT
from . import verdict_rules


@dataclass(frozen=True)
class ResultOptions:
    """What to read and how to count it, show_result's flags as values (their defaults too)."""

    bench_name: Sequence[str] = ("demo_bench",)
    data_dir: str | Path | None = None
    input_file: str | Path | None = None
    judge_model: Sequence[str] = ("gpt-4",)
    judge_model_id: Sequence[str] | None = None
    judge_family: str | None = None
    panel: str | None = None
    verdict_rule: str | None = None
    tie_margin: float = verdict_rules.DEFAULT_TIE_MARGIN
    baseline_model: str | None = None
    model_list: Sequence[str] | None = None
    mode: str = "single"
    ratings: bool = False
    bootstrap: int = 1000
    seed: int = 0
    length_control: bool = False
    style_control: bool = False
    strong_weight: int = STRONG_WEIGHT
    failed_games: str = "drop"
    human_labels: str | Path | None = None  # human verdicts on a sample of the games (results/human.py)
    calibration: str | Path | None = None  # a map of the verdict probabilities (eval_judge calibrate's)
    plot: str | Path | None = None
    wandb: bool = False
    wandb_run_name: str | None = None
