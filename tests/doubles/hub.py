"""A TEST DOUBLE for the Hugging Face Hub. It is not the Hub and shares no code with it.

`HubTestDouble` is a local threaded HTTP server (stdlib only) that speaks the part of the Hub's HTTP protocol
that the real `huggingface_hub` client (checked against huggingface_hub 2.4, `HfApi(endpoint=hub.url)` or
`HF_ENDPOINT=hub.url`) needs to download files and to publish a dataset with `create_commit`.

Endpoints (`{repo}` is `namespace/name`; `{plural}` is models|datasets|spaces|kernels; revisions and paths
inside one segment arrive percent-encoded, e.g. `refs%2Fpr%2F1`):

    HEAD/GET /[datasets/|spaces/|kernels/]{repo}/resolve/{rev}/{path}   file download (hf_hub_download)
    HEAD/GET /_lfs/{sha256}                                            stand-in CDN (lfs_redirect=True)
    POST     /api/repos/create                                        create_repo (409 when it exists)
    GET      /api/{plural}/{repo}[/revision/{rev}]                     repo_info / dataset_info (?blobs=true)
    GET      /api/{plural}/{repo}/tree/{rev}[/{path}]                  list_repo_tree / list_repo_files
    POST     /api/{plural}/{repo}/paths-info/{rev}                     get_paths_info (form: paths=..)
    POST     /api/{plural}/{repo}/preupload/{rev}                      upload mode per file (lfs|regular)
    POST     /[datasets/..]{repo}.git/info/lfs/objects/batch           LFS batch API, "basic" transfer only
    PUT      /_lfs_upload/{plural}/{repo}/{sha256}                     the upload href (no auth: presigned)
    POST     /[datasets/..]{repo}.git/info/lfs/objects/verify          LFS verify
    POST     /api/{plural}/{repo}/commit/{rev}                         create_commit (NDJSON, ?create_pr=1)
    POST     /api/validate-yaml, GET /api/whoami-v2                    README.md check, whoami
    *        /api/{plural}/{repo}/xet-{read|write}-token/...           refused (403) and logged: no Xet here

What huggingface_hub 2.4 sends and expects (read from its source; the double answers the same way):

- Downloads: `X-Repo-Commit` (40-hex commit the revision resolved to), `ETag` (git blob sha1) or
  `X-Linked-Etag` (sha256, LFS) as the cache key, `X-Linked-Size`/`Content-Length`; errors carry
  `X-Error-Code` (`RepoNotFound`, `RevisionNotFound`, `EntryNotFound`), which the client maps to
  `RepositoryNotFoundError`, `RevisionNotFoundError`, `RemoteEntryNotFoundError`. `Range: bytes=N-` -> 206.
  With `lfs_redirect=True`, LFS files answer 302 to another origin (`localhost` vs `127.0.0.1`), like the CDN.
- Preupload: JSON `{"files": [{"path", "sample" (base64 of the first 512 bytes), "size"}], "gitIgnore"?}`
  (sent with `http_backoff`, so 429/5xx are retried). Answer `{"files": [{"path", "uploadMode": "lfs" |
  "regular", "shouldIgnore", "oid"?}]}`; `oid` (sha256 for LFS, git sha1 otherwise) of the file already at
  that path lets the client drop unchanged files. Mode here: LFS if >= 10 MiB, if the path matches a
  `filter=lfs` pattern of the revision's `.gitattributes`, or if the sample is not UTF-8 text; else regular.
  The client itself forces empty files to "regular".
- LFS batch: `{"operation": "upload", "transfers": ["basic", "multipart"], "objects": [{"oid", "size"}],
  "hash_algo": "sha256", "ref": {"name"}}` with `Accept/Content-Type: application/vnd.git-lfs+json` (retried
  by `http_backoff`). Answer `{"transfer": "basic", "objects": [{"oid", "size", "actions": {"upload": {"href"},
  "verify": {"href"}}}]}`; an object without `actions` is already stored and is not uploaded again. The client
  PUTs the raw bytes to `href` WITHOUT its token (it is a presigned URL on the real Hub), then POSTs
  `{"oid", "size"}` to the verify href with its token.
- Commit: `Content-Type: application/x-ndjson`, lines `{"key": "header", "value": {"summary", "description",
  "parentCommit"?}}`, `{"key": "file", "value": {"path", "content" (base64), "encoding": "base64"}}`,
  `{"key": "lfsFile", "value": {"path", "algo": "sha256", "oid", "size"}}`, `{"key": "deletedFile" |
  "deletedFolder", "value": {"path"}}`. Sent with a plain POST (NOT retried by the client). Answer
  `{"success", "commitOid", "commitUrl", "pullRequestUrl"?}`; the client only reads `pullRequestUrl` with
  `create_pr=1`.
- Conflicts: a `parentCommit` that is not the branch head (a 5..40-hex prefix is accepted, as on the Hub), or a
  race inside the Hub, answers `412 {"error": "A commit has happened since. Please refresh and try again."}`.
- Errors -> exceptions (`huggingface_hub.utils.hf_raise_for_status`; all subclass `HfHubHTTPError`, whose
  `.response.status_code` is the status): 401 + `X-Error-Code: RepoNotFound` -> `RepositoryNotFoundError`;
  401 "Invalid credentials in Authorization header" -> plain `HfHubHTTPError` (the client's repo-URL 401
  heuristic only matches `https://` endpoints, so without the header a 401 from this double is a plain
  `HfHubHTTPError`); 403 -> `HfHubHTTPError`; 404 -> by `X-Error-Code`, else `HfHubHTTPError`; 400 ->
  `BadRequestError`; 409 -> `HfHubHTTPError` (swallowed by `create_repo(exist_ok=True)`); 412 and 429 and
  5xx -> `HfHubHTTPError`.

Xet: this double never speaks it. It never sends `X-Xet-Hash`/`X-Xet-Refresh-Route`/`Link: rel="xet-auth"` on
downloads, never answers `"transfer": "xet"`, and refuses the xet token endpoints. But huggingface_hub 2.4 picks
Xet for UPLOADS on the client side alone: `_commit_api._upload_files` (and `upload_folder`'s pipeline) use Xet
whenever `hf_xet` is importable and `HF_HUB_DISABLE_XET` is not set, whatever the server says. So clients
talking to this double must run with `HF_HUB_DISABLE_XET=1` (see `client_env()`, `client_xet_disabled()`);
otherwise their first upload hits `/xet-write-token/` and fails, which `xet_requests` records.

Files live on disk under `root`, content-addressed by sha256 (`blobs/<sha256>`). Every commit (`add_file` or
the commit API) makes a new commit hash; older commits stay resolvable by hash. `create_repo` over HTTP makes an
initial commit holding a `.gitattributes`, as the Hub does.
"""

