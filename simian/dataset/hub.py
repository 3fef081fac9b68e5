"""Publishing to a Hugging Face dataset repo with the real `huggingface_hub` client.

Many files per commit; retries for 429 (honouring Retry-After), 5xx, connection resets and
commit conflicts from concurrent writers; files already in the repo with the same content
(sha256 of LFS files, git blob id of small text files) are skipped; 401/403 stop at once with
the variable to fix. The token is never logged.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from huggingface_hub import CommitOperationAdd, HfApi
from huggingface_hub import constants as hf_constants
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

from simian.errors import InvalidInputError, SimianError
from simian.net import redact_credentials
from simian.retry import RetriesExhausted, RetryPolicy, TransientError, retry_after_of
from simian.settings import Settings

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Transient for the Hub: the usual statuses plus commit conflicts from concurrent writers (409, 412).
RETRYABLE_STATUS = frozenset({408, 409, 412, 425, 429, 500, 502, 503, 504})
MAX_ATTEMPTS = 6


class HubError(SimianError):
    """Publishing to the Hub failed after retries."""


class HubAuthError(HubError, InvalidInputError):
    """The Hub refused the token: retrying cannot help."""


@dataclass(frozen=True)
class HubFile:
    path_in_repo: str
    local_path: Path
    sha256: str


def git_blob_id(path: Path) -> str:
    """The id git gives a file's content: sha1 of "blob <size>\\0" and the bytes."""
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def _is_connection_error(exc: BaseException) -> bool:
    return isinstance(exc, ConnectionError | TimeoutError) or type(exc).__name__ in {
        "ConnectError",
        "ReadError",
        "RemoteProtocolError",
        "ReadTimeout",
        "ConnectTimeout",
        "WriteError",
    }


def _first_line(exc: BaseException) -> str:
    """The error's first line, and what the Hub said when it says more (its refusal names the limit broken)."""
    lines = str(exc).splitlines()
    first = lines[0] if lines else type(exc).__name__
    said = (getattr(exc, "server_message", None) or "").strip().splitlines()
    if said and said[0] not in first:
        first = f"{first.rstrip(': ')}: {said[0][:300]}"
    return redact_credentials(first)


