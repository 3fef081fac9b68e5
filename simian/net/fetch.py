"""The guarded fetcher: JSON answers and files for one source, inside that source's network policy.

Every request runs in a `FetchScope` (see `simian.net.transport`): configured hosts only, internal addresses
refused at connect time, every redirect hop re-checked, one total deadline per fetch (retries included) and a
byte cap per answer. Files land in the per-machine cache verified and atomically: a `FileLock` next to the
destination serialises downloads across processes, bytes go to a `.part` file beside it that is removed on
any failure (and stale ones from killed processes are removed before the next try), and only a file whose
size and checksums match is renamed into place.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx2
from filelock import FileLock

from simian.errors import AssetFetchError, AssetNotFoundError
from simian.net.documents import DocumentTooLarge, loads_bounded
from simian.net.errors import DeadlineExceeded, FetchRefused, ResponseTooLarge
from simian.net.policy import NetworkPolicy
from simian.net.redact import redact_url
from simian.net.transport import FetchScope, fetch_scope, guarded_client
from simian.retry import Deadline, RetriesExhausted, RetryPolicy, TransientError, is_transient_status, retry_after_of
from simian.settings import Settings

logger = logging.getLogger(__name__)
T = TypeVar("T")
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class FetchLimits:
    """Per-read timeout and byte caps (files without an advertised size; JSON answers)."""

    read_timeout_s: float = 60.0
    max_bytes: int = 2 * 1024**3
    json_max_bytes: int = 128 * 1024**2
    json_max_elements: int = 2_000_000
    json_max_depth: int = 64

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchLimits:
        return cls(
            read_timeout_s=settings.simian_download_timeout_s,
            max_bytes=settings.simian_download_max_bytes,
            json_max_bytes=settings.simian_json_max_bytes,
            json_max_elements=settings.simian_json_max_elements,
            json_max_depth=settings.simian_json_max_depth,
        )

    def loads(self, data: bytes, what: str) -> Any:
        """JSON parsed under the element and depth limits (`simian.net.documents`)."""
        return loads_bounded(data, what, self.json_max_elements, self.json_max_depth)


def download_retry(settings: Settings, backoff_s: float = 0.5) -> RetryPolicy:
    """The retry policy of every fetch: SIMIAN_DOWNLOAD_RETRIES retries within SIMIAN_DOWNLOAD_DEADLINE_S."""
    return RetryPolicy(
        attempts=settings.simian_download_retries + 1,
        backoff_s=backoff_s,
        deadline_s=settings.simian_download_deadline_s,
    )


class Fetcher:
    """Guarded GETs for one source. `retry.deadline_s` bounds each fetch, retries included; `log` is the
    logger of the module on whose behalf it works (its retry warnings go there)."""

    def __init__(
        self,
        policy: NetworkPolicy,
        limits: FetchLimits,
        retry: RetryPolicy,
        *,
        headers: dict[str, str] | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        self.policy = policy
        self.limits = limits
        self.retry = retry
        self._log = log or logger
        self._client = guarded_client(timeout=httpx2.Timeout(limits.read_timeout_s), headers=headers)

    def close(self) -> None:
        self._client.close()

    # -- small answers ---------------------------------------------------------------------------

    def read_bytes(self, url: str) -> bytes:
        """The whole body of a small answer, at most `json_max_bytes` (SIMIAN_JSON_MAX_BYTES)."""
        shown = redact_url(url)

        def attempt(scope: FetchScope) -> bytes:
            body = bytearray()
            with self._client.stream("GET", url) as response:
                _raise_for_status(response, url)
                for chunk in response.iter_raw():
                    body += chunk  # the transport has already refused anything past the cap
            return bytes(body)

        return self._run(attempt, what=f"GET {shown}", cap=self.limits.json_max_bytes, cap_name="SIMIAN_JSON_MAX_BYTES")

    def json(self, url: str) -> Any:
        data = self.read_bytes(url)
        try:
            return self.limits.loads(data, f"{self.policy.source}: {redact_url(url)}")
        except DocumentTooLarge as exc:
            raise ResponseTooLarge(str(exc)) from None
        except (ValueError, RecursionError) as exc:
            raise AssetFetchError(f"{self.policy.source}: {redact_url(url)} did not answer valid JSON: {exc}") from None

    # -- files -----------------------------------------------------------------------------------

    def download(
        self,
        url: str,
        dest: Path,
        *,
        md5: str | None = None,
        sha256: str | None = None,
        size: int | None = None,
    ) -> Path:
        """Download `url` to `dest` unless a verified copy is there; return `dest`.

        `size` (advertised by the source) caps the body and must match; without it the cap is
        `max_bytes` (SIMIAN_DOWNLOAD_MAX_BYTES). 404/410 raise AssetNotFoundError; a checksum mismatch raises
        AssetFetchError and keeps nothing; transient failures are retried within the deadline.
        """
        dest = Path(dest)
        shown = redact_url(url)
        if size is not None and size > self.limits.max_bytes:
            raise ResponseTooLarge(
                f"{self.policy.source}: {shown} is advertised as {size} bytes, more than SIMIAN_DOWNLOAD_MAX_BYTES "
                f"({self.limits.max_bytes}); refused"
            )
        if _is_cached(dest, md5, sha256, size):
            return dest
        dest.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(f"{dest}.lock"):
            if _is_cached(dest, md5, sha256, size):  # another process finished it while we waited
                return dest
            _remove_stale_parts(dest)
            cap, cap_name = (
                (size, "the advertised size")
                if size is not None
                else (
                    self.limits.max_bytes,
                    "SIMIAN_DOWNLOAD_MAX_BYTES",
                )
            )
            self._run(
                lambda scope: self._download_once(url, dest, md5=md5, sha256=sha256, size=size),
                what=f"download {shown}",
                cap=cap,
                cap_name=cap_name,
            )
        self._log.info("downloaded %s -> %s", shown, dest)
        return dest

    def _download_once(self, url: str, dest: Path, *, md5: str | None, sha256: str | None, size: int | None) -> None:
        shown = redact_url(url)
        fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
        tmp = Path(tmp_name)
        try:
            md5_h, sha_h = hashlib.md5(usedforsecurity=False), hashlib.sha256()
            received = 0
            with os.fdopen(fd, "wb") as out:
                with self._client.stream("GET", url) as response:
                    _raise_for_status(response, url)
                    for chunk in response.iter_raw(_CHUNK):
                        out.write(chunk)
                        md5_h.update(chunk)
                        sha_h.update(chunk)
                        received += len(chunk)
                if size is not None and received != size:
                    raise TransientError(f"truncated body from {shown}: {received} of {size} bytes")
                out.flush()
                os.fsync(out.fileno())
            problem = _mismatch(md5_h.hexdigest(), sha_h.hexdigest(), md5, sha256)
            if problem is not None:
                raise AssetFetchError(
                    f"{self.policy.source}: checksum mismatch for {shown}: {problem}; the download was discarded"
                )
            os.chmod(tmp, 0o644)
            os.replace(tmp, dest)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    # -- shared ----------------------------------------------------------------------------------

    def _run(self, attempt: Callable[[FetchScope], T], *, what: str, cap: int, cap_name: str) -> T:
        """One fetch: a scope (policy, one deadline, cap) around each attempt, retried by the policy."""
        deadline = Deadline(self.retry.deadline_s)
        scope = FetchScope(self.policy, deadline, cap, cap_name)

        def once() -> T:
            with fetch_scope(scope):
                try:
                    return attempt(scope)
                except httpx2.TooManyRedirects:
                    raise FetchRefused(f"{self.policy.source}: {what}: more than 5 redirects; refused") from None
                except (httpx2.UnsupportedProtocol, httpx2.InvalidURL) as exc:
                    raise FetchRefused(f"{self.policy.source}: {what}: {exc}") from None
                except httpx2.TransportError as exc:
                    raise TransientError(f"{type(exc).__name__}: {str(exc) or 'no detail'}") from exc

        try:
            return self.retry.call(once, what=what, logger=self._log, deadline=deadline)
        except DeadlineExceeded as exc:
            raise DeadlineExceeded(f"{self.policy.source}: {what}: {exc}") from None
        except RetriesExhausted as exc:
            raise AssetFetchError(f"{self.policy.source}: {exc}; check the network or try again later") from exc.last


def fetch_document(url: str, settings: Settings, *, source: str, setting: str, internal_endpoint: bool = True) -> bytes:
    """A small document from a URL the operator gave (its host is the endpoint), capped at SIMIAN_JSON_MAX_BYTES;
    with `internal_endpoint` False (a URL from a flow parameter) not even that host may be an internal address."""
    policy = NetworkPolicy(
        source, url, setting, extra_hosts=settings.simian_allowed_hosts, internal_endpoint=internal_endpoint
    )
    fetcher = Fetcher(policy, FetchLimits.from_settings(settings), download_retry(settings))
    try:
        return fetcher.read_bytes(url)
    finally:
        fetcher.close()


def _raise_for_status(response: httpx2.Response, url: str) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    shown = redact_url(url)
    if status in (404, 410):
        raise AssetNotFoundError(f"{shown} does not exist (HTTP {status})")
    if is_transient_status(status):
        raise TransientError(f"HTTP {status} from {shown}", retry_after_of(response.headers))
    if 300 <= status < 400:
        raise FetchRefused(f"HTTP {status} from {shown} without a usable Location; refused")
    raise AssetFetchError(f"HTTP {status} from {shown}; the request was refused, retrying will not help")


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


def _is_cached(dest: Path, md5: str | None, sha256: str | None, size: int | None) -> bool:
    if not dest.is_file():
        return False
    if size is not None and dest.stat().st_size != size:
        logger.warning("cached %s has the wrong size; downloading again", dest)
        return False
    if md5 is None and sha256 is None:
        return True
    problem = _mismatch(*_digests(dest), md5, sha256)
    if problem is not None:
        logger.warning("cached %s is stale (%s); downloading again", dest, problem)
    return problem is None


def _remove_stale_parts(dest: Path) -> None:
    """`.part` files of `dest` left by a killed process (only the lock holder writes them)."""
    for stale in dest.parent.glob(f".{glob.escape(dest.name)}.*.part"):
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()
            logger.info("removed %s, left by an interrupted download", stale)