from __future__ import annotations

import base64
import codecs
import contextlib
import fnmatch
import gzip
import hashlib
import json
import logging
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs

from tests.doubles import HttpTestDouble, Request, Response

logger = logging.getLogger(__name__)

REPO_TYPES = ("model", "dataset", "space", "kernel")
_URL_PREFIX = {"dataset": "datasets", "space": "spaces", "kernel": "kernels", "model": ""}
_PREFIX_TYPE = {"datasets": "dataset", "spaces": "space", "kernels": "kernel"}
_PLURAL_TYPE = {"models": "model", "datasets": "dataset", "spaces": "space", "kernels": "kernel"}
_LFS_THRESHOLD = 10 * 1024 * 1024  # the Hub's limit for regular (non-LFS) files
_SEGMENT = r"[^/]+"
_REPO = rf"(?:(?P<prefix>datasets|spaces|kernels)/)?(?P<namespace>{_SEGMENT})/(?P<name>{_SEGMENT})"
_API_REPO = rf"(?P<plural>models|datasets|spaces|kernels)/(?P<namespace>{_SEGMENT})/(?P<name>{_SEGMENT})"
_SHA256 = re.compile(r"[0-9a-f]{64}")
_COMMIT_OID = re.compile(r"[0-9a-fA-F]{5,40}")
_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)  # fake clock: commit n happens n seconds after this

CONFLICT_MESSAGE = "A commit has happened since. Please refresh and try again."
INVALID_TOKEN_MESSAGE = "Invalid credentials in Authorization header"

# Abridged from the `.gitattributes` the Hub writes into a new dataset repo.
_DEFAULT_LFS_PATTERNS = """
*.7z *.arrow *.bin *.bz2 *.ckpt *.ftz *.gz *.h5 *.joblib *.lfs.* *.lz4 *.mds *.mlmodel *.model *.msgpack *.npy
*.npz *.onnx *.ot *.parquet *.pb *.pickle *.pkl *.pt *.pth *.rar *.safetensors saved_model/**/* *.tar.* *.tflite
*.tgz *.wasm *.xz *.zip *.zst *tfevents* *.pcm *.sam *.raw *.aac *.flac *.mp3 *.ogg *.wav *.bmp *.gif *.png *.tiff
*.jpg *.jpeg *.webp *.mp4 *.webm
"""
DEFAULT_GITATTRIBUTES = "".join(
    f"{pattern} filter=lfs diff=lfs merge=lfs -text\n" for pattern in _DEFAULT_LFS_PATTERNS.split()
).encode()


@dataclass(frozen=True)
class HubLimits:
    """The Hub's limits on a repository, which the double enforces when given them (scaled down for tests):
    the Hub recommends at most 100,000 files per repository, 10,000 entries per folder and 100 files per commit,
    and rate-limits commits (about 128 an hour per repository, answered 429). A layout that would outgrow them
    fails in tests instead of on the Hub at 50,000 clips."""

    files_per_repo: int = 100_000
    entries_per_folder: int = 10_000
    files_per_commit: int = 100
    commits_per_hour: int = 128

    def problem(self, tree: dict[str, object], added: int) -> str | None:
        """Why a commit adding `added` files and leaving `tree` breaks a limit, or None."""
        if added > self.files_per_commit:
            return f"a commit of {added} files is over the limit of {self.files_per_commit} files per commit"
        if len(tree) > self.files_per_repo:
            return f"{len(tree)} files are over the limit of {self.files_per_repo} files per repository"
        children: dict[str, set[str]] = {}
        for path in tree:
            parts = path.split("/")
            for depth in range(len(parts)):
                children.setdefault("/".join(parts[:depth]), set()).add(parts[depth])
        folder, entries = max(children.items(), key=lambda kv: len(kv[1]))
        if len(entries) > self.entries_per_folder:
            return (
                f"folder '{folder or '/'}' holds {len(entries)} entries, over the limit of "
                f"{self.entries_per_folder} entries per folder"
            )
        return None


@dataclass(frozen=True)
class HubFile:
    """One file of one commit, as the double stores it."""

    path: str
    size: int
    sha256: str
    git_sha1: str  # git blob sha1 of the content
    lfs: bool
    blob: Path

    @property
    def etag(self) -> str:
        return self.sha256 if self.lfs else self.git_sha1

    @property
    def pointer(self) -> bytes:
        """The git-lfs pointer git stores instead of an LFS file's content."""
        return f"version https://git-lfs.github.com/spec/v1\noid sha256:{self.sha256}\nsize {self.size}\n".encode()

    @property
    def blob_id(self) -> str:
        """Git object id as the Hub's tree API reports it: the pointer's for LFS files, the content's otherwise."""
        return _git_sha1(self.pointer) if self.lfs else self.git_sha1

    @property
    def preupload_oid(self) -> str:
        """What preupload reports for an existing file; the client compares it with its own hash to skip no-ops."""
        return self.sha256 if self.lfs else self.git_sha1


@dataclass
class _Repo:
    repo_type: str
    repo_id: str
    private: bool = False
    commits: dict[str, dict[str, HubFile]] = field(default_factory=dict)
    commit_times: dict[str, datetime] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)
    lfs_objects: set[str] = field(default_factory=set)  # sha256 of LFS objects uploaded to this repo
    pull_requests: int = 0

    def resolve(self, revision: str) -> str | None:
        if revision in self.refs:
            return self.refs[revision]
        return revision if revision in self.commits else None

    @property
    def url_path(self) -> str:
        prefix = _URL_PREFIX[self.repo_type]
        return f"{prefix}/{self.repo_id}" if prefix else self.repo_id


