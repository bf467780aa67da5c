"""--ray-address: answering joins a Ray cluster started outside the run (as on a multi-node cluster)."""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import require, unavailable

pytestmark = [pytest.mark.model, pytest.mark.ray]

require("ray", "ray")  # skipped without Ray, failed under CI=true


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def cluster():
    """A one-node Ray cluster from `ray start --head --block`, in its own process group, stopped afterwards.

    The temp folder is short on purpose: Ray's unix sockets live there and their paths are limited to
    107 bytes. Only this cluster's processes are stopped (never `ray stop`, which stops every cluster).
    """
    ray_cli = shutil.which("ray", path=os.path.dirname(sys.executable))
    if ray_cli is None:
        unavailable("the ray command is not installed beside this Python")
    port = free_port()
    temp = tempfile.mkdtemp(prefix="rayc", dir="/tmp")
    # Ray >= 2.59 protects a cluster with a token (by default ~/.ray/auth_token, shared by every run on this
    # machine): this cluster gets its own, which the run joining it must present.
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="token",
               RAY_AUTH_TOKEN=secrets.token_hex(16))
    head = subprocess.Popen([ray_cli, "start", "--head", "--block", f"--port={port}", "--node-ip-address=127.0.0.1",
                             "--num-cpus=2", "--include-dashboard=false", f"--temp-dir={temp}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, start_new_session=True)
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:  # the head is up once its GCS port accepts connections
            if head.poll() is not None:
                pytest.fail(f"ray start failed: {head.stderr.read().decode()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("the Ray head did not start within 120 s")
                time.sleep(0.5)
        yield address, env
    finally:
        head.terminate()  # --block: on SIGTERM, ray start stops the processes it started
        try:
            head.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(head.pid, signal.SIGKILL)  # whatever is left of this cluster's process group
        except ProcessLookupError:
            pass
        shutil.rmtree(temp, ignore_errors=True)


def test_answers_through_an_existing_cluster(cluster, data_dir):
    address, env = cluster
    cmd = [sys.executable, "-m", "llm_judge", "gen_model_answer", "--data-dir", str(data_dir), "--question-end", "2",
           "--max-new-token", "6", "--temperature", "0", "--model-id", "joined", "--ray-address", address,
           "--num-workers", "2"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    recs = [json.loads(line) for line in (data_dir / "demo_bench" / "model_answer" / "joined.jsonl").open()]
    assert [r["question_id"] for r in recs] == [1, 2]
    assert recs[0]["generation"]["ray_workers"] == 2
    assert all(t.strip() for r in recs for t in r["choices"][0]["turns"])
