"""A registry file marked ``upstream_only`` (one a mirror may lack, as Arena-Hard's judge_utils.py is absent from
ours): taken from a mirror that has it, left out with one note, and without asking upstream, when the mirror
lacks it, fetched from upstream and sha256-checked without a mirror; the download cache remembers the absence.
Upstream is a loopback HTTP server named by a registry file the test writes."""
from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

import pytest

from test_download import MirrorServer
from llm_judge import cli
from llm_judge.benches.cache import is_filled, recorded_absent
from llm_judge.benches.registry import load_registry
from llm_judge.cli import download

ROWS = b'{"id": 1, "text": "a row"}\n{"id": 2, "text": "another"}\n'
TABLE = b'SYSTEM = "Our own stand-in for an upstream-only file."\n'


def entry_json(url: str) -> dict:
    def item(path: str, dest: str, data: bytes, **more) -> dict:
        return {"part": "core", "kind": "data", "source": "up", "path": path, "mirror": f"toy/{dest}", "dest": dest,
                "size": len(data), "sha256": hashlib.sha256(data).hexdigest(), **more}

    return {"format": 1, "name": "toy", "sources": {"up": {"repo": "o/toy", "commit": "c" * 40, "url": url}},
            "files": [item("data/rows.jsonl", "rows.jsonl", ROWS),
                      item("utils/judge_utils.py", "utils/judge_utils.py", TABLE, upstream_only=True)]}


def serve(root: Path):
    server = MirrorServer(root)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def setup(tmp_path, monkeypatch):
    """(registry file, upstream server, mirror folder lacking the upstream-only file)."""
    monkeypatch.setenv("LLM_JUDGE_CACHE", str(tmp_path / "cache"))
    (tmp_path / "upstream" / "data").mkdir(parents=True)
    (tmp_path / "upstream" / "utils").mkdir()
    (tmp_path / "upstream" / "data" / "rows.jsonl").write_bytes(ROWS)
    (tmp_path / "upstream" / "utils" / "judge_utils.py").write_bytes(TABLE)
    (tmp_path / "mirror" / "toy").mkdir(parents=True)
    (tmp_path / "mirror" / "toy" / "rows.jsonl").write_bytes(ROWS)
    upstream = serve(tmp_path / "upstream")
    registry = tmp_path / "toy.json"
    registry.write_text(json.dumps(entry_json(upstream.url)))
    yield registry, upstream, tmp_path / "mirror"
    upstream.shutdown()
    upstream.server_close()


def run(capsys, *args: str) -> tuple[int, list[str]]:
    code = cli.run(download.main, list(args))
    return code, [line for line in capsys.readouterr().err.splitlines() if not line.startswith("INFO ")]


def test_a_mirror_that_has_it_installs_it(setup, tmp_path, capsys):
    registry, upstream, mirror = setup
    (mirror / "toy" / "utils").mkdir()
    (mirror / "toy" / "utils" / "judge_utils.py").write_bytes(TABLE)
    code, err = run(capsys, str(registry), "--mirror", str(mirror), "--data-dir", str(tmp_path / "data"))
    assert code == 0 and not any(line.startswith("note:") for line in err)
    assert (tmp_path / "data" / "toy" / "utils" / "judge_utils.py").read_bytes() == TABLE
    assert upstream.requests == []


@pytest.mark.parametrize("over_http", [False, True])
def test_a_mirror_that_lacks_it_installs_the_rest_says_where_to_get_it_and_asks_no_one_else(setup, tmp_path, capsys,
                                                                                          over_http):
    registry, upstream, mirror = setup
    server = serve(mirror) if over_http else None
    try:
        code, err = run(capsys, str(registry), "--mirror", server.url if server else str(mirror),
                        "--data-dir", str(tmp_path / "data"))
    finally:
        if server:
            server.shutdown()
            server.server_close()
    assert code == 0
    assert (tmp_path / "data" / "toy" / "rows.jsonl").read_bytes() == ROWS
    assert not (tmp_path / "data" / "toy" / "utils").exists()
    (note,) = [line for line in err if line.startswith("note:")]
    assert f"{upstream.url}utils/judge_utils.py" in note and hashlib.sha256(TABLE).hexdigest() in note
    assert str(tmp_path / "data" / "toy" / "utils" / "judge_utils.py") in note
    assert upstream.requests == []  # the network is not tried when a mirror was asked for
    assert not list((tmp_path / "data").glob(".download-*"))


def test_a_file_not_marked_upstream_only_must_be_in_the_mirror(setup, tmp_path, capsys):
    registry, upstream, mirror = setup
    (mirror / "toy" / "rows.jsonl").unlink()
    code, err = run(capsys, str(registry), "--mirror", str(mirror), "--data-dir", str(tmp_path / "data"))
    assert code == 2 and err[-1].startswith("error: ") and "rows.jsonl: not found in the mirror" in err[-1]
    assert not (tmp_path / "data" / "toy").exists() and upstream.requests == []


def test_without_a_mirror_it_comes_from_upstream_sha256_checked(setup, tmp_path, capsys):
    registry, upstream, _ = setup
    code, err = run(capsys, str(registry), "--data-dir", str(tmp_path / "data"))
    assert code == 0 and not any(line.startswith("note:") for line in err)
    assert (tmp_path / "data" / "toy" / "utils" / "judge_utils.py").read_bytes() == TABLE
    assert ("utils/judge_utils.py", None) in upstream.requests
    upstream.corrupt = {"utils/judge_utils.py"}
    code, err = run(capsys, str(registry), "--data-dir", str(tmp_path / "other"))
    assert code == 2 and "sha256 mismatch for judge_utils.py" in err[-1]
    assert not (tmp_path / "other" / "toy").exists()  # nothing half-installed


def test_the_cache_records_the_absence_and_does_not_ask_the_mirror_again(setup, tmp_path, capsys):
    registry, upstream, mirror = setup
    server = serve(mirror)
    try:
        for fill in (1, 2):
            server.reset()
            code, err = run(capsys, "--cache", str(registry), "--mirror", server.url)
            assert code == 0 and len([line for line in err if line.startswith("note:")]) == 1
            asked = [path for path, _ in server.requests]
            if fill == 1:
                assert asked == ["toy/rows.jsonl", "toy/utils/judge_utils.py"]
        assert asked == []  # the second fill found rows.jsonl in place and asked nothing about the absent file
    finally:
        server.shutdown()
        server.server_close()
    entry = load_registry(str(registry))
    cache = tmp_path / "cache" / "data"
    assert recorded_absent(entry, cache) == (server.url, {"toy/utils/judge_utils.py"})
    assert is_filled(entry) and upstream.requests == []
    code, err = run(capsys, "--cache", str(registry))  # without a mirror: upstream has it
    assert code == 0 and (cache / "toy" / "utils" / "judge_utils.py").read_bytes() == TABLE
    assert recorded_absent(entry, cache) == (None, set()) and is_filled(entry)


def test_upstream_only_must_be_a_boolean(setup, tmp_path, capsys):
    registry, _, _ = setup
    raw = json.loads(registry.read_text())
    raw["files"][1]["upstream_only"] = "yes"
    registry.write_text(json.dumps(raw))
    code, err = run(capsys, str(registry), "--data-dir", str(tmp_path / "data"))
    assert code == 2 and err == [f"error: {registry}: field 'files[1].upstream_only': must be true or false"]