class HubTestDouble(HttpTestDouble):
    """A test double for the Hugging Face Hub (downloads, repo info, LFS uploads, commits). Not the Hub.

    Usage::

        with HubTestDouble(tmp_path / "hub", token="hf_test") as hub, client_xet_disabled():
            api = HfApi(endpoint=hub.url, token="hf_test")
            api.create_repo("me/videos", repo_type="dataset")
            api.create_commit("me/videos", [CommitOperationAdd("a.mp4", data)], commit_message="add", ...)
            assert hub.repo_files("me/videos")["a.mp4"] == data and hub.lfs_uploads == 1

    With `token`, every Hub request must carry `Authorization: Bearer <token>`: none -> 401 (`RepoNotFound` on
    repo endpoints, like the Hub answers anonymous callers), another token -> 401 "Invalid credentials in
    Authorization header". Without `token`, anything goes except anonymous access to private repos.
    """

    server_name = "hub-test-double"

    def __init__(
        self,
        root: Path,
        *,
        lfs_redirect: bool = False,
        token: str | None = None,
        user: str = "test-double-user",
        limits: HubLimits | None = None,
    ) -> None:
        super().__init__()
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.lfs_redirect = lfs_redirect
        self.lfs_cdn: str | None = None  # where LFS redirects point (default: this double as `localhost`)
        self._corrupt: set[tuple[str, str]] = set()  # (repo_id, path) served with a flipped byte
        self.token = token
        self.user = user
        self._repos: dict[tuple[str, str], _Repo] = {}
        self._blobs: dict[str, Path] = {}
        self._commit_log: list[dict[str, object]] = []
        self._commit_counter = 0
        self._lfs_uploads: list[str] = []
        self._conflicts: list[bool] = []  # one entry per pending injected conflict: land a foreign commit first?
        self._objaverse: dict[str, dict[str, tuple[str, dict[str, object] | None]]] = {}  # see add_objaverse_objects
        self.limits = limits
        self._commit_clock: dict[tuple[str, str], list[float]] = {}  # commit API times per repo (real clock)

        # Routing table. Order matters: the first match wins.
        repo_api = rf"/api/{_API_REPO}"
        lfs_api = rf"/{_REPO}\.git/info/lfs/objects"
        self.route(("HEAD", "GET"), rf"/{_REPO}/resolve/(?P<revision>{_SEGMENT})/(?P<path>.+)", self._resolve)
        self.route(("HEAD", "GET"), r"/_lfs/(?P<sha256>[0-9a-f]{64})", self._lfs_blob)
        self.route(
            "PUT",
            rf"/_lfs_upload/{_API_REPO}/(?P<oid>[0-9a-f]{{64}})",
            self._lfs_put,
            "lfs_upload",
        )
        self.route("POST", r"/api/repos/create", self._guard(self._create_repo, repo_scoped=False), "repo_create")
        self.route("POST", r"/api/validate-yaml", self._guard(self._validate_yaml, repo_scoped=False), "yaml")
        self.route("GET", r"/api/whoami-v2", self._guard(self._whoami, repo_scoped=False), "whoami")
        self.route(
            ("GET", "POST"),
            rf"{repo_api}/xet-(?P<kind>read|write)-token(?:/.*)?",
            self._xet_refused,
            "xet_token",
        )
        self.route(
            "GET",
            rf"{repo_api}(?:/revision/(?P<revision>{_SEGMENT}))?",
            self._guard(self._repo_info),
            "repo_info",
        )
        self.route(
            "GET",
            rf"{repo_api}/tree/(?P<revision>{_SEGMENT})(?:/(?P<path>{_SEGMENT}))?",
            self._guard(self._tree),
            "tree",
        )
        self.route(
            "POST", rf"{repo_api}/paths-info/(?P<revision>{_SEGMENT})", self._guard(self._paths_info), "paths_info"
        )
        self.route("POST", rf"{repo_api}/preupload/(?P<revision>{_SEGMENT})", self._guard(self._preupload), "preupload")
        self.route("POST", rf"{repo_api}/commit/(?P<revision>{_SEGMENT})", self._guard(self._commit), "commit")
        self.route("POST", rf"{lfs_api}/batch", self._guard(self._lfs_batch), "lfs_batch")
        self.route("POST", rf"{lfs_api}/verify", self._guard(self._lfs_verify), "lfs_verify")

    # -- seeding and inspection (test side) ------------------------------------------------------

    def add_repo(self, repo_id: str, repo_type: str = "dataset", *, private: bool = False) -> str:
        """Create a repo the way `create_repo` does (initial commit with `.gitattributes`); returns its head."""
        _check_repo(repo_id, repo_type)
        with self._lock:
            if (repo_type, repo_id) in self._repos:
                raise ValueError(f"{repo_type} repo {repo_id} already exists")
            repo = self._repos[(repo_type, repo_id)] = _Repo(repo_type, repo_id, private=private)
        entry = self._store(".gitattributes", DEFAULT_GITATTRIBUTES, lfs=False)
        with self._lock:
            return self._land_commit(repo, "main", {".gitattributes": entry}, "initial commit")

    def add_file(
        self,
        repo_id: str,
        path: str,
        data: bytes,
        repo_type: str = "dataset",
        *,
        lfs: bool | None = None,
        revision: str = "main",
    ) -> str:
        """Commit `data` at `path` on `revision` (created if new); returns the new commit hash.

        Seeds state without HTTP: the repo is created if needed (without `.gitattributes`), and the commit is
        not listed in `commits`. `lfs=None` guesses like a typical `.gitattributes`: binary or large files are LFS.
        """
        _check_repo(repo_id, repo_type)
        if path.startswith("/") or ".." in path.split("/"):
            raise ValueError(f"bad path {path!r}")
        if lfs is None:
            lfs = len(data) >= _LFS_THRESHOLD or not _looks_like_text(data)
        entry = self._store(path, data, lfs=lfs)
        with self._lock:
            repo = self._repos.setdefault((repo_type, repo_id), _Repo(repo_type, repo_id))
            if lfs:
                repo.lfs_objects.add(entry.sha256)
            tree = dict(repo.commits.get(repo.refs.get(revision, ""), {}))
            tree[path] = entry
            commit = self._land_commit(repo, revision, tree, f"Upload {path}")
        logger.debug("hub double: %s %s:%s -> commit %s", repo_type, repo_id, path, commit[:8])
        return commit

    def add_objaverse_objects(
        self,
        objects: dict[str, tuple[bytes, dict[str, object] | None]],
        repo_id: str = "allenai/objaverse",
        folder: str = "000-023",
    ) -> None:
        """Seed an Objaverse-shaped dataset repo the way `allenai/objaverse` is laid out: each object at
        `glbs/<folder>/<uid>.glb`, the uid -> path map `object-paths.json.gz`, and the annotations (as Sketchfab's
        API gave them: name, license, user, viewerUrl, ...) in `metadata/<folder>.json.gz`. An annotation of None
        leaves the object out of the annotations. Objects added by earlier calls are kept."""
        with self._lock:
            known = self._objaverse.setdefault(repo_id, {})
            known.update({uid: (f"glbs/{folder}/{uid}.glb", annotation) for uid, (_, annotation) in objects.items()})
            paths = {uid: path for uid, (path, _) in known.items()}
            folders: dict[str, dict[str, object]] = {}
            for uid, (path, annotation) in known.items():
                if annotation is not None:
                    folders.setdefault(path.split("/")[1], {})[uid] = annotation
        for uid, (glb, _) in objects.items():
            self.add_file(repo_id, f"glbs/{folder}/{uid}.glb", glb)
        self.add_file(repo_id, "object-paths.json.gz", gzip.compress(json.dumps(paths).encode()))
        for name, shard in folders.items():
            self.add_file(repo_id, f"metadata/{name}.json.gz", gzip.compress(json.dumps(shard).encode()))

    def corrupt(self, repo_id: str, path: str) -> None:
        """From now on serve `path` with its first byte flipped, under the same etag and size."""
        with self._lock:
            self._corrupt.add((repo_id, path))

    def head_commit(self, repo_id: str, repo_type: str = "dataset", revision: str = "main") -> str:
        with self._lock:
            return self._repos[(repo_type, repo_id)].refs[revision]

    def repo_files(self, repo_id: str, repo_type: str = "dataset", revision: str = "main") -> dict[str, bytes]:
        """Path -> content of every file at `revision` (a branch, `refs/pr/N` or a commit hash)."""
        with self._lock:
            repo = self._repos[(repo_type, repo_id)]
            commit = repo.resolve(revision)
            if commit is None:
                raise KeyError(f"{repo_type} repo {repo_id} has no revision {revision!r}")
            tree = dict(repo.commits[commit])
        return {path: entry.blob.read_bytes() for path, entry in sorted(tree.items())}

    def repo_exists(self, repo_id: str, repo_type: str = "dataset") -> bool:
        with self._lock:
            return (repo_type, repo_id) in self._repos

    @property
    def commits(self) -> list[dict[str, object]]:
        """Commits made through the commit API, oldest first (seeding via `add_file`/`add_repo` not included).

        Each: repo_id, repo_type, revision (the branch or `refs/pr/N` written), oid, parent, message,
        description, added (paths, regular and LFS), lfs (the LFS subset), deleted, pull_request (URL or None).
        """
        with self._lock:
            return [dict(c) for c in self._commit_log]

    @property
    def lfs_uploads(self) -> int:
        """How many LFS objects were PUT successfully (a retried PUT counts once)."""
        with self._lock:
            return len(self._lfs_uploads)

    @property
    def lfs_uploaded_oids(self) -> list[str]:
        with self._lock:
            return list(self._lfs_uploads)

    @property
    def xet_requests(self) -> list[tuple[str, str]]:
        """(method, path) of every request that looked like Xet traffic; tests assert this stays empty."""
        return [(m, p) for m, p in self.requests if "xet" in p.lower()]

    def conflict_next(self, count: int = 1, *, land_commit: bool = False) -> None:
        """Make the next `count` commit requests fail as a concurrent writer's race does on the Hub (412).

        With `land_commit=True` a foreign commit really lands on the branch first, so the head moves and a
        retry with the old `parent_commit` keeps failing until the writer refreshes it.
        """
        with self._lock:
            self._conflicts.extend([land_commit] * count)

    def client_env(self) -> dict[str, str]:
        """Environment for a client process (e.g. the `simian` CLI) that should talk to this double."""
        env = {"HF_ENDPOINT": self.url, "HF_HUB_DISABLE_XET": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}
        if self.token is not None:
            env["HF_TOKEN"] = self.token
        return env

    # -- storage ---------------------------------------------------------------------------------

    def _store(self, path: str, data: bytes, *, lfs: bool) -> HubFile:
        """Write `data` to the content-addressed store (atomically: threads may store the same blob)."""
        sha256 = hashlib.sha256(data).hexdigest()
        blob = self.root / "blobs" / sha256
        if not blob.exists():
            blob.parent.mkdir(parents=True, exist_ok=True)
            tmp = blob.with_name(f".{sha256}.{threading.get_ident()}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, blob)
        with self._lock:
            self._blobs[sha256] = blob
        return HubFile(path, len(data), sha256, _git_sha1(data), lfs, blob)

    def _land_commit(self, repo: _Repo, ref: str, tree: dict[str, HubFile], message: str) -> str:
        """Record `tree` as a new commit on `ref`. Caller holds the lock."""
        parent = repo.refs.get(ref, "")
        self._commit_counter += 1
        listing = "\n".join(f"{p} {e.etag}" for p, e in sorted(tree.items()))
        commit = hashlib.sha1(f"{parent}\n{message}\n{listing}\n{self._commit_counter}".encode()).hexdigest()
        repo.commits[commit] = tree
        repo.commit_times[commit] = _EPOCH + timedelta(seconds=self._commit_counter)
        repo.refs[ref] = commit
        return commit

    # -- auth and lookup -------------------------------------------------------------------------

    def _guard(
        self, handler: Callable[[Request], Response], *, repo_scoped: bool = True
    ) -> Callable[[Request], Response]:
        """Wrap a route handler with the token check (see the class docstring)."""

        def guarded(request: Request) -> Response:
            denied = self._auth_error(request, repo_scoped=repo_scoped)
            return denied if denied is not None else handler(request)

        guarded.__name__ = handler.__name__
        return guarded

    def _auth_error(self, request: Request, *, repo_scoped: bool) -> Response | None:
        if self.token is None:
            return None
        auth = request.header("authorization")
        if auth is None:
            if repo_scoped:  # the Hub cannot tell a private repo from a missing one to anonymous callers
                return _hub_error(401, "RepoNotFound", "Repository not found")
            return _hub_error(401, None, "You must be authenticated to access this resource")
        if auth != f"Bearer {self.token}":
            return _hub_error(401, None, INVALID_TOKEN_MESSAGE)
        return None

    def _lookup(self, request: Request) -> tuple[_Repo | None, Response | None]:
        """The repo named by the route, or the error the Hub gives (401 anonymous / 404 authenticated)."""
        params = request.params
        if "plural" in params:
            repo_type = _PLURAL_TYPE[params["plural"]]
        else:
            repo_type = _PREFIX_TYPE.get(params.get("prefix", ""), "model")
        repo_id = f"{params['namespace']}/{params['name']}"
        authed = request.header("authorization") is not None
        with self._lock:
            repo = self._repos.get((repo_type, repo_id))
        if repo is None or (repo.private and not authed):
            return None, _hub_error(404 if authed else 401, "RepoNotFound", "Repository not found")
        return repo, None

    # -- downloads -------------------------------------------------------------------------------

    def _resolve(self, request: Request) -> Response:
        denied = self._auth_error(request, repo_scoped=True)
        if denied is not None:
            return denied
        repo, error = self._lookup(request)
        if repo is None:
            return error or _hub_error(404, "RepoNotFound", "Repository not found")
        revision, path = request.params["revision"], request.params["path"]
        with self._lock:
            commit = repo.resolve(revision)
            entry = repo.commits[commit].get(path) if commit else None
        if commit is None:
            return _hub_error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        if entry is None:
            return _hub_error(404, "EntryNotFound", "Entry not found", {"X-Repo-Commit": commit})

        headers = {
            "X-Repo-Commit": commit,
            "ETag": f'"{entry.etag}"',
            "Accept-Ranges": "bytes",
            "Content-Type": "application/octet-stream",
            "Content-Disposition": f'inline; filename="{path.rsplit("/", 1)[-1]}"',
        }
        if entry.lfs:
            headers["X-Linked-Etag"] = f'"{entry.sha256}"'
            headers["X-Linked-Size"] = str(entry.size)
            if self.lfs_redirect:
                cdn = self.lfs_cdn or self.url.replace("127.0.0.1", "localhost")
                headers["Location"] = f"{cdn}/_lfs/{entry.sha256}"
                return Response(302, headers, b"")
        data = entry.blob.read_bytes()
        with self._lock:
            corrupt = (repo.repo_id, path) in self._corrupt
        if corrupt:  # same headers (etag, size), other bytes: what a hostile mirror or a broken CDN serves
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        return _serve_bytes(request, data, headers)

    def _lfs_blob(self, request: Request) -> Response:
        """The stand-in CDN: serves LFS content by sha256, no Hub headers, no auth check."""
        with self._lock:
            blob = self._blobs.get(request.params["sha256"])
        if blob is None:
            return Response(404, {"Content-Type": "text/plain"}, b"NoSuchKey")
        headers = {
            "ETag": f'"{request.params["sha256"]}"',
            "Accept-Ranges": "bytes",
            "Content-Type": "application/octet-stream",
        }
        return _serve_bytes(request, blob.read_bytes(), headers)

    # -- repo management and listing -------------------------------------------------------------

    def _create_repo(self, request: Request) -> Response:
        payload = _json_body(request)
        if not isinstance(payload, dict) or not isinstance(payload.get("name"), str):
            return _hub_error(400, None, "Invalid payload: missing repo name")
        repo_type = payload.get("type") or "model"
        if repo_type not in REPO_TYPES:
            return _hub_error(400, None, f"Invalid repo type: {repo_type}")
        namespace = payload.get("organization") or self.user
        repo_id = f"{namespace}/{payload['name']}"
        url = self._repo_url(repo_type, repo_id)
        with self._lock:
            exists = (repo_type, repo_id) in self._repos
        if exists:
            return Response.json({"error": f"You already created this {repo_type} repo", "url": url}, status=409)
        private = payload.get("visibility") == "private" or bool(payload.get("private"))
        try:
            self.add_repo(repo_id, repo_type, private=private)
        except ValueError:  # lost a race with another create
            return Response.json({"error": f"You already created this {repo_type} repo", "url": url}, status=409)
        return Response.json({"url": url, "name": repo_id, "id": repo_id})

    def _repo_info(self, request: Request) -> Response:
        repo, error = self._lookup(request)
        if repo is None:
            return error or _hub_error(404, "RepoNotFound", "Repository not found")
        revision = request.params.get("revision", "main")
        with self._lock:
            commit = repo.resolve(revision)
            tree = dict(repo.commits.get(commit or "", {}))
            modified = repo.commit_times.get(commit or "")
            created = min(repo.commit_times.values(), default=_EPOCH)
        if commit is None:
            return _hub_error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        with_blobs = _truthy(request.query.get("blobs"))
        siblings = []
        for path, entry in sorted(tree.items()):
            sibling: dict[str, object] = {"rfilename": path}
            if with_blobs:
                sibling |= {"size": entry.size, "blobId": entry.blob_id}
                if entry.lfs:
                    sibling["lfs"] = {"sha256": entry.sha256, "size": entry.size, "pointerSize": len(entry.pointer)}
            siblings.append(sibling)
        return Response.json(
            {
                "_id": hashlib.sha1(f"{repo.repo_type}/{repo.repo_id}".encode()).hexdigest()[:24],
                "id": repo.repo_id,
                "author": repo.repo_id.split("/")[0],
                "sha": commit,
                "createdAt": _iso(created),
                "lastModified": _iso(modified or created),
                "private": repo.private,
                "gated": False,
                "disabled": False,
                "downloads": 0,
                "likes": 0,
                "tags": [],
                "siblings": siblings,
                "usedStorage": sum(e.size for e in tree.values()),
            }
        )

    def _tree(self, request: Request) -> Response:
        """`list_repo_tree`: one page (no `Link: rel="next"`); directories included, like the Hub."""
        repo, tree, error = self._tree_at(request)
        if repo is None or tree is None:
            return error or _hub_error(404, "RepoNotFound", "Repository not found")
        base = request.params.get("path", "").strip("/")
        recursive = _truthy(request.query.get("recursive"))
        if base and base not in _folders(tree) and base not in tree:
            return _hub_error(404, "EntryNotFound", f"{base} does not exist on the revision")
        prefix = f"{base}/" if base else ""
        entries = []
        for path in sorted(set(tree) | _folders(tree)):
            if not path.startswith(prefix):
                continue
            if not recursive and "/" in path[len(prefix) :]:
                continue
            entries.append(_tree_entry(path, tree))
        return Response.json(entries)

    def _paths_info(self, request: Request) -> Response:
        repo, tree, error = self._tree_at(request)
        if repo is None or tree is None:
            return error or _hub_error(404, "RepoNotFound", "Repository not found")
        form = parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True)
        folders = _folders(tree)
        paths = [p.strip("/") for p in form.get("paths", [])]
        return Response.json([_tree_entry(p, tree) for p in paths if p in tree or p in folders])

    def _tree_at(self, request: Request) -> tuple[_Repo | None, dict[str, HubFile] | None, Response | None]:
        repo, error = self._lookup(request)
        if repo is None:
            return None, None, error
        revision = request.params["revision"]
        with self._lock:
            commit = repo.resolve(revision)
            tree = dict(repo.commits[commit]) if commit else None
        if tree is None:
            return repo, None, _hub_error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        return repo, tree, None

    def _validate_yaml(self, request: Request) -> Response:
        """Accept any README.md whose front matter, if present, is closed (the real check is much stricter)."""
        content = str((_json_body(request) or {}).get("content", ""))
        lines = content.splitlines()
        if lines and lines[0].strip() == "---" and "---" not in (line.strip() for line in lines[1:]):
            return Response.json({"errors": [{"message": "Unclosed YAML front matter"}], "warnings": []}, 400)
        return Response.json({"errors": [], "warnings": []})

    def _whoami(self, request: Request) -> Response:
        if request.header("authorization") is None:
            return _hub_error(401, None, "Invalid username or password.")
        return Response.json(
            {
                "type": "user",
                "id": hashlib.sha1(self.user.encode()).hexdigest()[:24],
                "name": self.user,
                "fullname": "Hub test double user",
                "orgs": [],
                "auth": {"type": "access_token", "accessToken": {"displayName": "test-double", "role": "write"}},
            }
        )

    def _xet_refused(self, request: Request) -> Response:
        """No Xet here: a client that asks for a xet token was not started with HF_HUB_DISABLE_XET=1."""
        logger.warning("%s: client asked for Xet (%s); set HF_HUB_DISABLE_XET=1", self.server_name, request.path)
        return _hub_error(
            403, None, "HubTestDouble does not implement Xet storage; run the client with HF_HUB_DISABLE_XET=1"
        )

    # -- uploads ---------------------------------------------------------------------------------

    def _preupload(self, request: Request) -> Response:
        repo, error = self._lookup(request)
        if repo is None:
            return error or _hub_error(404, "RepoNotFound", "Repository not found")
        payload = _json_body(request)
        files = payload.get("files") if isinstance(payload, dict) else None
        if not isinstance(files, list):
            return _hub_error(400, None, "Invalid payload: expected {'files': [...]}")
        revision = request.params["revision"]
        create_pr = _truthy(request.query.get("create_pr"))
        with self._lock:
            commit = repo.resolve(revision) or (repo.refs.get("main") if create_pr else None)
            tree = dict(repo.commits[commit]) if commit else None
        if tree is None:
            return _hub_error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        lfs_patterns = _lfs_patterns(tree.get(".gitattributes"))
        ignore_patterns = _gitignore_patterns(payload.get("gitIgnore"), tree.get(".gitignore"))
        answers = []
        for item in files:
            if not isinstance(item, dict) or not isinstance(item.get("path"), str):
                return _hub_error(400, None, "Invalid payload: each file needs a path")
            path = item["path"]
            try:
                sample = base64.b64decode(item.get("sample") or "", validate=True)
            except ValueError:
                return _hub_error(400, None, f"Invalid base64 sample for {path}")
            size = int(item.get("size") or 0)
            lfs = size >= _LFS_THRESHOLD or _matches(path, lfs_patterns) or not _sample_is_text(sample)
            answer: dict[str, object] = {
                "path": path,
                "uploadMode": "lfs" if lfs else "regular",
                "shouldIgnore": _matches(path, ignore_patterns, folders=True),
            }
            if path in tree:
                answer["oid"] = tree[path].preupload_oid
            answers.append(answer)
        return Response.json({"files": answers, "commitOid": commit})

    def _lfs_batch(self, request: Request) -> Response:
        """Git LFS batch API, upload only, "basic" transfer only: never "multipart", never "xet"."""
        repo, error = self._lookup(request)
        if repo is None:
            return error or _hub_error(404, "RepoNotFound", "Repository not found")
        payload = _json_body(request)
        if not isinstance(payload, dict) or not isinstance(payload.get("objects"), list):
            return _lfs_error(422, "Invalid batch request: expected objects")
        if payload.get("operation") != "upload":
            return _lfs_error(422, f"HubTestDouble only implements upload, not {payload.get('operation')!r}")
        if "basic" not in (payload.get("transfers") or ["basic"]):
            return _lfs_error(422, "HubTestDouble only offers the basic transfer")
        objects = []
        for obj in payload["objects"]:
            oid, size = (obj.get("oid"), obj.get("size")) if isinstance(obj, dict) else (None, None)
            if not isinstance(oid, str) or not _SHA256.fullmatch(oid) or not isinstance(size, int) or size < 0:
                objects.append(
                    {"oid": str(oid), "size": size if isinstance(size, int) else 0, "error": _bad_object(oid)}
                )
                continue
            with self._lock:
                present = oid in repo.lfs_objects
            if present:
                objects.append({"oid": oid, "size": size})  # no actions: the client skips the upload
                continue
            plural = _URL_PREFIX[repo.repo_type] or "models"
            objects.append(
                {
                    "oid": oid,
                    "size": size,
                    "authenticated": True,
                    "actions": {
                        "upload": {"href": f"{self.url}/_lfs_upload/{plural}/{repo.repo_id}/{oid}?size={size}"},
                        "verify": {"href": f"{self.url}/{repo.url_path}.git/info/lfs/objects/verify"},
                    },
                }
            )
        body = {"transfer": "basic", "objects": objects, "hash_algo": "sha256"}
        return Response(200, {"Content-Type": "application/vnd.git-lfs+json"}, json.dumps(body).encode())

    def _lfs_put(self, request: Request) -> Response:
        """The upload href (an S3 presigned URL on the real Hub): no auth; content must match oid and size."""
        repo_type = _PLURAL_TYPE[request.params["plural"]]
        with self._lock:
            repo = self._repos.get((repo_type, f"{request.params['namespace']}/{request.params['name']}"))
        if repo is None:
            return Response(404, {"Content-Type": "text/plain"}, b"NoSuchUpload")
        oid = request.params["oid"]
        expected = request.query.get("size", [None])[0]
        if hashlib.sha256(request.body).hexdigest() != oid or (
            expected is not None and int(expected) != len(request.body)
        ):
            return Response(400, {"Content-Type": "text/plain"}, b"BadDigest: content does not match the LFS oid")
        self._store("", request.body, lfs=True)
        with self._lock:
            repo.lfs_objects.add(oid)
            self._lfs_uploads.append(oid)
        return Response(200, {"ETag": f'"{hashlib.md5(request.body).hexdigest()}"'}, b"")

    def _lfs_verify(self, request: Request) -> Response:
        repo, error = self._lookup(request)
        if repo is None:
            return error or _hub_error(404, "RepoNotFound", "Repository not found")
        payload = _json_body(request) or {}
        oid, size = payload.get("oid"), payload.get("size")
        with self._lock:
            present = oid in repo.lfs_objects
            blob = self._blobs.get(str(oid))
        if not present or blob is None or blob.stat().st_size != size:
            return _lfs_error(404, f"LFS object {oid} was not uploaded (or has another size)")
        return Response.json({"success": True})

    def _commit(self, request: Request) -> Response:
        repo, error = self._lookup(request)
        if repo is None:
            return error or _hub_error(404, "RepoNotFound", "Repository not found")
        try:
            lines = [json.loads(line) for line in request.body.decode("utf-8").splitlines() if line.strip()]
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return _hub_error(400, None, f"Invalid NDJSON commit payload: {exc}")
        if not lines or not isinstance(lines[0], dict) or lines[0].get("key") != "header":
            return _hub_error(400, None, "Invalid commit payload: the first line must be the header")
        header = lines[0].get("value") or {}
        summary = str(header.get("summary") or "")
        if not summary:
            return _hub_error(400, None, "Invalid commit payload: empty summary")
        parent = header.get("parentCommit")
        if parent is not None and not (isinstance(parent, str) and _COMMIT_OID.fullmatch(parent)):
            return _hub_error(400, None, f"Invalid parentCommit: {parent!r}")

        # Turn file lines into store entries before taking the lock (base64 decode, disk writes).
        additions: dict[str, HubFile | str] = {}  # path -> stored regular file, or the sha256 of an LFS object
        deletions: list[tuple[str, bool]] = []
        for line in lines[1:]:
            key, value = (line.get("key"), line.get("value")) if isinstance(line, dict) else (None, None)
            path = value.get("path") if isinstance(value, dict) else None
            if not isinstance(path, str) or not path or path.startswith("/") or ".." in path.split("/"):
                return _hub_error(400, None, f"Invalid commit operation: {line!r}")
            if key == "file":
                try:
                    data = base64.b64decode(value.get("content") or "", validate=True)
                except ValueError:
                    return _hub_error(400, None, f"Invalid base64 content for {path}")
                if len(data) > _LFS_THRESHOLD:
                    return _hub_error(
                        400, None, "Your push was rejected because it contains files larger than 10 MiB (use LFS)"
                    )
                additions[path] = self._store(path, data, lfs=False)
            elif key == "lfsFile":
                oid = value.get("oid")
                if not isinstance(oid, str) or not _SHA256.fullmatch(oid):
                    return _hub_error(400, None, f"Invalid LFS oid for {path}")
                additions[path] = oid
            elif key in ("deletedFile", "deletedFolder"):
                deletions.append((path.rstrip("/"), key == "deletedFolder"))
            else:
                return _hub_error(400, None, f"Unknown commit operation key: {key!r}")

        branch = request.params["revision"]
        create_pr = _truthy(request.query.get("create_pr"))
        with self._lock:
            head = repo.refs.get(branch)
            if head is None:
                return _hub_error(404, "RevisionNotFound", f"Invalid rev id: {branch} (not a branch)")
            if self._conflicts:
                if self._conflicts.pop(0):
                    self._land_commit(repo, branch, dict(repo.commits[head]), "Concurrent commit (test double)")
                return _hub_error(412, None, CONFLICT_MESSAGE)
            base = head
            if parent is not None:
                matches = [c for c in repo.commits if c.startswith(parent.lower())]
                if create_pr and len(matches) == 1:
                    base = matches[0]  # a PR branches off parent_commit
                elif not create_pr and not head.startswith(parent.lower()):
                    return _hub_error(412, None, CONFLICT_MESSAGE)
            tree = dict(repo.commits[base])
            for path, is_folder in deletions:
                doomed = [p for p in tree if p.startswith(f"{path}/")] if is_folder else [p for p in tree if p == path]
                if not doomed:
                    return _hub_error(404, "EntryNotFound", f"A file with this name doesn't exist: {path}")
                for p in doomed:
                    del tree[p]
            lfs_paths = []
            for path, added in additions.items():
                if isinstance(added, HubFile):
                    tree[path] = added
                    continue
                blob = self._blobs.get(added)
                if added not in repo.lfs_objects or blob is None:
                    message = "Your push was rejected because an LFS pointer pointed to a file that does not exist"
                    return _hub_error(400, None, f"{message}: {path}")
                tree[path] = HubFile(path, blob.stat().st_size, added, _git_sha1(blob.read_bytes()), True, blob)
                lfs_paths.append(path)
            if self.limits is not None:
                repo_key = (repo.repo_type, repo.repo_id)
                recent = [t for t in self._commit_clock.get(repo_key, []) if time.monotonic() - t < 3600.0]
                if len(recent) >= self.limits.commits_per_hour:
                    message = "You have exceeded our hourly quotas for action: commit. We invite you to retry later."
                    return _hub_error(429, None, message, {"Retry-After": "3600"})
                problem = self.limits.problem(tree, len(additions))
                if problem is not None:
                    return _hub_error(400, None, f"Your push was rejected (test double, Hub limits): {problem}")
                self._commit_clock[repo_key] = [*recent, time.monotonic()]
            pr_url = None
            ref = branch
            if create_pr:
                repo.pull_requests += 1
                ref = f"refs/pr/{repo.pull_requests}"
                repo.refs[ref] = base
                pr_url = f"{self._repo_url(repo.repo_type, repo.repo_id)}/discussions/{repo.pull_requests}"
            commit = self._land_commit(repo, ref, tree, summary)
            self._commit_log.append(
                {
                    "repo_id": repo.repo_id,
                    "repo_type": repo.repo_type,
                    "revision": ref,
                    "oid": commit,
                    "parent": base,
                    "message": summary,
                    "description": str(header.get("description") or ""),
                    "added": sorted(additions),
                    "lfs": sorted(lfs_paths),
                    "deleted": [p for p, _ in deletions],
                    "pull_request": pr_url,
                }
            )
        body: dict[str, object] = {
            "success": True,
            "commitOid": commit,
            "commitUrl": f"{self._repo_url(repo.repo_type, repo.repo_id)}/commit/{commit}",
        }
        if pr_url is not None:
            body["pullRequestUrl"] = pr_url
        return Response.json(body)

    # -- errors ----------------------------------------------------------------------------------

    def _repo_url(self, repo_type: str, repo_id: str) -> str:
        prefix = _URL_PREFIX[repo_type]
        return f"{self.url}/{prefix}/{repo_id}" if prefix else f"{self.url}/{repo_id}"

    def fault_response(self, request: Request, status: int, headers: dict[str, str]) -> Response:
        """Injected failures look like the Hub's, so the client builds its usual exceptions from them."""
        message = {
            401: INVALID_TOKEN_MESSAGE,
            403: "You don't have the rights to perform this action (injected fault)",
            412: CONFLICT_MESSAGE,
            429: "You have been rate-limited (injected fault)",
        }.get(status, f"Injected fault: HTTP {status}")
        extra = dict(headers)
        retry_after = extra.get("Retry-After", "")
        if status == 429 and retry_after.isdigit() and not any(k.lower() == "ratelimit" for k in extra):
            extra["RateLimit"] = f'"api";r=0;t={retry_after}'  # the Hub sends both; the client prefers this one
            extra["RateLimit-Policy"] = '"fixed window";"api";q=1000;w=300'
        return _hub_error(status, None, message, extra)

    def not_found(self, request: Request) -> Response:
        return _hub_error(404, None, f"Sorry, we can't find the page you are looking for ({request.path})")


