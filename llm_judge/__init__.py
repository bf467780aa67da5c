"""llm_judge: benchmark chat models with LLM judges (FastChat llm_judge-compatible files).

The pipeline as functions (llm_judge/api.py): ``answer``, ``judge``, ``results``, ``evaluate_judge``, and
``engine`` for a model's engine settings. They are imported on first use, so ``import llm_judge`` stays cheap.
"""
import types

from . import results as _results  # the package's __init__ imports nothing

__version__ = "0.1.0"

_API = ("answer", "judge", "evaluate_judge", "engine")


class _CallableResults(types.ModuleType):
    """``llm_judge.results`` is the step-3 package, and Python binds that name to it whenever a module under it
    is imported; calling the package calls :func:`llm_judge.api.results`, so ``llm_judge.results(...)``
    and ``llm_judge.results.tables`` both work."""

    def __call__(self, *args, **kwargs):
        from .api import results

        return results(*args, **kwargs)


_results.__class__ = _CallableResults


def __getattr__(name: str):
    if name in _API:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'llm_judge' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_API))
