"""The test folders are importable by name under pytest (tests/ is on sys.path, the folders have no __init__), so
none may take the name of a package that libraries look for: tests/datasets/ once made transformers believe Hugging
Face's datasets was installed, and its Trainer then failed on ``datasets.Dataset``."""
from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent.parent


def folders() -> set[str]:
    return {p.name for p in TESTS.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))}


def test_no_test_folder_is_named_as_an_installed_package():
    taken = set(importlib.metadata.packages_distributions())
    assert "pytest" in taken and "judging" in folders()  # the check sees both sides
    assert folders() & taken == set()


def test_no_test_folder_is_named_as_a_package_transformers_looks_for():
    import_utils = pytest.importorskip("transformers.utils.import_utils")
    probed = {name[len("is_"):-len("_available")] for name in dir(import_utils)
              if name.startswith("is_") and name.endswith("_available")}
    assert "datasets" in probed
    assert folders() & probed == set()
