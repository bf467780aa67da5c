"""The exceptions llm_judge raises on purpose.

    LlmJudgeError            anything the CLI reports as one ``error: ...`` line and exit code 2
     ├── InputError          a file the user gave is malformed (names file, line and field)
     ├── ConfigError         flags or configuration that cannot work together
     ├── FileBusy            another run is writing an output file (names its host and pid)
     ├── DownloadError       a public bench file could not be fetched (rerun to resume)
     │    ├── ChecksumError  a fetched file's sha256 differs from the registry's (the file is discarded)
     │    └── NotFound       the mirror or host has no such file (HTTP 404, or absent from a mirror folder)
     └── MissingDependency   an optional engine is not installed (names the pip extra)

Errors of a single model call are *not* exceptions that stop a run: they become records
with an ``error`` field (see :mod:`llm_judge.engines.base`).
"""
from __future__ import annotations

from pathlib import Path


class LlmJudgeError(Exception):
    """Base class: the message is shown to the user as it is."""


class InputError(LlmJudgeError):
    def __init__(self, path: str | Path, message: str, line: int | None = None, field: str | None = None):
        self.path, self.line, self.field = str(path), line, field
        where = self.path if line is None else f"{self.path}:{line}"
        what = f"field '{field}': " if field else ""
        super().__init__(f"{where}: {what}{message}")


class ConfigError(LlmJudgeError):
    pass


class FileBusy(LlmJudgeError):
    pass


class DownloadError(LlmJudgeError):
    pass


class ChecksumError(DownloadError):
    pass


class NotFound(DownloadError):
    pass


class MissingDependency(LlmJudgeError):
    def __init__(self, module: str, extra: str):
        super().__init__(f"{module} is not installed; install it with: pip install 'llm_judge[{extra}]'")
