"""Shared fixtures: the public data in ../shared/data, a scratch copy of the demo bench, the default model."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = (REPO.parent / "shared" / "data").resolve()


def shared_path(*parts: str) -> Path:
    """A path under ../shared/data; the calling test is skipped with a reason when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs the public data at {path} (../shared/data is absent)")
    return path


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