@contextlib.contextmanager
def client_xet_disabled() -> Iterator[None]:
    """Make an in-process huggingface_hub client upload over plain LFS instead of Xet, then restore it.

    huggingface_hub reads HF_HUB_DISABLE_XET into `huggingface_hub.constants` at import time and consults that
    attribute on every upload, so both the environment (for later imports and child processes) and an
    already-imported module are patched. Stdlib only: the client module is looked up, never imported here.
    """
    old_env = os.environ.get("HF_HUB_DISABLE_XET")
    os.environ["HF_HUB_DISABLE_XET"] = "1"
    constants = sys.modules.get("huggingface_hub.constants")
    old_value = getattr(constants, "HF_HUB_DISABLE_XET", None) if constants is not None else None
    if constants is not None:
        constants.HF_HUB_DISABLE_XET = True
    try:
        yield
    finally:
        if old_env is None:
            os.environ.pop("HF_HUB_DISABLE_XET", None)
        else:
            os.environ["HF_HUB_DISABLE_XET"] = old_env
        constants = sys.modules.get("huggingface_hub.constants")
        if constants is not None:
            constants.HF_HUB_DISABLE_XET = bool(old_value)


def _hub_error(status: int, code: str | None, message: str, extra: dict[str, str] | None = None) -> Response:
    headers = {"X-Error-Message": message, **(extra or {})}
    if code is not None:
        headers["X-Error-Code"] = code
    return Response.json({"error": message}, status=status, headers=headers)