class HubPublisher:
    """One dataset repo on the Hub (or a server speaking its protocol, via HF_ENDPOINT)."""

    def __init__(self, settings: Settings, repo_id: str, *, private: bool = True, backoff_s: float = 2.0) -> None:
        if settings.hf_token is None:
            raise InvalidInputError(
                f"HF_TOKEN is not set: publishing to {repo_id} needs a token with write access "
                "(set HF_TOKEN in .env or the environment, or unset HF_REPO_ID to publish locally only)"
            )
        self.repo_id = repo_id
        self.private = private
        self.retry = RetryPolicy(attempts=MAX_ATTEMPTS, backoff_s=backoff_s)
        if settings.hf_hub_disable_xet:
            # huggingface_hub reads this once at import; a .env value arrives later, so set it here too.
            hf_constants.HF_HUB_DISABLE_XET = True
        self.api = HfApi(endpoint=settings.hf_endpoint, token=settings.hf_token.get_secret_value())
        self.commits_made = 0

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        """`fn` under the retry policy: 429/5xx/conflicts and dropped connections are retried, 401/403 stop."""

        def attempt() -> T:
            try:
                return fn()
            except RepositoryNotFoundError as exc:
                if _status(exc) in (401, 403):
                    raise self._auth_error(exc) from None
                raise HubError(f"{what}: dataset repo {self.repo_id} not found or not visible with HF_TOKEN") from None
            except HfHubHTTPError as exc:
                status = _status(exc)
                if status in (401, 403):
                    raise self._auth_error(exc) from None
                if status not in RETRYABLE_STATUS:
                    raise HubError(f"{what} failed ({status}): {_first_line(exc)}") from None
                response = getattr(exc, "response", None)
                raise TransientError(f"HTTP {status}", retry_after_of(getattr(response, "headers", None))) from exc
            except Exception as exc:
                if not _is_connection_error(exc):
                    raise
                raise TransientError(type(exc).__name__) from exc

        try:
            return self.retry.call(attempt, what=what, logger=logger)
        except RetriesExhausted as exc:
            cause = exc.last.__cause__
            if cause is not None and _status(cause) is not None:
                raise HubError(f"{what} failed ({_status(cause)}): {_first_line(cause)}") from None
            raise HubError(f"{what} failed: {exc}") from None

    def _auth_error(self, exc: BaseException) -> HubAuthError:
        status = _status(exc)
        if status == 403:
            return HubAuthError(
                f"the Hub refused access to {self.repo_id} (403): HF_TOKEN lacks write permission for HF_REPO_ID; "
                "use a write token of an account that may write to that repo"
            )
        return HubAuthError(f"the Hub rejected HF_TOKEN (401) for {self.repo_id}: set HF_TOKEN to a valid write token")

    def ensure_repo(self) -> None:
        """Create the dataset repo if missing; proves the token works before any render starts."""
        self._call(
            "create repo",
            lambda: self.api.create_repo(self.repo_id, repo_type="dataset", private=self.private, exist_ok=True),
        )

    def head(self) -> str:
        info = self._call("read repo", lambda: self.api.dataset_info(self.repo_id))
        return str(info.sha)

    def _paths_info(self, paths: list[str]) -> list[Any]:
        return list(self.api.get_paths_info(self.repo_id, paths, repo_type="dataset"))

    def _infos(self, paths: Sequence[str]) -> list[Any]:
        infos: list[Any] = []
        for start in range(0, len(paths), 500):
            batch = list(paths[start : start + 500])
            infos += self._call("read paths", functools.partial(self._paths_info, batch))
        return infos

    def existing_sha256(self, paths: Sequence[str]) -> dict[str, str]:
        """sha256 of those paths already in the repo as LFS files."""
        return {info.path: info.lfs.sha256 for info in self._infos(paths) if getattr(info, "lfs", None) is not None}

    def existing_paths(self, paths: Sequence[str]) -> set[str]:
        """Those paths that are in the repo, whatever their content."""
        return {info.path for info in self._infos(paths)}

    def _already_there(self, files: Sequence[HubFile]) -> set[str]:
        """Paths of `files` the repo holds with the same content: LFS files by sha256, files git stores itself
        (small text) by their git blob id."""
        by_path = {f.path_in_repo: f for f in files}
        same = set()
        for info in self._infos(list(by_path)):
            lfs = getattr(info, "lfs", None)
            local = by_path[info.path]
            if lfs is not None:
                matches = lfs.sha256 == local.sha256
            else:
                matches = getattr(info, "blob_id", None) == git_blob_id(local.local_path)
            if matches:
                same.add(info.path)
        return same

    def publish(
        self,
        files: Sequence[HubFile],
        message: str,
        batch_size: int = 100,
        before_commit: Callable[[], None] | None = None,
    ) -> int:
        """Commit the files not yet in the repo, `batch_size` per commit; return the number committed."""
        present = self._already_there(files)
        todo = [f for f in files if f.path_in_repo not in present]
        if len(todo) < len(files):
            logger.info(
                "%d of %d files are already in %s with the same content",
                len(files) - len(todo),
                len(files),
                self.repo_id,
            )
        for start in range(0, len(todo), batch_size):
            batch = todo[start : start + batch_size]
            operations = [CommitOperationAdd(f.path_in_repo, str(f.local_path)) for f in batch]
            title = f"{message} ({len(batch)} files)"
            if before_commit is not None:
                before_commit()
            self._call(
                "commit",
                functools.partial(
                    self.api.create_commit, self.repo_id, operations, commit_message=title, repo_type="dataset"
                ),
            )
            self.commits_made += 1
            logger.info("committed %d files to %s", len(batch), self.repo_id)
        return len(todo)

    def publish_on(
        self, files: Sequence[HubFile], message: str, parent_commit: str, before_commit: Callable[[], None] | None
    ) -> int:
        """Commit the files not yet in the repo in one commit on top of `parent_commit`: a concurrent writer makes
        it fail (412, raised as is, for the caller to read again); return the number committed."""
        present = self._already_there(files)
        todo = [f for f in files if f.path_in_repo not in present]
        if not todo:
            return 0
        if before_commit is not None:
            before_commit()
        operations = [CommitOperationAdd(f.path_in_repo, str(f.local_path)) for f in todo]
        self.api.create_commit(
            self.repo_id, operations, commit_message=message, repo_type="dataset", parent_commit=parent_commit
        )
        self.commits_made += 1
        return len(todo)

    def read_text(self, path: str) -> str | None:
        """A small text file of the repo, or None when it does not exist yet."""
        if not self.existing_text_paths([path]):
            return None
        local = self._call(
            "download", lambda: self.api.hf_hub_download(self.repo_id, path, repo_type="dataset", force_download=True)
        )
        return Path(local).read_text(encoding="utf-8")

    def read_bytes(self, path: str) -> bytes:
        """A file of the repo known to be there (a shard being merged, a stats file); nothing of it is kept in the
        Hugging Face cache (a shard can be hundreds of MB)."""
        with tempfile.TemporaryDirectory(prefix="simian-hub-") as folder:
            local = self._call(
                "download",
                lambda: self.api.hf_hub_download(self.repo_id, path, repo_type="dataset", cache_dir=folder),
            )
            return Path(local).read_bytes()

    def existing_text_paths(self, paths: Sequence[str]) -> set[str]:
        infos = self._call(
            "read paths", lambda: self.api.get_paths_info(self.repo_id, list(paths), repo_type="dataset")
        )
        return {info.path for info in infos}

    def commit_texts(self, texts: dict[str, str], message: str, parent_commit: str | None) -> None:
        """Commit small text files on top of `parent_commit`; a concurrent writer makes this fail (412)."""
        operations = [CommitOperationAdd(path, content.encode("utf-8")) for path, content in texts.items()]
        self.api.create_commit(
            self.repo_id, operations, commit_message=message, repo_type="dataset", parent_commit=parent_commit
        )
        self.commits_made += 1
