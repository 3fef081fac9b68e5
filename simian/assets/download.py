"""Fetch a URL into the per-machine cache: verified, atomic, safe across processes, with retries.

Render workers on one machine share a cache directory, so a file is downloaded once: a `FileLock` next
to the destination serialises the download, and the file only appears at its final path through
`os.replace` after its checksum matched, so readers never see a partial file.
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import logging
import os
import random
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpx
from filelock import FileLock

from simian.errors import AssetFetchError, AssetNotFoundError

logger = logging.getLogger(__name__)

RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
MAX_BACKOFF_S = 30.0
MAX_RETRY_AFTER_S = 300.0
_CHUNK = 1024 * 1024
T = TypeVar("T")


class RetryableError(Exception):
    """A transient failure of one attempt; `retry_after` is the server's requested wait, if any."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def redact_url(url: str) -> str:
    """The URL without query or credentials: signed URLs carry secrets in their query string."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def backoff_delay(attempt: int, base_s: float, retry_after: float | None = None) -> float:
    """Seconds to wait before retry number `attempt` (0-based).

    A server's Retry-After wins (capped at MAX_RETRY_AFTER_S); otherwise exponential backoff with full
    jitter between half and all of `base_s * 2**attempt`, so many workers do not retry in lockstep.
    """
    if retry_after is not None:
        return min(max(retry_after, 0.0), MAX_RETRY_AFTER_S)
    ceiling = min(base_s * (2**attempt), MAX_BACKOFF_S)
    return ceiling * (0.5 + random.random() / 2)


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds; it may be delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def with_retries(attempt_fn: Callable[[], T], *, what: str, retries: int, backoff_s: float) -> T:
    """Run `attempt_fn`, retrying RetryableError up to `retries` times; then raise AssetFetchError.

    Any other exception (not found, checksum mismatch, bad input) propagates at once.
    """
    last: RetryableError | None = None
    for attempt in range(retries + 1):
        try:
            return attempt_fn()
        except RetryableError as exc:
            last = exc
            if attempt == retries:
                break
            delay = backoff_delay(attempt, backoff_s, exc.retry_after)
            logger.warning("%s failed (%s); retry %d/%d in %.2fs", what, exc, attempt + 1, retries, delay)
            time.sleep(delay)
    raise AssetFetchError(
        f"{what} failed after {retries + 1} attempt(s): {last}; check the network or try again later"
    ) from last


def _client(timeout_s: float, headers: dict[str, str] | None) -> httpx.Client:
    # TLS verification stays on (httpx default); `timeout_s` bounds connect and each read/write,
    # so a stalled server fails the attempt while a slow but moving large download does not.
    return httpx.Client(
        timeout=httpx.Timeout(timeout_s),
        follow_redirects=True,
        headers={"Accept-Encoding": "identity", **(headers or {})},
    )


def _classify(response: httpx.Response, url: str) -> None:
    """Raise the right error for a non-2xx response."""
    status = response.status_code
    if 200 <= status < 300:
        return
    shown = redact_url(url)
    if status in (404, 410):
        raise AssetNotFoundError(f"{shown} does not exist (HTTP {status}); check the asset id")
    if status in RETRY_STATUS or status >= 500:
        raise RetryableError(f"HTTP {status} from {shown}", parse_retry_after(response.headers.get("Retry-After")))
    raise AssetFetchError(f"HTTP {status} from {shown}; the request was refused, retrying will not help")


def get_json(
    url: str,
    *,
    timeout_s: float,
    retries: int,
    headers: dict[str, str] | None = None,
    backoff_s: float = 0.5,
) -> Any:
    """GET a JSON document with the same retry policy as `download_file`."""
    shown = redact_url(url)

    def attempt() -> Any:
        try:
            with _client(timeout_s, headers) as client:
                response = client.get(url)
        except httpx.TransportError as exc:
            raise RetryableError(f"{type(exc).__name__} for {shown}: {exc}") from exc
        _classify(response, url)
        try:
            return response.json()
        except ValueError as exc:
            raise RetryableError(f"invalid JSON from {shown}: {exc}") from exc

    return with_retries(attempt, what=f"GET {shown}", retries=retries, backoff_s=backoff_s)


def _digests(path: Path) -> tuple[str, str]:
    md5, sha256 = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            md5.update(chunk)
            sha256.update(chunk)
    return md5.hexdigest(), sha256.hexdigest()


def _mismatch(actual_md5: str, actual_sha256: str, md5: str | None, sha256: str | None) -> str | None:
    """A description of the first checksum that does not match, or None."""
    if md5 is not None and actual_md5 != md5.lower():
        return f"md5 expected {md5.lower()}, got {actual_md5}"
    if sha256 is not None and actual_sha256 != sha256.lower():
        return f"sha256 expected {sha256.lower()}, got {actual_sha256}"
    return None


def _is_cached(dest: Path, md5: str | None, sha256: str | None) -> bool:
    if not dest.is_file():
        return False
    if md5 is None and sha256 is None:
        return True
    problem = _mismatch(*_digests(dest), md5, sha256)
    if problem is not None:
        logger.warning("cached %s is stale (%s); downloading again", dest, problem)
    return problem is None


def download_file(
    url: str,
    dest: Path,
    *,
    timeout_s: float,
    retries: int,
    md5: str | None = None,
    sha256: str | None = None,
    headers: dict | None = None,
    backoff_s: float = 0.5,
) -> Path:
    """Download `url` to `dest` unless a verified copy is already there; return `dest`.

    - Cache hit (file present, checksums match when given): no request at all.
    - Concurrent callers (threads or processes) on one `dest` download once: the rest wait on
      `<dest>.lock` and then find the file.
    - Connection errors, timeouts, 408/425/429 and 5xx are retried `retries` times with exponential
      backoff and jitter, honouring Retry-After; afterwards AssetFetchError.
    - 404/410 raise AssetNotFoundError; a checksum mismatch raises AssetFetchError (not retried here:
      it is rarely transient) and the bad bytes are discarded.
    - `dest` only ever holds a complete, verified file (temp file in the same directory + os.replace).
    """
    dest = Path(dest)
    shown = redact_url(url)
    if _is_cached(dest, md5, sha256):
        logger.debug("cache hit %s", dest)
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(f"{dest}.lock"):
        if _is_cached(dest, md5, sha256):  # another process finished it while we waited
            logger.debug("cache hit %s after waiting for the lock", dest)
            return dest

        def attempt() -> Path:
            _download_once(url, dest, timeout_s=timeout_s, md5=md5, sha256=sha256, headers=headers)
            return dest

        result = with_retries(attempt, what=f"download {shown}", retries=retries, backoff_s=backoff_s)
    logger.info("downloaded %s -> %s", shown, dest)
    return result


def _download_once(
    url: str,
    dest: Path,
    *,
    timeout_s: float,
    md5: str | None,
    sha256: str | None,
    headers: dict[str, str] | None,
) -> None:
    shown = redact_url(url)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        md5_h, sha_h = hashlib.md5(usedforsecurity=False), hashlib.sha256()
        received = 0
        with os.fdopen(fd, "wb") as out:
            try:
                with _client(timeout_s, headers) as client, client.stream("GET", url) as response:
                    _classify(response, url)
                    expected = _content_length(response)
                    for chunk in response.iter_bytes(_CHUNK):
                        out.write(chunk)
                        md5_h.update(chunk)
                        sha_h.update(chunk)
                        received += len(chunk)
            except httpx.TransportError as exc:
                raise RetryableError(f"{type(exc).__name__} for {shown}: {str(exc) or 'no detail'}") from exc
            if expected is not None and received != expected:
                raise RetryableError(f"truncated body from {shown}: {received} of {expected} bytes")
            out.flush()
            os.fsync(out.fileno())
        problem = _mismatch(md5_h.hexdigest(), sha_h.hexdigest(), md5, sha256)
        if problem is not None:
            raise AssetFetchError(f"checksum mismatch for {shown}: {problem}; the download was discarded")
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _content_length(response: httpx.Response) -> int | None:
    if response.headers.get("Content-Encoding", "identity").lower() != "identity":
        return None
    try:
        return int(response.headers["Content-Length"])
    except (KeyError, ValueError):
        return None