def _lfs_error(status: int, message: str) -> Response:
    body = json.dumps({"message": message}).encode()
    return Response(status, {"Content-Type": "application/vnd.git-lfs+json"}, body)


def _bad_object(oid: object) -> dict[str, object]:
    return {"code": 422, "message": f"Invalid object: oid {oid!r} is not a sha256 or size is invalid"}


_RANGE = re.compile(r"bytes=(\d+)-(\d*)")


def _serve_bytes(request: Request, data: bytes, headers: dict[str, str]) -> Response:
    """Full body, or a 206 slice for a single `Range: bytes=a-[b]` (how the client resumes)."""
    match = _RANGE.fullmatch(request.header("range") or "")
    if match is None:
        return Response(200, headers, data)
    start = int(match.group(1))
    end = int(match.group(2)) if match.group(2) else len(data) - 1
    if start >= len(data) or end < start:
        return Response(416, {**headers, "Content-Range": f"bytes */{len(data)}"}, b"")
    end = min(end, len(data) - 1)
    return Response(206, {**headers, "Content-Range": f"bytes {start}-{end}/{len(data)}"}, data[start : end + 1])


def _check_repo(repo_id: str, repo_type: str) -> None:
    if repo_type not in REPO_TYPES:
        raise ValueError(f"repo_type must be one of {REPO_TYPES}, not {repo_type!r}")
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise ValueError(f"bad repo_id {repo_id!r}")


