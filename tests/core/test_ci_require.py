"""tests/conftest.py's require(): a missing engine skips a test here but fails it under CI=true."""
from __future__ import annotations

import pytest

from conftest import require, unavailable

MISSING = "llm_judge_no_such_module"


def test_missing_module_skips_locally(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=f"{MISSING} cannot be imported.*llm_judge\\[vllm\\]"):
        require(MISSING, "vllm")


@pytest.mark.parametrize("value", ["true", "TRUE", "1"])
def test_missing_module_fails_under_ci(monkeypatch, value):
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception, match=f"CI=true, and {MISSING} cannot be imported"):
        require(MISSING, "ray")
    with pytest.raises(pytest.fail.Exception, match="CI=true, and the ray command is not installed"):
        unavailable("the ray command is not installed")


def test_present_module_is_returned(monkeypatch):
    monkeypatch.setenv("CI", "true")
    assert require("json", "none").dumps([1]) == "[1]"
