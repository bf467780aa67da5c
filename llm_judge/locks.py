"""Advisory locks on the files a run appends to, so that two runs of the same work never write one file unknowingly.

Each output ``X`` (a judgment or answer file, a ja-vicuna per-pair file, a batch state file) has a sidecar
``X.lock``. Single bytes far past its text are POSIX record locks (``fcntl.lockf``), which the kernel frees
when the process holding them exits or is killed, on a local disk and, through the NFS lock manager, on a
network file system:

    RUN       held for the whole run: exclusive (the default, and --wait), or shared by --share workers
    MUTEX     held by a --share worker while it reads or appends the output, its claims or its batch state
    SLOT + i  --share worker i's own byte, held while it lives: its claims (claims.py) count while it is held

The file's text names the holders, one JSON line each (host, pid, process start time, slot): the refusal
names them, and a run that finds the line of a holder that is gone reports that it took the lock over. A
run that ends normally leaves the text empty. The lock file itself stays (deleting a lock file races with
a run that has just opened it).
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import socket
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .errors import FileBusy

log = logging.getLogger(__name__)

RUN = 1 << 30
MUTEX = RUN + 1
SLOT = RUN + 16
MAX_SLOTS = 4096
_NO_LOCKS = (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS)


@dataclass(frozen=True)
class LockOptions:
    """What a run does when another holds its output: refuse (default), ``wait`` for it, or ``share`` the
    keys with it (every run then needs ``share``). ``chunk``: keys a --share worker claims at a time (None:
    every free one, as one --batch submission wants)."""

    wait: bool = False
    share: bool = False
    chunk: int | None = 64


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


_HOST = socket.gethostname()
_BOOT = _boot_id()
_PROC = Path("/proc/self/stat").exists()


def _start_of(pid: int) -> str | None:
    """``<boot id>:<start ticks>`` of a live process of this host; "" where /proc does not tell; None: none."""
    if not _PROC:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return ""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    except (OSError, IndexError):
        return ""
    return None if fields[0] in ("Z", "X") else f"{_BOOT}:{fields[19]}"


@dataclass(frozen=True)
class Holder:
    """A process that holds (or held) a lock: a pid is the same process only with the same start time."""

    host: str
    pid: int
    start: str
    slot: int | None = None  # a --share worker's; None: an exclusive run

    @property
    def id(self) -> str:
        return f"{self.host} {self.pid} {self.start} {self.slot}"

    def describe(self) -> str:
        return f"host {self.host} pid {self.pid}"

    def running(self) -> bool | None:
        """Whether the process still runs; None on another host, where only its lock tells."""
        if self.host != _HOST:
            return None
        now = _start_of(self.pid)
        return now is not None and (now == self.start or "" in (now, self.start))

    def line(self) -> str:
        return json.dumps({"host": self.host, "pid": self.pid, "start": self.start, "slot": self.slot}) + "\n"

    @classmethod
    def parse(cls, line: str) -> "Holder | None":
        try:
            obj = json.loads(line)
            return cls(str(obj["host"]), int(obj["pid"]), str(obj["start"]), obj.get("slot"))
        except (ValueError, KeyError, TypeError):
            return None  # a line torn by a kill names nobody


def me(slot: int | None = None) -> Holder:
    return Holder(_HOST, os.getpid(), _start_of(os.getpid()) or "", slot)


class _File:
    """This process's one descriptor of a lock file: record locks belong to the process, and closing any
    descriptor of the file would drop them all, so every lock of the process on the file goes through it."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        self.users = 0
        self.depth = 0  # MUTEX nesting within this process
        self.threads = threading.RLock()
        self.holder: Holder | None = None
        self.locked = True  # False where the file system refuses locks

    def text(self) -> str:
        size = os.fstat(self.fd).st_size
        return os.pread(self.fd, size, 0).decode("utf-8", "replace") if size else ""

    def holders(self) -> list[Holder]:
        return [h for h in map(Holder.parse, self.text().splitlines()) if h is not None]


def _same_file(fd: int, path: Path) -> bool:
    try:
        named = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)


_OPEN: dict[str, _File] = {}
_REGISTRY = threading.Lock()


def _try(fd: int, cmd: int, at: int) -> bool:
    try:
        fcntl.lockf(fd, cmd | fcntl.LOCK_NB, 1, at)
        return True
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            return False
        raise