def _git_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _truthy(values: list[str] | None) -> bool:
    return bool(values) and values[-1].lower() in ("1", "true", "yes")


def _json_body(request: Request) -> object:
    try:
        return json.loads(request.body or b"null")
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None


def _folders(tree: dict[str, HubFile]) -> set[str]:
    return {path.rsplit("/", depth)[0] for path in tree for depth in range(1, path.count("/") + 1)}


def _tree_entry(path: str, tree: dict[str, HubFile]) -> dict[str, object]:
    """One item of the tree / paths-info APIs: {type, oid, size, path[, lfs]}."""
    entry = tree.get(path)
    if entry is None:  # a folder: any stable oid will do
        children = "\n".join(f"{p} {e.blob_id}" for p, e in sorted(tree.items()) if p.startswith(f"{path}/"))
        return {"type": "directory", "oid": hashlib.sha1(children.encode()).hexdigest(), "size": 0, "path": path}
    item: dict[str, object] = {"type": "file", "oid": entry.blob_id, "size": entry.size, "path": path}
    if entry.lfs:
        item["lfs"] = {"oid": entry.sha256, "size": entry.size, "pointerSize": len(entry.pointer)}
    return item


def _lfs_patterns(gitattributes: HubFile | None) -> list[str]:
    if gitattributes is None:
        return []
    patterns = []
    for line in gitattributes.blob.read_bytes().decode("utf-8", "replace").splitlines():
        fields = line.split()
        if fields and not fields[0].startswith("#") and "filter=lfs" in fields[1:]:
            patterns.append(fields[0])
    return patterns


