"""The converted default model is cached by the GGUF file's contents: one conversion per file, whatever
the install path, and a different file never reuses it."""
from __future__ import annotations

import os
import shutil

import pytest

from llm_judge.engines.weights import _fingerprint, bundled_gguf, cache_dir, resolve_model_path


def test_same_file_anywhere_has_one_fingerprint_and_a_changed_one_another(tmp_path):
    gguf = bundled_gguf()
    copy = tmp_path / "elsewhere" / gguf.name
    copy.parent.mkdir()
    shutil.copyfile(gguf, copy)
    os.utime(copy, (1_000_000_000, 1_000_000_000))  # another mtime, as after a fresh install
    assert _fingerprint(copy) == _fingerprint(gguf)
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one byte in the middle of the tensors
    copy.write_bytes(bytes(data))
    assert _fingerprint(copy) != _fingerprint(gguf)


@pytest.mark.model
def test_default_model_resolves_to_the_content_keyed_folder():
    path = resolve_model_path(None)
    gguf = bundled_gguf()
    assert path == str(cache_dir() / "models" / f"{gguf.stem}-{_fingerprint(gguf)}")
    assert (cache_dir() / "models" / f"{gguf.stem}-{_fingerprint(gguf)}" / "config.json").exists()
