"""Objaverse objects (`objaverse:<uid>`) from the `allenai/objaverse` dataset repo on the Hugging Face Hub.

Downloads go through the real `huggingface_hub.hf_hub_download` (per-machine cache, cross-process locking,
atomic writes, size checks), whose HTTP client is the guarded one (`simian.net.install_hub_client`): inside a
fetch scope every request, redirect hop and connection obeys the Hub policy (HF_ENDPOINT, the Hub's file
hosts, SIMIAN_ALLOWED_HOSTS), with a total deadline and a byte cap. This module adds the uid -> path lookup
(decompressed under a cap), the sha256 check huggingface_hub does not make (the blob is named by the LFS
etag), the retry policy for what huggingface_hub does not retry itself (in 2.4 a 5xx on the file GET is
raised at once), and the mapping of its exceptions onto Simian's AssetNotFoundError / AssetFetchError.

The endpoint is `Settings.hf_endpoint` (which pydantic-settings fills from `HF_ENDPOINT`) and is passed
explicitly: huggingface_hub reads `HF_ENDPOINT` only once, when it is first imported.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import logging
import re
import threading
import zlib
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout
from httpx2 import HTTPError as _HubTransportError  # huggingface_hub's transport errors are not OSErrors
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
from simian.assets.licenses import AssetLicense, licensed
from simian.assets.text import clean_text
from simian.errors import AssetFetchError, AssetNotFoundError
from simian.net import (
    DeadlineExceeded,
    DocumentTooLarge,
    FetchLimits,
    FetchRefused,
    FetchScope,
    ResponseTooLarge,
    download_retry,
    fetch_scope,
    hub_policy,
    install_hub_client,
    redact_credentials,
)
from simian.retry import Deadline, RetriesExhausted, TransientError, retry_after_of
from simian.settings import Settings

logger = logging.getLogger(__name__)

PATHS_FILE = "object-paths.json.gz"
#: The dataset's annotations (name, author, licence, Sketchfab page): one gzipped JSON map per folder of objects.
ANNOTATIONS_DIR = "metadata"
_GROUP = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]{0,63}")
#: Longest annotation text kept (names and authors are echoed into attributions).
_TEXT_CAP = 200
_UID = re.compile(r"[0-9a-f]{32}")
_COMMIT = re.compile(r"[0-9a-f]{40}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_GIT_SHA1 = re.compile(r"[0-9a-f]{40}")
_REPO_PATH = re.compile(r"[A-Za-z0-9_\-][A-Za-z0-9_.\-]*(?:/[A-Za-z0-9_\-][A-Za-z0-9_.\-]*)*")
_CHUNK = 1024 * 1024


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
        self._policy = hub_policy(self._endpoint, settings.simian_allowed_hosts)
        self._limits = FetchLimits.from_settings(settings)
        self._retry = download_retry(settings, backoff_s)
        self._paths: dict[str, str] | None = None
        self._annotations: dict[str, dict[str, dict[str, str]]] = {}  # folder -> uid -> what a licence needs
        self._revision = "main"
        self._lock = threading.Lock()
        self._verified: set[Path] = set()
        install_hub_client()
        _remove_abandoned_partials(self._cache_dir, self._repo_id)

    def fetch(self, uid: str) -> Path:
        """Local path of the object's .glb (a file in huggingface_hub's snapshot tree; keep the name,
        its extension matters to importers, so do not `.resolve()` it to the extension-less blob)."""
        if not _UID.fullmatch(uid):
            raise AssetNotFoundError(
                f"objaverse:{uid!r} is not a valid Objaverse uid; expected 32 lowercase hex characters"
            )
        paths = self._object_paths()
        relative = paths.get(uid)
        if relative is None:
            raise AssetNotFoundError(
                f"objaverse:{uid} is not in {PATHS_FILE} of dataset {self._repo_id}; check the uid"
            )
        if not isinstance(relative, str) or not _REPO_PATH.fullmatch(relative) or ".." in relative.split("/"):
            shown = repr(relative)[:120]
            raise AssetFetchError(
                f"objaverse:{uid}: {PATHS_FILE} of dataset {self._repo_id} lists {shown}, which is not a path "
                "inside the dataset"
            )
        try:
            return self._download(relative, self._revision)
        except RemoteEntryNotFoundError as exc:
            raise AssetNotFoundError(
                f"objaverse:{uid} is listed in {PATHS_FILE} as {relative} but that file is missing from "
                f"dataset {self._repo_id}"
            ) from exc

    def license(self, uid: str) -> AssetLicense:
        """The object's licence and credit, from the dataset's annotations (`metadata/<folder>.json.gz`, the folder
        its .glb is in), fetched through the same guarded client and cached; an object the annotations do not list
        is recorded as 'unknown'."""
        if not _UID.fullmatch(uid):
            raise AssetNotFoundError(
                f"objaverse:{uid!r} is not a valid Objaverse uid; expected 32 lowercase hex characters"
            )
        relative = self._object_paths().get(uid)
        if relative is None:
            raise AssetNotFoundError(
                f"objaverse:{uid} is not in {PATHS_FILE} of dataset {self._repo_id}; check the uid"
            )
        parts = relative.split("/") if isinstance(relative, str) else []
        folder = parts[-2] if len(parts) >= 2 and _GROUP.fullmatch(parts[-2]) else None
        annotation = self._folder_annotations(folder).get(uid) if folder else None
        return _license_of(uid, annotation)

    def _folder_annotations(self, folder: str) -> dict[str, dict[str, str]]:
        """What licences need from one annotations file, loaded once per source."""
        with self._lock:
            if folder not in self._annotations:
                filename = f"{ANNOTATIONS_DIR}/{folder}.json.gz"
                try:
                    local = self._download(filename, self._revision)
                except RemoteEntryNotFoundError:
                    logger.warning("dataset %s has no %s; its objects' licences are unknown", self._repo_id, filename)
                    self._annotations[folder] = {}
                    return self._annotations[folder]
                data = self._uid_map(local, filename, "annotation")
                self._annotations[folder] = {
                    uid: _credit(entry) for uid, entry in data.items() if isinstance(entry, dict)
                }
            return self._annotations[folder]

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
                paths = self._uid_map(local, PATHS_FILE, "path")
                self._paths = paths
                # Pin later downloads to the commit this map came from, so the map and the objects agree
                # and a cached object needs no request at all.
                commit = local.parent.name
                if _COMMIT.fullmatch(commit):
                    self._revision = commit
                logger.info("loaded %d Objaverse paths from %s@%s", len(paths), self._repo_id, commit[:8])
            return self._paths

    def _uid_map(self, local: Path, filename: str, value: str) -> dict[str, Any]:
        """A downloaded gzipped JSON map of uid -> `value`, decompressed within SIMIAN_JSON_MAX_BYTES; a file that
        is too large or not such a map is removed from the cache and refused."""
        where = f"{filename} of dataset {self._repo_id}"
        try:
            data = _load_gzipped_json(local, self._limits, where)
        except (ResponseTooLarge, DocumentTooLarge) as exc:
            _discard(local)
            raise ResponseTooLarge(f"{where}: {exc}") from None
        except (OSError, EOFError, zlib.error, ValueError, RecursionError) as exc:
            _discard(local)
            raise AssetFetchError(f"{where} is not gzipped JSON: {exc}") from None
        if not isinstance(data, dict):
            _discard(local)
            raise AssetFetchError(f"{where} holds {type(data).__name__}, expected a uid -> {value} map")
        return data

    def _download(self, filename: str, revision: str) -> Path:
        what = f"download {filename} from dataset {self._repo_id}"
        deadline = Deadline(self._retry.deadline_s)
        scope = FetchScope(self._policy, deadline, self._limits.max_bytes, "SIMIAN_DOWNLOAD_MAX_BYTES")

        def attempt() -> Path:
            with fetch_scope(scope):
                path = self._hf_download(filename, revision, what)
            self._verify(path, filename)
            return path

        try:
            return self._retry.call(attempt, what=what, logger=logger, deadline=deadline)
        except RetriesExhausted as exc:
            raise AssetFetchError(f"{exc}; check the network or try again later") from exc.last
        except RevisionNotFoundError as exc:
            raise AssetFetchError(f"{what}: revision {revision} vanished ({_describe(exc)})") from exc

    def _hf_download(self, filename: str, revision: str, what: str) -> Path:
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
            if response is not None and status is not None and status >= 500:
                raise TransientError(_describe(exc), retry_after_of(response.headers)) from exc
            raise AssetFetchError(f"{what}: {_describe(exc)}") from exc
        except (FetchRefused, DeadlineExceeded) as exc:
            raise type(exc)(f"{what}: {exc}") from None
        except _HubTransportError as exc:
            # Connection errors/timeouts while streaming: huggingface_hub already resumed 5 times.
            raise AssetFetchError(f"{what}: {_describe(exc)}") from exc
        except ValueError as exc:
            # huggingface_hub refuses some inputs (e.g. a malformed path) with a ValueError.
            raise AssetFetchError(f"{what}: {_describe(exc)}") from None
        except OSError as exc:
            # Size mismatch after download ("Consistency check failed"), cache-dir races: try again.
            raise TransientError(_describe(exc)) from exc

    def _verify(self, path: Path, filename: str) -> None:
        """The blob is named by its etag: the LFS sha256 (X-Linked-Etag) or the git blob sha1. Check the bytes
        against it once per process; a mismatch removes the file."""
        blob = path.resolve()
        if blob in self._verified:
            return
        expected = blob.name
        if _SHA256.fullmatch(expected):
            actual = _file_digest(blob, hashlib.sha256())
        elif _GIT_SHA1.fullmatch(expected):
            digest = hashlib.sha1(f"blob {blob.stat().st_size}\0".encode(), usedforsecurity=False)
            actual = _file_digest(blob, digest)
        else:
            _discard(path)
            raise FetchRefused(
                f"{filename} of dataset {self._repo_id} came without a sha256 or git sha1 etag; it cannot be "
                "verified and was discarded"
            )
        if actual != expected:
            _discard(path)
            raise AssetFetchError(
                f"checksum mismatch for {filename} of dataset {self._repo_id}: the Hub announced {expected}, the "
                f"bytes hash to {actual}; the download was discarded"
            )
        self._verified.add(blob)


def _text(value: Any) -> str:
    """Annotation text as one safe line (`simian.assets.text`): it reaches attributions and the dataset card."""
    return clean_text(value, _TEXT_CAP) if isinstance(value, str) else ""


def _credit(annotation: dict[str, Any]) -> dict[str, str]:
    """What a licence needs from an annotation (Sketchfab's fields), as short plain text."""
    user = annotation.get("user")
    if not isinstance(user, dict):
        user = {}
    return {
        "license": _text(annotation.get("license")),
        "name": _text(annotation.get("name")),
        "author": _text(user.get("displayName")) or _text(user.get("username")),
        "url": _text(annotation.get("viewerUrl")),
    }


def _license_of(uid: str, credit: dict[str, str] | None) -> AssetLicense:
    asset = f"objaverse:{uid}"
    if credit is None:
        return licensed(asset, "object", "unknown", f"Objaverse object {uid}: no annotation lists it")
    page = credit["url"] if credit["url"].startswith("https://") else f"https://sketchfab.com/3d-models/{uid}"
    title = f"“{credit['name']}”" if credit["name"] else f"Objaverse object {uid}"
    author = f" by {credit['author']}" if credit["author"] else ""
    lic = licensed(asset, "object", credit["license"], "")
    return lic.model_copy(update={"attribution": f"{title}{author} ({page}), {lic.license_name}"})


def _file_digest(path: Path, digest: Any) -> str:
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return str(digest.hexdigest())


def _load_gzipped_json(path: Path, limits: FetchLimits, where: str) -> Any:
    """Decompress at most SIMIAN_JSON_MAX_BYTES, then parse under the element and depth limits: a gzip bomb fails
    early and small."""
    max_bytes = limits.json_max_bytes
    data = bytearray()
    with gzip.open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            data += chunk
            if len(data) > max_bytes:
                raise ResponseTooLarge(f"decompresses to more than {max_bytes} bytes (SIMIAN_JSON_MAX_BYTES); refused")
    return limits.loads(bytes(data), where)


def _discard(path: Path) -> None:
    """Remove a cached file: the snapshot link and the blob it points to."""
    blob = path.resolve()
    for item in (path, blob):
        with contextlib.suppress(FileNotFoundError):
            item.unlink()


def _remove_abandoned_partials(cache_dir: Path, repo_id: str) -> None:
    """Remove `.incomplete` files a killed process left in the repo's cache. huggingface_hub holds the etag's
    lock while it writes one, so a partial whose lock is free belongs to nobody."""
    folder = "datasets--" + repo_id.replace("/", "--")  # huggingface_hub's documented cache layout
    locks = cache_dir / ".locks" / folder
    for partial in (cache_dir / folder / "blobs").glob("*.incomplete"):
        etag = partial.name.split(".", 1)[0]
        locks.mkdir(parents=True, exist_ok=True)
        try:
            with FileLock(locks / f"{etag}.lock", timeout=0):
                partial.unlink(missing_ok=True)
                logger.info("removed %s, left by an interrupted download", partial)
        except Timeout:
            continue


def _describe(exc: BaseException) -> str:
    """First line of an error and of its cause, without huggingface_hub's multi-line help text."""

    def line(err: BaseException) -> str:
        text = str(err).strip().splitlines()
        return f"{type(err).__name__}: {text[0] if text else ''}".rstrip(": ")

    cause = exc.__cause__
    text = f"{line(exc)} (caused by {line(cause)})" if cause is not None else line(exc)
    return redact_credentials(text)