class StoreLock:
    """The lock of one output file (``<target>.lock``), taken by :meth:`acquire` as ``options`` say."""

    def __init__(self, target: str | Path, options: LockOptions = LockOptions()):
        self.target = Path(target)
        self.path = self.target.with_name(self.target.name + ".lock")
        self.options = options
        self.took_over: list[Holder] = []  # holders found gone: their lines were left by a kill
        self._file: _File | None = None

    @property
    def holder(self) -> Holder | None:
        return self._file.holder if self._file else None

    def acquire(self) -> "StoreLock":
        with _REGISTRY:
            key = os.path.abspath(self.path)
            file = _OPEN.get(key)
            if file is None:
                file = self._open_taken()
                _OPEN[key] = file
            file.users += 1
            self._file = file
        return self

    def _open_taken(self) -> _File:
        """The lock file, opened and taken; opened again when the file taken is no longer the one at the path
        (a run that wrote nothing removes its lock file as it ends)."""
        while True:
            file = _File(self.path)
            try:
                self._take(file)
                if not file.locked or _same_file(file.fd, self.path):
                    return file
            except BaseException:
                os.close(file.fd)
                raise
            os.close(file.fd)

    def _take(self, file: _File) -> None:
        cmd = fcntl.LOCK_SH if self.options.share else fcntl.LOCK_EX
        try:
            if not self._try_run(file, cmd):
                self._wait(file, cmd)
        except OSError as exc:
            if exc.errno not in _NO_LOCKS:
                raise
            file.locked = False
            print(f"warning: {self.path}: the file system refuses locks ({os.strerror(exc.errno)}); this run is "
                  "not protected from another writing the same file", file=sys.stderr)
            file.holder = me()
            return
        if not self.options.share:
            self._left_behind(file)
            file.holder = me()
            os.pwrite(file.fd, file.holder.line().encode(), 0)
            return
        file.holder = me(self._slot(file))
        with self._mutex(file):
            workers = self.workers(file)
            if not any(self.alive(h.id, workers, file) for h in workers.values()):
                self._left_behind(file)  # the first worker: every line names a run that is gone
            os.lseek(file.fd, 0, os.SEEK_END)
            os.write(file.fd, file.holder.line().encode())

    def _try_run(self, file: _File, cmd: int) -> bool:
        """RUN without waiting; a --share worker retries for a few seconds, as the last worker out holds RUN
        exclusively for a moment while it clears the claims."""
        tries = 25 if self.options.share else 1
        for i in range(tries):
            if _try(file.fd, cmd, RUN):
                return True
            if i + 1 < tries:
                time.sleep(0.2)
        return False

    def _left_behind(self, file: _File) -> None:
        """Clear the lines of holders that are gone (they were killed: a run that ends clears its own), and
        say whose lock this run takes over."""
        self.took_over = [h for h in file.holders() if h.running() is not True]
        os.ftruncate(file.fd, 0)
        for gone in self.took_over[-1:]:
            print(f"{self.target}: took over the lock left by {gone.describe()} (no longer running)", file=sys.stderr)

    def _wait(self, file: _File, cmd: int) -> None:
        if not self.options.wait:
            raise FileBusy(self._busy(file))
        print(f"{self.target}: waiting for {self._named(file)} to finish", file=sys.stderr, flush=True)
        fcntl.lockf(file.fd, cmd, 1, RUN)

    def _named(self, file: _File) -> str:
        holders = file.holders()
        live = [h for h in holders if h.running() is not False]
        if live:
            more = f" and {len(live) - 1} more" if len(live) > 1 else ""
            return f"{live[-1].describe()}{more}"
        if holders:  # locked, yet its holder is gone: a lock manager that has not freed it yet
            return (f"{holders[-1].describe()}, no longer running, whose lock the file system has not freed yet "
                    "(NFS frees a dead client's locks when its lease ends, about 90 s)")
        return "another process"

    def _busy(self, file: _File) -> str:
        return (f"{self.target} is being written by {self._named(file)}; rerun with --wait to wait for it, or "
                "give --share to every run writing it to divide the work")

    def _slot(self, file: _File) -> int:
        for i in range(MAX_SLOTS):
            if _try(file.fd, fcntl.LOCK_EX, SLOT + i):
                return i
        raise FileBusy(f"{self.target}: {MAX_SLOTS} --share workers already write it")

    @contextlib.contextmanager
    def mutex(self) -> Iterator[None]:
        """Held while a --share worker reads or appends what the workers share; nothing otherwise."""
        if self._file is None or not self.options.share:
            yield
            return
        with self._mutex(self._file):
            yield

    @staticmethod
    @contextlib.contextmanager
    def _mutex(file: _File) -> Iterator[None]:
        with file.threads:
            if file.depth == 0 and file.locked:
                fcntl.lockf(file.fd, fcntl.LOCK_EX, 1, MUTEX)
            file.depth += 1
            try:
                yield
            finally:
                file.depth -= 1
                if file.depth == 0 and file.locked:
                    fcntl.lockf(file.fd, fcntl.LOCK_UN, 1, MUTEX)

    def workers(self, file: _File | None = None) -> dict[int, Holder]:
        """Slot -> the --share worker that registered it last (read under the mutex)."""
        file = file or self._file
        assert file is not None
        return {h.slot: h for h in file.holders() if h.slot is not None}

    def alive(self, worker: str, workers: dict[int, Holder], file: _File | None = None) -> bool:
        """Whether the --share worker ``worker`` (a Holder id) still runs: it holds its slot's byte, and no
        later worker registered that slot (a slot is free only once its holder is gone)."""
        file = file or self._file
        assert file is not None
        try:
            slot = int(worker.rsplit(" ", 1)[1])
        except (IndexError, ValueError):
            return False
        if file.holder is not None and file.holder.slot == slot:  # never try our own byte: that would free it
            return worker == file.holder.id  # an earlier holder of our slot is gone
        holder = workers.get(slot)
        if holder is None or holder.id != worker:
            return False
        if not file.locked:  # no locks to ask: only a process of this host can be found gone
            return holder.running() is not False
        if _try(file.fd, fcntl.LOCK_EX, SLOT + slot):  # free: its worker is gone
            fcntl.lockf(file.fd, fcntl.LOCK_UN, 1, SLOT + slot)
            return False
        return True

    def alone(self) -> bool:
        """A --share worker's try to become the only run (exclusive until release); True when it did."""
        file = self._file
        if file is None or not self.options.share:
            return True
        return not file.locked or _try(file.fd, fcntl.LOCK_EX, RUN)

    def release(self) -> None:
        file, self._file = self._file, None
        if file is None:
            return
        with _REGISTRY:
            file.users -= 1
            if file.users:
                return
            del _OPEN[os.path.abspath(self.path)]
            if file.locked and (not self.options.share or _try(file.fd, fcntl.LOCK_EX, RUN)):
                # the last one out: nobody holds it now; a run that wrote nothing leaves nothing behind
                if self.target.exists():
                    os.ftruncate(file.fd, 0)
                else:
                    self.path.unlink(missing_ok=True)
            os.close(file.fd)  # frees every lock of this process on the file

    def __enter__(self) -> "StoreLock":
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
