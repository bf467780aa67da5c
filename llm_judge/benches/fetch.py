"""Fetch one file and verify it: from an http(s) URL (resuming a partial download) or a local path.

Bytes go to ``<dest>.part``; only a file whose size and sha256 match what the caller expects is renamed to
``dest``, so ``dest`` is never half-written. A ``.part`` left by an interrupted run is resumed with an HTTP
Range request, or fetched again from the start when the server ignores the range. A dropped connection is
retried a few times, resuming each time. A complete file with the wrong sha256 is deleted and reported as
a ChecksumError; when the bad file had been resumed from an old partial, it is first fetched once more from
scratch, since the old bytes may be what was wrong.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from ..errors import ChecksumError, DownloadError, NotFound

CHUNK = 1 << 16
ATTEMPTS = 3
USER_AGENT = "llm_judge-download/1"


class _Retry(Exception):
    """A failure worth another attempt (connection lost, timeout, 5xx, 429)."""


def is_url(location: str) -> bool:
    return location.startswith(("http://", "https://"))


def local_path(location: str) -> Path:
    """A plain path, or the path of a ``file://`` URL."""
    if location.startswith("file://"):
        return Path(urllib.request.url2pathname(urllib.parse.urlparse(location).path))
    return Path(location)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _content_range_start(value: str | None) -> int | None:
    # "bytes 100-199/200" -> 100
    if not value or not value.startswith("bytes "):
        return None
    try:
        return int(value[6:].split("-", 1)[0])
    except ValueError:
        return None


def _http_to_part(url: str, part: Path, size: int, timeout: float) -> bool:
    """Append the missing bytes of ``url`` to ``part``; True when an earlier partial was resumed."""
    have = _size(part)
    if have > size:  # not a prefix of the file we want
        part.unlink()
        have = 0
    if have == size:
        return have > 0
    headers = {"User-Agent": USER_AGENT}
    if have:
        headers["Range"] = f"bytes={have}-"
    try:
        resp = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # the server disowns our partial: start over
            part.unlink()
            raise _Retry("range not satisfiable") from None
        if exc.code in (408, 429) or exc.code >= 500:
            raise _Retry(f"HTTP {exc.code} {exc.reason}") from None
        raise (NotFound if exc.code == 404 else DownloadError)(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise _Retry(str(getattr(exc, "reason", exc))) from None
    with resp:
        resumed = have > 0 and resp.status == 206 and _content_range_start(resp.headers.get("Content-Range")) == have
        with open(part, "ab" if resumed else "wb") as fh:
            try:
                shutil.copyfileobj(resp, fh, CHUNK)
            except (OSError, http.client.HTTPException) as exc:
                raise _Retry(f"connection lost after {fh.tell()} bytes ({exc.__class__.__name__})") from None
    got = _size(part)
    if got < size:
        raise _Retry(f"connection closed after {got} of {size} bytes")
    return resumed


def _copy_to_part(path: Path, part: Path) -> None:
    if not path.is_file():
        raise NotFound(f"{path}: not found in the mirror")
    with open(path, "rb") as src, open(part, "wb") as dst:
        shutil.copyfileobj(src, dst, CHUNK)


def fetch(location: str, dest: Path, sha256: str, size: int, timeout: float = 60.0) -> None:
    """Place a verified copy of ``location`` (URL or local path) at ``dest``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    problem = ""
    for attempt in range(ATTEMPTS):
        if attempt:
            time.sleep(0.2 * attempt)
        try:
            if is_url(location):
                resumed = _http_to_part(location, part, size, timeout)
            else:
                _copy_to_part(local_path(location), part)
                resumed = False
        except _Retry as exc:
            problem = str(exc)
            continue
        digest = sha256_of(part)
        if digest == sha256:
            os.replace(part, dest)
            return
        part.unlink()
        if resumed:
            problem = "checksum mismatch after resuming; fetching again from the start"
            continue
        raise ChecksumError(f"{location}: sha256 mismatch for {dest.name}: expected {sha256}, got {digest} "
                            f"(file discarded)")
    raise DownloadError(f"{location}: download failed after {ATTEMPTS} attempts ({problem}); "
                        f"rerun the same command to resume")
