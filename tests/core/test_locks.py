"""The output locks (llm_judge/locks.py) between real processes: refusal naming the holder, a dead holder's
line taken over, --share workers seen live or gone by their slot, nothing left behind by a run that wrote nothing."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from llm_judge.errors import FileBusy
from llm_judge.jsonl import JsonlStore
from llm_judge.locks import LockOptions, StoreLock

HOLD = """
import sys, time
from llm_judge.locks import LockOptions, StoreLock
lock = StoreLock(sys.argv[1], LockOptions(share=sys.argv[2] == "share")).acquire()
print(lock.holder.id, flush=True)
time.sleep(600)
"""


def holder(target: Path, mode: str = "refuse") -> tuple[subprocess.Popen, str]:
    """A process holding ``target``'s lock, and its worker id."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(target), mode], stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    return proc, proc.stdout.readline().strip()


def test_a_held_file_is_refused_naming_host_and_pid_then_taken_over_after_a_kill(tmp_path, capsys):
    target = tmp_path / "out.jsonl"
    proc, _ = holder(target)
    try:
        with pytest.raises(FileBusy) as info:
            StoreLock(target).acquire()
        assert str(info.value) == (f"{target} is being written by host {socket.gethostname()} pid {proc.pid}; rerun "
                                   "with --wait to wait for it, or give --share to every run writing it to divide "
                                   "the work")
        with pytest.raises(FileBusy):  # a --share worker is refused too, after its retries
            StoreLock(target, LockOptions(share=True)).acquire()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    lock = StoreLock(target).acquire()  # the kernel freed it; the line left names the dead holder
    assert [(h.host, h.pid) for h in lock.took_over] == [(socket.gethostname(), proc.pid)]
    assert f"took over the lock left by host {socket.gethostname()} pid {proc.pid}" in capsys.readouterr().err
    lock.release()
    assert not lock.path.exists()  # nothing was written: nothing is left


def test_share_workers_see_each_other_live_and_gone(tmp_path):
    target = tmp_path / "out.jsonl"
    other, other_id = holder(target, "share")
    try:
        mine = StoreLock(target, LockOptions(share=True)).acquire()
        with mine.mutex():
            workers = mine.workers()
            assert mine.alive(other_id, workers) and mine.alive(mine.holder.id, workers)
            assert not mine.alone()  # the other worker holds the file too
    finally:
        other.send_signal(signal.SIGKILL)
        other.wait()
    with mine.mutex():
        assert not mine.alive(other_id, mine.workers())  # its slot was freed with it
    assert mine.alone()
    mine.release()


def test_a_store_keeps_its_lock_file_empty_once_written(tmp_path):
    target = tmp_path / "out.jsonl"
    with JsonlStore(target, lambda r: r["id"]) as store:
        assert store.lock.path.read_text().startswith('{"host"')  # the holder's line while it runs
        store.append({"id": 1})
    assert target.with_name("out.jsonl.lock").read_text() == ""
    with JsonlStore(target, lambda r: r["id"], lock=None):
        pass  # a store without a lock (a file no other run writes) takes none
