"""Real OpenAI-compatible servers (vLLM's, llama-cpp-python's) started by a test as processes of their own.

Each runs in a new session on a free loopback port and is ended by its process group (the server and any
engine process it started), so nothing it spawns outlives the test.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from contextlib import contextmanager
from typing import Callable, Iterator

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(name: str, command: Callable[[int], list[str]], probe: str, startup_s: float,
                   env: dict[str, str] | None = None, poll_s: float = 1.0) -> Iterator[str]:
    """Start ``command(port)``, wait until ``probe`` (a path) answers, yield its ``/v1`` base URL, stop it.
    The test fails with the server's last stderr if it exits, or if it is not up within ``startup_s``."""
    port = free_port()
    proc = subprocess.Popen(command(port), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + startup_s
        while True:
            if proc.poll() is not None:
                pytest.fail(f"{name} server exited: {proc.stderr.read().decode(errors='replace')[-2000:]}")
            try:
                urllib.request.urlopen(base + probe, timeout=2)
                break
            except OSError:
                if time.time() > deadline:
                    pytest.fail(f"{name} server not up after {startup_s} s")
                time.sleep(poll_s)
        yield base + "/v1"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(60)
        assert proc.returncode is not None
