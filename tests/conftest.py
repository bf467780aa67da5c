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


# ---- markers (declared in pyproject.toml), set from what each test uses, so that
# `pytest -m "not model and not slow"` runs the fast tests without every file having to remember its marks.

import ast  # noqa: E402  (kept with the hook it serves, so this block merges as one piece)

MODEL_FLAGS = {"--model-path", "--judge-model", "--base_model", "--base-model"}
MODEL_CALLS = {"HFModel", "VLLMModel", "resolve_model_path"}  # each loads (or converts) a local model
MARK_FOR_IMPORT = {"vllm": "vllm", "ray": "ray", "fakeapi": "api"}
# What the rules above cannot see, measured with --durations on the 2-core development machine. A file name marks
# the whole file, "file::test" one test; naming a test its file does not define stops collection (see below).
EXPLICIT = {
    "test_api_sigkill.py": {"slow"},  # 13 s: kills a judging subprocess, reruns it
    "test_api_engine.py::test_512_calls_in_flight_from_one_thread": {"slow"},  # 10 s: 3 s latency per call
    # 13 s: make_traindata --train-steps fine-tunes the default model
    "test_traindata_finetune.py::test_cli_builds_data_and_a_short_lora_run_lowers_the_loss": {"model", "slow"},
    # 75 s with LLaMA-Factory's venv present (its install: 8 minutes): two real llamafactory-cli train steps
    "test_llamafactory.py": {"model", "slow"},
}


def _called_name(call: ast.Call) -> str:
    return call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")


def _runs_step1_on_its_default(node: ast.AST) -> bool:
    """gen_model_answer called (its main, or its name on a command line) with no --model-path but "default"."""
    lists = [sub.elts for sub in ast.walk(node) if isinstance(sub, (ast.List, ast.Tuple))]
    calls = any(isinstance(sub, ast.Attribute) and getattr(sub.value, "id", "") == "gen_model_answer"
                for sub in ast.walk(node)) or any(_is(e, "gen_model_answer") for elts in lists for e in elts)
    other = any(_is(a, "--model-path") and not _is(b, "default") for elts in lists for a, b in zip(elts, elts[1:]))
    return calls and not other


def _is(node: ast.AST, value: str) -> bool:
    return isinstance(node, ast.Constant) and node.value == value


def _marks_of(node: ast.AST) -> set[str]:
    """Markers a piece of test code earns: imports of vllm/ray/fakeapi, the default model named or loaded."""
    marks: set[str] = {"model"} if _runs_step1_on_its_default(node) else set()
    for sub in ast.walk(node):
        names: list[str] = []
        if isinstance(sub, ast.Import):
            names = [alias.name for alias in sub.names]
        elif isinstance(sub, ast.ImportFrom):
            names = [sub.module or ""]
        elif isinstance(sub, ast.Call):
            if _called_name(sub) in ("importorskip", "require") and sub.args and isinstance(sub.args[0], ast.Constant):
                names = [str(sub.args[0].value)]
            if _called_name(sub) in MODEL_CALLS:
                marks.add("model")
        elif isinstance(sub, (ast.List, ast.Tuple)):
            values = [e.value if isinstance(e, ast.Constant) else None for e in sub.elts]
            if any(flag in MODEL_FLAGS and value == "default" for flag, value in zip(values, values[1:])):
                marks.add("model")
        marks |= {MARK_FOR_IMPORT[n.split(".")[0]] for n in names if n.split(".")[0] in MARK_FOR_IMPORT}
    return marks


class _ModuleMarks:
    """One test module parsed once: its top-level marks, and the marks of each function with what it calls."""

    def __init__(self, path: Path):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        self.functions = {n.name: n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
        top = [n for n in tree.body if not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
        self.top = set().union(*(_marks_of(n) for n in top))

    def of(self, name: str) -> set[str]:
        """Marks of a module-level function and of every function of the module it calls, transitively."""
        marks: set[str] = set()
        todo, seen = [name], set()
        while todo:
            node = self.functions.get(todo.pop())
            if node is None or node.name in seen:
                continue
            seen.add(node.name)
            marks |= _marks_of(node)
            todo += [_called_name(c) for c in ast.walk(node) if isinstance(c, ast.Call)]
        return marks


def _explicit(item: pytest.Function) -> set[str]:
    file = item.path.name
    return EXPLICIT.get(file, set()) | EXPLICIT.get(f"{file}::{item.originalname}", set())


@pytest.hookimpl(tryfirst=True)  # before -m deselects anything
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    modules: dict[Path, _ModuleMarks] = {}
    for item in items:
        if not isinstance(item, pytest.Function) or item.path.suffix != ".py":
            continue
        parsed = modules.setdefault(item.path, _ModuleMarks(item.path))
        marks = parsed.top | parsed.of(item.originalname)
        for fixture in set(item.fixturenames) & set(parsed.functions):  # the module's own fixtures
            marks |= parsed.of(fixture)
        if "default_model_path" in item.fixturenames:
            marks.add("model")
        marks |= _explicit(item)
        for mark in sorted(marks - {m.name for m in item.iter_markers()}):
            item.add_marker(mark)
    for entry in EXPLICIT:  # keep the table true: a renamed or deleted test must be taken out of it
        file, _, test = entry.partition("::")
        for path, parsed in modules.items():
            if path.name == file and test and test not in parsed.functions:
                raise pytest.UsageError(f"tests/conftest.py EXPLICIT names {entry}, which {file} does not define")
