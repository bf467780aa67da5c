"""The download cache: filled from a mirror folder, verified, reused, and the tests' one way to published data."""
from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FETCH_COMMAND, REPO, published_path
from llm_judge import cli
from llm_judge.benches.cache import cache_dir, cached_path
from llm_judge.benches.registry import load_registry
from llm_judge.cli import download
from llm_judge.datasets import pandalm
from llm_judge.errors import ConfigError, DownloadError

PANDALM = ["pandalm/gpt-3.5-turbo-testset-v1.json", "pandalm/pandalm-7b-testset-v1.json", "pandalm/testset-v1.json"]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def mirror_of(tmp_path: Path, name: str) -> Path:
    """A mirror folder holding one registry entry's files (copied from the tests' download cache)."""
    root = tmp_path / "mirror"
    for f in load_registry(name).files:
        (root / f.mirror).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(published_path(f.mirror), root / f.mirror)
    return root


def files_under(root: Path) -> list[str]:
    """Every file under ``root`` but the cache's lock files, as sorted relative paths."""
    if not root.exists():
        return []
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and not p.name.startswith(".lock"))


def run_download(*args: str) -> int:
    return cli.run(download.main, list(args))


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("LLM_JUDGE_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "llm_judge" / "data"
    monkeypatch.setenv("LLM_JUDGE_CACHE", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine" / "data"  # beside the converted default model


def test_cache_is_filled_from_a_mirror_reused_and_repaired(tmp_path, monkeypatch, capsys):
    mirror = mirror_of(tmp_path, "pandalm")
    monkeypatch.setenv("LLM_JUDGE_CACHE", str(tmp_path))
    cache = tmp_path / "data"
    assert run_download("--cache", "pandalm", "--mirror", str(mirror)) == 0
    assert files_under(cache) == PANDALM  # every part, at its mirror path
    assert "pandalm: 3 files fetched (1.8 MB), 0 already in place" in capsys.readouterr().err
    assert run_download("--cache", "pandalm", "--mirror", str(mirror)) == 0
    assert "pandalm: 0 files fetched (0.0 MB), 3 already in place" in capsys.readouterr().err
    (cache / "pandalm" / "testset-v1.json").write_text("[]\n", encoding="utf-8")  # damaged since: fetched again
    assert run_download("--cache", "pandalm", "--mirror", str(mirror)) == 0
    assert "pandalm: 1 files fetched (0.9 MB), 2 already in place" in capsys.readouterr().err
    assert len(pandalm.read(cache / "pandalm" / "testset-v1.json")) == 999
    # the cache is a mirror in turn: without --mirror, a data folder installs from it
    data = tmp_path / "installed"
    capsys.readouterr()
    assert run_download("pandalm", "--with-judgments", "--data-dir", str(data), "-v") == 0
    assert f"fetching testset-v1.json (916 KB) from {cache / 'pandalm' / 'testset-v1.json'}" in capsys.readouterr().err
    assert files_under(data) == PANDALM


def test_cached_path_fills_from_the_environment_mirror(tmp_path, monkeypatch):
    mirror = mirror_of(tmp_path, "pandalm")
    monkeypatch.setenv("LLM_JUDGE_CACHE", str(tmp_path / "home"))
    monkeypatch.setenv("LLM_JUDGE_MIRROR", str(mirror))
    path = cached_path("pandalm", "testset-v1.json")
    assert path == tmp_path / "home" / "data" / "pandalm" / "testset-v1.json"
    assert files_under(tmp_path / "home" / "data") == PANDALM
    with pytest.raises(ConfigError, match="not a published file"):
        cached_path("pandalm", "README.md")
    monkeypatch.setenv("LLM_JUDGE_MIRROR", str(tmp_path / "empty"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DownloadError, match=r"not found in the mirror.*download --cache llmbar"):
        cached_path("llmbar", "Natural", "dataset.json")


@pytest.mark.parametrize("into", ["cache", "data"])
def test_corrupted_mirror_file_fails_with_one_line_and_writes_nothing(tmp_path, monkeypatch, capsys, into):
    mirror = mirror_of(tmp_path, "pandalm")
    bad = mirror / "pandalm" / "pandalm-7b-testset-v1.json"
    good = bad.read_bytes()
    corrupted = good[:100] + bytes([good[100] ^ 1]) + good[101:]
    bad.write_bytes(corrupted)
    monkeypatch.setenv("LLM_JUDGE_CACHE", str(tmp_path / "cache"))
    where = ["--cache"] if into == "cache" else ["--data-dir", str(tmp_path / "data")]  # cache: cache/data
    assert run_download("pandalm", "--with-judgments", "--mirror", str(mirror), *where) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("INFO ")]
    assert err == [f"error: {bad}: sha256 mismatch for pandalm-7b-testset-v1.json: expected {sha(good)}, "
                   f"got {sha(corrupted)} (file discarded)"]
    assert files_under(tmp_path / into) == []  # not even the good file fetched before it, nor a work folder


def _pytest(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    """One data test in a fresh pytest process whose mirror is a closed loopback port: nothing can be had."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    environ = {k: v for k, v in os.environ.items() if k != "CI"} | {
        "LLM_JUDGE_MIRROR": f"http://127.0.0.1:{port}/", "LLM_JUDGE_CACHE": str(tmp_path / "empty-cache"), **env}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
                           "tests/core/test_bench.py::test_jp_bench_answers_keyed_by_file_name"],
                          cwd=REPO, env=environ, capture_output=True, text=True, timeout=300)


def test_without_mirror_or_network_data_tests_skip_naming_the_command(tmp_path):
    done = _pytest(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 skipped" in done.stdout and f"fetch them with: {FETCH_COMMAND}" in done.stdout
    assert "needs the published jp_bench files" in done.stdout
    failed = _pytest(tmp_path, CI="true")  # CI cannot go green with the data tests gone
    assert failed.returncode == 1 and "CI=true, and needs the published jp_bench files" in failed.stdout
