"""A Weights & Biases run, below every feature that logs one: the extra's check, the run's default name, and a
run holding only metadata (a judging run's). What results log on top (tables, plots) is results/wandb_log.py.

The project comes from WANDB_PROJECT (default "llm_judge"), the entity from WANDB_ENTITY; WANDB_MODE=offline
writes the run under WANDB_DIR for a later ``wandb sync``. wandb is the optional extra ``wandb``, imported
only here and only when asked for.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from .errors import MissingDependency

DEFAULT_PROJECT = "llm_judge"


def require_wandb() -> Any:
    """The wandb module, or MissingDependency naming the extra (called before any work, so that a run of
    hours does not end in an import error)."""
    try:
        import wandb
    except ImportError:
        raise MissingDependency("wandb", "wandb") from None
    return wandb


def default_run_name(benches: list[str], mode: str, judges: list[str]) -> str:
    """"<bench>-<mode>-<judge>", benches and judges joined by "+" when there are several (no judge: left out)."""
    return "-".join(part for part in ("+".join(benches), mode, "+".join(judges)) if part)


def start_run(name: str, job_type: str, config: Mapping[str, Any]) -> Any:
    wandb = require_wandb()
    # console="off": the tables are logged as tables; wrapping our stdout would only copy them as text.
    return wandb.init(project=os.environ.get("WANDB_PROJECT") or DEFAULT_PROJECT,
                      entity=os.environ.get("WANDB_ENTITY") or None, name=name, job_type=job_type,
                      config=dict(config), settings=wandb.Settings(console="off"))


def log_run(name: str, job_type: str, config: Mapping[str, Any], summary: Mapping[str, Any]) -> Path:
    """A run holding only metadata (a judging run's): ``config`` as the run's config, ``summary`` as its
    summary metrics. Returns the run's local folder."""
    with start_run(name, job_type, config) as run:
        run.summary.update(dict(summary))
        return Path(run.dir).parent
