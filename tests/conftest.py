"""Shared fixtures: the public data in ../shared/data, a scratch copy of the demo bench, the default model."""
from __future__ import annotations

import importlib
import os
import shutil
from pathlib import Path
from types import ModuleType
from typing import NoReturn

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = (REPO.parent / "shared" / "data").resolve()


def shared_path(*parts: str) -> Path:
    """A path under ../shared/data; the calling test is skipped with a reason when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs the public data at {path} (../shared/data is absent)")
    return path


def under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def unavailable(reason: str) -> NoReturn:
    """Skip the calling test (or module) here; fail it under CI=true, where .ci/setup installs every extra,
    so CI cannot go green with a whole engine's tests gone."""
    if under_ci():
        pytest.fail(f"CI=true, and {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def require(module: str, extra: str) -> ModuleType:
    """Import ``module`` for a test (or at a test module's top): skipped without it, failed under CI=true."""
    try:
        return importlib.import_module(module)
    except Exception as exc:  # vLLM's import fails with more than ImportError when its CPU build is broken
        unavailable(f"{module} cannot be imported ({type(exc).__name__}: {exc}); "
                    f"pip install 'llm_judge[{extra}]'")


@pytest.fixture
def shared():
    return shared_path


def copy_demo_bench(root: Path) -> Path:
    """A data dir under ``root`` holding a fresh copy of the demo bench (questions and config only)."""
    dst = root / "data" / "demo_bench"
    dst.mkdir(parents=True)
    for name in ("question.jsonl", "bench.json"):
        shutil.copy(REPO / "data" / "demo_bench" / name, dst / name)
    return root / "data"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data dir holding a fresh copy of the demo bench (questions and config only)."""
    return copy_demo_bench(tmp_path)


@pytest.fixture(scope="session")
def default_model_path() -> str:
    from llm_judge.engines.weights import resolve_model_path

    return resolve_model_path(None)
