"""A TEST DOUBLE for the Hugging Face Hub. It is not the Hub and shares no code with it.

`HubTestDouble` is a local threaded HTTP server that speaks the small part of the Hub's HTTP protocol that
`huggingface_hub.hf_hub_download` (checked against huggingface_hub 2.4) uses to download a file:

    HEAD / GET  /{datasets/|spaces/|kernels/}{namespace}/{name}/resolve/{revision}/{path}

What huggingface_hub 2.4 needs from those responses (see `file_download.get_hf_file_metadata` and
`_get_metadata_or_catch_error`):

- `X-Repo-Commit`: the 40-hex commit the revision resolved to. Without it the client refuses the answer
  ("does not seem to be served by a Hugging Face Hub endpoint").
- `ETag` (git blob sha1 for regular files) or `X-Linked-Etag` (sha256 for LFS files): the cache key; the
  blob is stored under `blobs/<etag>` and shared across commits.
- `X-Linked-Size` for LFS files, else `Content-Length`: the expected size, checked after download.
- Errors carry `X-Error-Code` (`RepoNotFound`, `RevisionNotFound`, `EntryNotFound`), which the client maps
  to its typed exceptions; a 404 `EntryNotFound` also carries `X-Repo-Commit` (the client caches the miss).
- No `X-Xet-Hash` / `X-Xet-Refresh-Route` / `Link: ...; rel="xet-auth"` headers: their absence is what keeps
  the client on plain HTTP instead of the Xet protocol, even with `hf_xet` installed.
- `Range: bytes=N-` is honoured (206), since the client resumes interrupted downloads that way.

With `lfs_redirect=True`, LFS files are answered like the real Hub does: a 302 whose `Location` points at
another origin (`http://localhost:<port>/_lfs/<sha256>`, standing in for the CDN), carrying the metadata
headers itself. The client then reads metadata from the redirect and downloads from the "CDN" without
sending its token there.

The routing table also names the upload/repo-management endpoints a later version may implement (repo
create/info, preupload, commit, LFS batch); today they answer 501.

Files live on disk under the `root` given to the constructor, content-addressed by sha256; every
`add_file` makes a new commit, and older commits stay resolvable by their hash.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from tests.doubles import HttpTestDouble, Request, Response

logger = logging.getLogger(__name__)

REPO_TYPES = ("model", "dataset", "space", "kernel")
_URL_PREFIX = {"dataset": "datasets", "space": "spaces", "kernel": "kernels", "model": ""}
_PREFIX_TYPE = {"datasets": "dataset", "spaces": "space", "kernels": "kernel"}
_LFS_THRESHOLD = 10 * 1024 * 1024
_SEGMENT = r"[^/]+"
_REPO = rf"(?:(?P<prefix>datasets|spaces|kernels)/)?(?P<namespace>{_SEGMENT})/(?P<name>{_SEGMENT})"
_API_REPO = rf"(?P<plural>models|datasets|spaces|kernels)/(?P<namespace>{_SEGMENT})/(?P<name>{_SEGMENT})"


@dataclass(frozen=True)
class HubFile:
    """One file of one commit, as the double stores it."""

    path: str
    size: int
    sha256: str
    git_sha1: str
    lfs: bool
    blob: Path

    @property
    def etag(self) -> str:
        return self.sha256 if self.lfs else self.git_sha1


@dataclass
class _Repo:
    repo_type: str
    repo_id: str
    commits: dict[str, dict[str, HubFile]] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)

    def resolve(self, revision: str) -> str | None:
        if revision in self.refs:
            return self.refs[revision]
        return revision if revision in self.commits else None


class HubTestDouble(HttpTestDouble):
    """A test double for the Hugging Face Hub's file-download protocol. Not the Hub.

    Usage::

        with HubTestDouble(tmp_path / "hub") as hub:
            hub.add_file("allenai/objaverse", "object-paths.json.gz", data)
            hf_hub_download(..., endpoint=hub.url)
            assert hub.count("GET", "object-paths") == 1
    """

    server_name = "hub-test-double"

    def __init__(self, root: Path, *, lfs_redirect: bool = False) -> None:
        super().__init__()
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.lfs_redirect = lfs_redirect
        self._repos: dict[tuple[str, str], _Repo] = {}
        self._blobs: dict[str, Path] = {}

        # Routing table. Order matters: the first match wins.
        self.route(("HEAD", "GET"), rf"/{_REPO}/resolve/(?P<revision>{_SEGMENT})/(?P<path>.+)", self._resolve)
        self.route(("HEAD", "GET"), r"/_lfs/(?P<sha256>[0-9a-f]{64})", self._lfs_blob)
        # Not implemented yet; listed so an extension knows where each endpoint plugs in.
        self.route("POST", r"/api/repos/create", self._not_implemented, "repo_create")
        self.route(
            "GET",
            rf"/api/{_API_REPO}(?:/revision/(?P<revision>{_SEGMENT}))?",
            self._not_implemented,
            "repo_info",
        )
        self.route(
            "POST",
            rf"/api/{_API_REPO}/preupload/(?P<revision>{_SEGMENT})",
            self._not_implemented,
            "preupload",
        )
        self.route(
            "POST", rf"/api/{_API_REPO}/commit/(?P<revision>{_SEGMENT})", self._not_implemented, "commit"
        )
        self.route("POST", rf"/{_REPO}\.git/info/lfs/objects/batch", self._not_implemented, "lfs_batch")

    # -- state -----------------------------------------------------------------------------------

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

        `lfs=None` guesses like a typical `.gitattributes`: binary or large files are LFS.
        """
        if repo_type not in REPO_TYPES:
            raise ValueError(f"repo_type must be one of {REPO_TYPES}, not {repo_type!r}")
        if repo_id.count("/") != 1 or path.startswith("/") or ".." in path.split("/"):
            raise ValueError(f"bad repo_id {repo_id!r} or path {path!r}")
        if lfs is None:
            lfs = len(data) >= _LFS_THRESHOLD or not _looks_like_text(data)
        sha256 = hashlib.sha256(data).hexdigest()
        git_sha1 = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        blob = self.root / "blobs" / sha256
        if not blob.exists():
            blob.parent.mkdir(parents=True, exist_ok=True)
            blob.write_bytes(data)
        entry = HubFile(path, len(data), sha256, git_sha1, lfs, blob)
        with self._lock:
            self._blobs[sha256] = blob
            repo = self._repos.setdefault((repo_type, repo_id), _Repo(repo_type, repo_id))
            parent = repo.refs.get(revision, "")
            tree = dict(repo.commits.get(parent, {}))
            tree[path] = entry
            commit = hashlib.sha1(f"{parent}\n{path}\n{sha256}\n{len(repo.commits)}".encode()).hexdigest()
            repo.commits[commit] = tree
            repo.refs[revision] = commit
        logger.debug("hub double: %s %s:%s -> commit %s", repo_type, repo_id, path, commit[:8])
        return commit

    def head_commit(self, repo_id: str, repo_type: str = "dataset", revision: str = "main") -> str:
        with self._lock:
            return self._repos[(repo_type, repo_id)].refs[revision]

    # -- handlers --------------------------------------------------------------------------------

    def _resolve(self, request: Request) -> Response:
        repo_type = _PREFIX_TYPE.get(request.params.get("prefix", ""), "model")
        repo_id = f"{request.params['namespace']}/{request.params['name']}"
        revision, path = request.params["revision"], request.params["path"]
        with self._lock:
            repo = self._repos.get((repo_type, repo_id))
            commit = repo.resolve(revision) if repo else None
            entry = repo.commits[commit].get(path) if repo and commit else None
        if repo is None:
            # The Hub answers 401 to anonymous callers for a missing repo (it might be private).
            status = 404 if request.header("authorization") else 401
            return _hub_error(status, "RepoNotFound", "Repository not found")
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
                cdn = self.url.replace("127.0.0.1", "localhost")
                headers["Location"] = f"{cdn}/_lfs/{entry.sha256}"
                return Response(302, headers, b"")
        return _serve_bytes(request, entry.blob.read_bytes(), headers)

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

    def _not_implemented(self, request: Request) -> Response:
        return Response.json(
            {"error": f"HubTestDouble does not implement {request.method} {request.path}"}, status=501
        )

    def not_found(self, request: Request) -> Response:
        return _hub_error(404, None, f"Sorry, we can't find the page you are looking for ({request.path})")


def _hub_error(status: int, code: str | None, message: str, extra: dict[str, str] | None = None) -> Response:
    headers = {"X-Error-Message": message, **(extra or {})}
    if code is not None:
        headers["X-Error-Code"] = code
    return Response.json({"error": message}, status=status, headers=headers)


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
    return Response(
        206, {**headers, "Content-Range": f"bytes {start}-{end}/{len(data)}"}, data[start : end + 1]
    )


def _looks_like_text(data: bytes) -> bool:
    if b"\0" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