def _gitignore_patterns(sent: object, stored: HubFile | None) -> list[str]:
    """The `gitIgnore` the client sent, else the revision's `.gitignore` (blank lines/comments/negations dropped)."""
    text = sent if isinstance(sent, str) else stored.blob.read_bytes().decode("utf-8", "replace") if stored else ""
    return [line.strip() for line in text.splitlines() if line.strip() and line.strip()[0] not in "#!"]


def _matches(path: str, patterns: list[str], *, folders: bool = False) -> bool:
    """gitattributes-style match (patterns without "/" match the basename at any depth).

    With `folders` (gitignore), a pattern matching any parent folder name also matches.
    """
    parts = path.split("/")
    for pattern in patterns:
        anchored = pattern.strip("/")
        if "/" in anchored:
            if fnmatch.fnmatchcase(path, anchored):
                return True
        elif fnmatch.fnmatchcase(parts[-1], anchored) or (
            folders and any(fnmatch.fnmatchcase(part, anchored) for part in parts[:-1])
        ):
            return True
    return False


def _sample_is_text(sample: bytes) -> bool:
    """Like the Hub's binary sniffing on the 512-byte sample: no NUL and valid UTF-8 (a cut last char is fine)."""
    if b"\0" in sample:
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _looks_like_text(data: bytes) -> bool:
    if b"\0" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
