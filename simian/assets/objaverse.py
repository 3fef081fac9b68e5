"""Objaverse objects (`objaverse:<uid>`) from the `allenai/objaverse` dataset repo on the Hugging Face Hub.

Downloads go through the real `huggingface_hub.hf_hub_download`, which already gives a per-machine cache,
cross-process locking, atomic writes and etag/size checks. This module adds the uid -> path lookup, a
retry loop for what huggingface_hub does not retry itself (in 2.4 a 5xx on the file GET is raised at
once), and the mapping of its exceptions onto Simian's AssetNotFoundError / AssetFetchError.

The endpoint is `Settings.hf_endpoint` (which pydantic-settings fills from `HF_ENDPOINT`) and is passed
explicitly: huggingface_hub reads `HF_ENDPOINT` only once, when it is first imported.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
import threading
from pathlib import Path

from huggingface_hub import hf_hub_download
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    LocalEntryNotFoundError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from simian import __version__
from simian.assets.download import RetryableError, parse_retry_after, with_retries
from simian.errors import AssetFetchError, AssetNotFoundError
from simian.settings import Settings

try:  # huggingface_hub >= 1.0 speaks httpx2/httpx; its transport errors are not OSErrors
    from httpx2 import HTTPError as _HubTransportError
except ImportError:  # pragma: no cover - depends on the installed huggingface_hub
    from httpx import HTTPError as _HubTransportError

logger = logging.getLogger(__name__)

PATHS_FILE = "object-paths.json.gz"
_UID = re.compile(r"[0-9a-f]{32}")
_COMMIT = re.compile(r"[0-9a-f]{40}")


class ObjaverseSource:
    """Resolves `objaverse:<uid>` to a local .glb, downloading it into the shared cache once."""

    def __init__(self, settings: Settings, *, backoff_s: float = 0.5) -> None:
        self._repo_id = settings.simian_objaverse_repo
        self._endpoint = settings.hf_endpoint.rstrip("/") if settings.hf_endpoint else None
        self._cache_dir = settings.simian_cache_dir / "hf"
        # False, not None, when unset: huggingface_hub would otherwise pick up a token stored on the
        # machine and send it to whatever endpoint is configured. Settings is the one source of config.
        self._token: str | bool = settings.hf_token.get_secret_value() if settings.hf_token else False
        self._timeout_s = settings.simian_download_timeout_s
        self._retries = settings.simian_download_retries
        self._backoff_s = backoff_s
        self._paths: dict[str, str] | None = None
        self._revision = "main"
        self._lock = threading.Lock()

    def fetch(self, uid: str) -> Path:
        """Local path of the object's .glb (a file in huggingface_hub's snapshot tree; keep the name,
        its extension matters to importers, so do not `.resolve()` it to the extension-less blob)."""
        if not _UID.fullmatch(uid):
            raise AssetNotFoundError(
                f"objaverse:{uid!r} is not a valid Objaverse uid; expected 32 lowercase hex characters"
            )
        paths = self._object_paths()
        relative = paths.get(uid)
        if not isinstance(relative, str):
            raise AssetNotFoundError(
                f"objaverse:{uid} is not in {PATHS_FILE} of dataset {self._repo_id}; check the uid"
            )
        try:
            return self._download(relative, self._revision)
        except RemoteEntryNotFoundError as exc:
            raise AssetNotFoundError(
                f"objaverse:{uid} is listed in {PATHS_FILE} as {relative} but that file is missing from "
                f"dataset {self._repo_id}"
            ) from exc

    def _object_paths(self) -> dict[str, str]:
        """The uid -> relative path map, loaded once per source (the real file is ~800k entries)."""
        with self._lock:
            if self._paths is None:
                try:
                    local = self._download(PATHS_FILE, "main")
                except RemoteEntryNotFoundError as exc:
                    raise AssetFetchError(
                        f"dataset {self._repo_id} has no {PATHS_FILE}; is SIMIAN_OBJAVERSE_REPO right?"
                    ) from exc
                try:
                    with gzip.open(local, "rt", encoding="utf-8") as fh:
                        paths = json.load(fh)
                except (OSError, ValueError) as exc:
                    raise AssetFetchError(f"{local} is not a gzipped JSON object map: {exc}") from exc
                if not isinstance(paths, dict):
                    raise AssetFetchError(f"{local} holds {type(paths).__name__}, expected a uid -> path map")
                self._paths = paths
                # Pin later downloads to the commit this map came from, so the map and the objects agree
                # and a cached object needs no request at all.
                commit = local.parent.name
                if _COMMIT.fullmatch(commit):
                    self._revision = commit
                logger.info("loaded %d Objaverse paths from %s@%s", len(paths), self._repo_id, commit[:8])
            return self._paths

    def _download(self, filename: str, revision: str) -> Path:
        what = f"download {filename} from dataset {self._repo_id}"

        def attempt() -> Path:
            try:
                return Path(
                    hf_hub_download(
                        repo_id=self._repo_id,
                        repo_type="dataset",
                        filename=filename,
                        revision=revision,
                        endpoint=self._endpoint,
                        cache_dir=self._cache_dir,
                        token=self._token,
                        etag_timeout=self._timeout_s,
                        library_name="simian",
                        library_version=__version__,
                    )
                )
            except LocalEntryNotFoundError as exc:
                # The HEAD failed after huggingface_hub's own retries (network down, Hub 5xx, not a Hub
                # endpoint) and nothing is cached: retrying here would only multiply its ~25 s of backoff.
                raise AssetFetchError(f"{what}: {_describe(exc)}") from exc
            except (RemoteEntryNotFoundError, RevisionNotFoundError):
                raise  # definite answers: the caller words them
            except (GatedRepoError, RepositoryNotFoundError) as exc:
                # A configuration problem, not a transient one: AssetNotFoundError is never retried.
                raise AssetNotFoundError(
                    f"dataset {self._repo_id} is not accessible ({_describe(exc)}); check "
                    "SIMIAN_OBJAVERSE_REPO, and HF_TOKEN if the repo is private or gated"
                ) from exc
            except HfHubHTTPError as exc:
                # huggingface_hub retries 408/429 on the file GET but raises a 5xx at once: retry those.
                response = getattr(exc, "response", None)
                status = response.status_code if response is not None else None
                if status is not None and status >= 500:
                    retry_after = parse_retry_after(response.headers.get("Retry-After"))
                    raise RetryableError(_describe(exc), retry_after) from exc
                raise AssetFetchError(f"{what}: {_describe(exc)}") from exc
            except _HubTransportError as exc:
                # Connection errors/timeouts while streaming: huggingface_hub already resumed 5 times.
                raise AssetFetchError(f"{what}: {_describe(exc)}") from exc
            except OSError as exc:
                # Size mismatch after download ("Consistency check failed"), cache-dir races: try again.
                raise RetryableError(_describe(exc)) from exc

        try:
            return with_retries(attempt, what=what, retries=self._retries, backoff_s=self._backoff_s)
        except RevisionNotFoundError as exc:
            raise AssetFetchError(f"{what}: revision {revision} vanished ({_describe(exc)})") from exc


def _describe(exc: BaseException) -> str:
    """First line of an error and of its cause, without huggingface_hub's multi-line help text."""

    def line(err: BaseException) -> str:
        text = str(err).strip().splitlines()
        return f"{type(err).__name__}: {text[0] if text else ''}".rstrip(": ")

    cause = exc.__cause__
    return f"{line(exc)} (caused by {line(cause)})" if cause is not None else line(exc)
