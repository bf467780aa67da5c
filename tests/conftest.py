"""Shared fixtures: published data through the download cache, a scratch copy of the demo bench, the default model."""
from __future__ import annotations

import importlib
import os
import shutil
from pathlib import Path
from types import ModuleType
from typing import NoReturn

import pytest

REPO = Path(__file__).resolve().parent.parent
FETCH_COMMAND = "python -m llm_judge download --cache all"


def data_mirror() -> str | None:
    """Where the download cache is filled from: $LLM_JUDGE_MIRROR (a folder or URL in the mirror layout; empty
    for none), else a mirror checked out beside the repository (../shared/data), else the upstream hosts."""
    if "LLM_JUDGE_MIRROR" in os.environ:
        return os.environ["LLM_JUDGE_MIRROR"] or None
    beside = REPO.parent / "shared" / "data"
    return str(beside) if beside.is_dir() else None


_unfetchable: dict[Path, str] = {}  # cache folder -> why it could not be had, so each is tried once per session
_filled: set[Path] = set()
_offline: list[str] = []  # why a host could not be reached: later folders are not tried (a hung DNS costs minutes)


def published_path(*parts: str) -> Path:
    """A published file or folder at its mirror path in the download cache (``published_path("pandalm",
    "testset-v1.json")``), fetched and verified on first use; skipped (failed under CI=true) when neither
    the mirror nor the network has it, naming the command that fetches it."""
    from llm_judge.benches import cache
    from llm_judge.errors import DownloadError, LlmJudgeError

    parts = tuple("/".join(parts).split("/"))
    folder = cache.cache_dir() / parts[0]
    if folder not in _filled and folder not in _unfetchable:
        entries = cache.entries_in(parts[0])  # a folder no entry names is the test's mistake: raised
        mirror = data_mirror()
        try:
            for entry in entries:
                if _offline and not cache.is_filled(entry):
                    raise DownloadError(f"not tried, as an earlier fetch failed: {_offline[0]}")
                cache.fill(entry, mirror)
            _filled.add(folder)
        except LlmJudgeError as exc:
            _unfetchable[folder] = str(exc)
            networked = mirror is None or not Path(mirror).is_dir()
            if type(exc) is DownloadError and networked and not _offline:  # a host is unreachable: try no other
                _offline.append(str(exc))
    if folder in _unfetchable:
        unavailable(f"needs the published {parts[0]} files, which are not in the download cache "
                    f"{folder.parent} and could not be fetched ({_unfetchable[folder]}); "
                    f"fetch them with: {FETCH_COMMAND}")
    path = folder.parent.joinpath(*parts)
    assert path.exists(), f"{path}: not a published file of the registry"
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
def published_data():
    """:func:`published_path` for a test: ``published_data("jp_bench", "question.jsonl")``."""
    return published_path


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


def mock_answers(data_dir: Path, tmp_path: Path, rules: dict[str, dict], in_folder: str) -> Path:
    """The demo bench answered by one mock model per entry of ``rules`` (model id -> its one rule), with
    ``in_folder``'s answers moved to ja-vicuna-qa-benchmark's ``model_answer/<model>/results.jsonl``."""
    import llm_judge
    from llm_judge.jsonl import dumps

    for model, rule in rules.items():
        script = tmp_path / f"{model}.jsonl"
        script.write_text(dumps(rule) + "\n", encoding="utf-8")
        assert llm_judge.answer("demo_bench", f"mock:{script}", data_dir=data_dir).failed == 0
    answers = data_dir / "demo_bench" / "model_answer"
    (answers / in_folder).mkdir()
    (answers / f"{in_folder}.jsonl").rename(answers / in_folder / "results.jsonl")
    return data_dir / "demo_bench"


@pytest.fixture(scope="session")
def default_model_path() -> str:
    from llm_judge.engines.weights import resolve_model_path

    return resolve_model_path(None)


# ---- markers (declared in pyproject.toml). Each test file declares its own, where the test loads a model, starts
# vLLM or Ray, talks to tests/fakeapi.py or runs long (``pytestmark`` or a decorator), so that
# `pytest -m "not model and not slow"` is the fast part. One rule is checked here: asking for the default model
# is loading it.

@pytest.hookimpl(tryfirst=True)  # before -m deselects anything
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    unmarked = [item.nodeid for item in items if "default_model_path" in getattr(item, "fixturenames", ())
                and item.get_closest_marker("model") is None]
    if unmarked:
        more = f" (and {len(unmarked) - 1} more)" if len(unmarked) > 1 else ""
        raise pytest.UsageError(f"{unmarked[0]}{more} uses default_model_path but is not marked model: add "
                                "@pytest.mark.model, or pytestmark = pytest.mark.model for the whole file")
