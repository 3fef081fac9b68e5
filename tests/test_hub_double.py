"""The Hub TEST DOUBLE (`tests.doubles.hub.HubTestDouble`) driven by the real `huggingface_hub.HfApi` client.

These pin down the protocol the publishing code relies on: if a huggingface_hub upgrade changes what the client
sends or expects, these fail here rather than deep inside a publish test.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from huggingface_hub import (
    CommitOperationAdd,
    CommitOperationDelete,
    HfApi,
    hf_hub_download,
    snapshot_download,
)
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

from tests.doubles.hub import CONFLICT_MESSAGE, HubTestDouble, client_xet_disabled

# huggingface_hub 2.4 itself PUTs LFS content with httpx2's deprecated `data=<file>`; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>' to upload raw bytes:DeprecationWarning")

REPO_ID = "simian-test/captioned-videos"
TOKEN = "hf_test_double_token"


def _mp4(seed: int, size: int = 4096) -> bytes:
    """Deterministic MP4-looking bytes: an `ftyp` box, then pseudo-random binary payload."""
    payload = b"".join(hashlib.sha256(f"{seed}:{i}".encode()).digest() for i in range(size // 32))
    return b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + payload


CLIPS = {"videos/clip_000.mp4": _mp4(0), "videos/clip_001.mp4": _mp4(1)}
METADATA = b'{"file": "videos/clip_000.mp4", "caption": "a red cube"}\n{"file": "videos/clip_001.mp4"}\n'


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubTestDouble]:
    with HubTestDouble(tmp_path / "hub", token=TOKEN) as double, client_xet_disabled():
        yield double
        assert double.xet_requests == []  # every upload went over plain LFS


@pytest.fixture
def api(hub: HubTestDouble) -> HfApi:
    api = HfApi(endpoint=hub.url, token=TOKEN)
    api.create_repo(REPO_ID, repo_type="dataset", private=True, exist_ok=True)
    return api


def _operations() -> list[CommitOperationAdd]:
    ops = [CommitOperationAdd(path, data) for path, data in CLIPS.items()]
    return [*ops, CommitOperationAdd("metadata.jsonl", METADATA)]


def _sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_create_repo_is_idempotent_and_conflicts_without_exist_ok(hub: HubTestDouble, api: HfApi) -> None:
    url = api.create_repo(REPO_ID, repo_type="dataset", exist_ok=True)
    assert url.repo_id == REPO_ID and url.repo_type == "dataset"
    with pytest.raises(HfHubHTTPError) as excinfo:
        api.create_repo(REPO_ID, repo_type="dataset")
    assert excinfo.value.response.status_code == 409
    assert api.list_repo_files(REPO_ID, repo_type="dataset") == [".gitattributes"]  # the Hub's initial commit


def test_one_commit_uploads_lfs_and_regular_files_and_serves_them(
    hub: HubTestDouble, api: HfApi, tmp_path: Path
) -> None:
    info = api.create_commit(REPO_ID, _operations(), commit_message="Add 2 clips", repo_type="dataset")

    assert [c["oid"] for c in hub.commits] == [info.oid] == [hub.head_commit(REPO_ID)]
    commit = hub.commits[0]
    assert commit["message"] == "Add 2 clips"
    assert commit["added"] == sorted([*CLIPS, "metadata.jsonl"])
    assert commit["lfs"] == sorted(CLIPS)  # binaries went LFS, the JSONL went inline in the commit
    assert hub.lfs_uploads == 2 and sorted(hub.lfs_uploaded_oids) == sorted(
        hashlib.sha256(d).hexdigest() for d in CLIPS.values()
    )
    assert hub.count("PUT", "/_lfs_upload/") == 2
    files = hub.repo_files(REPO_ID)
    assert files.pop(".gitattributes").startswith(b"*.7z filter=lfs")
    assert files == {**CLIPS, "metadata.jsonl": METADATA}

    for path, data in [*CLIPS.items(), ("metadata.jsonl", METADATA)]:
        local = hf_hub_download(
            REPO_ID, path, repo_type="dataset", endpoint=hub.url, token=TOKEN, cache_dir=tmp_path / "cache"
        )
        assert _sha256(local) == hashlib.sha256(data).hexdigest()
    snapshot = Path(
        snapshot_download(REPO_ID, repo_type="dataset", endpoint=hub.url, token=TOKEN, cache_dir=tmp_path / "snap")
    )
    assert snapshot.name == info.oid
    assert (snapshot / "videos" / "clip_001.mp4").read_bytes() == CLIPS["videos/clip_001.mp4"]

    assert api.list_repo_files(REPO_ID, repo_type="dataset") == [".gitattributes", "metadata.jsonl", *sorted(CLIPS)]
    paths = api.get_paths_info(REPO_ID, [*CLIPS, "metadata.jsonl", "missing.mp4"], repo_type="dataset")
    by_path = {p.path: p for p in paths}
    assert set(by_path) == {*CLIPS, "metadata.jsonl"}
    for path, data in CLIPS.items():
        lfs = by_path[path].lfs
        assert lfs is not None and lfs.sha256 == hashlib.sha256(data).hexdigest() and lfs.size == len(data)
    assert by_path["metadata.jsonl"].lfs is None and by_path["metadata.jsonl"].size == len(METADATA)

    dataset = api.dataset_info(REPO_ID, files_metadata=True)
    assert dataset.sha == info.oid and dataset.private is True
    siblings = {s.rfilename: s for s in dataset.siblings or []}
    assert siblings["videos/clip_000.mp4"].lfs is not None and siblings["metadata.jsonl"].lfs is None
    assert api.file_exists(REPO_ID, "videos/clip_000.mp4", repo_type="dataset")
    assert not api.file_exists(REPO_ID, "videos/clip_999.mp4", repo_type="dataset")


def test_unchanged_files_are_neither_uploaded_nor_committed_again(hub: HubTestDouble, api: HfApi) -> None:
    api.create_commit(REPO_ID, _operations(), commit_message="first", repo_type="dataset")
    again = api.create_commit(REPO_ID, _operations(), commit_message="same again", repo_type="dataset")
    assert len(hub.commits) == 1 and again.oid == hub.head_commit(REPO_ID)  # preupload reported matching oids
    assert hub.lfs_uploads == 2


def test_stale_parent_commit_is_a_412_conflict(hub: HubTestDouble, api: HfApi) -> None:
    parent = api.dataset_info(REPO_ID).sha
    api.create_commit(REPO_ID, _operations(), commit_message="someone else", repo_type="dataset")

    with pytest.raises(HfHubHTTPError) as excinfo:
        api.create_commit(
            REPO_ID,
            [CommitOperationAdd("late.jsonl", b"{}\n")],
            commit_message="stale",
            repo_type="dataset",
            parent_commit=parent,
        )
    assert excinfo.value.response.status_code == 412
    assert CONFLICT_MESSAGE in str(excinfo.value)
    assert len(hub.commits) == 1

    fresh = api.create_commit(
        REPO_ID,
        [CommitOperationAdd("late.jsonl", b"{}\n")],
        commit_message="rebased",
        repo_type="dataset",
        parent_commit=hub.head_commit(REPO_ID),
    )
    assert hub.commits[-1]["parent"] == hub.commits[0]["oid"] and fresh.oid == hub.head_commit(REPO_ID)


def test_racing_writers_with_the_same_parent_one_wins(hub: HubTestDouble, api: HfApi) -> None:
    parent = hub.head_commit(REPO_ID)
    outcomes: list[int] = []

    def write(i: int) -> None:
        try:
            ops = [CommitOperationAdd(f"shard_{i}.jsonl", b'{"i": %d}\n' % i)]
            api.create_commit(REPO_ID, ops, commit_message=f"w{i}", repo_type="dataset", parent_commit=parent)
            outcomes.append(200)
        except HfHubHTTPError as exc:
            outcomes.append(exc.response.status_code)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == [200, 412] and len(hub.commits) == 1


def test_conflict_next_can_move_the_head_like_a_concurrent_writer(hub: HubTestDouble, api: HfApi) -> None:
    before = hub.head_commit(REPO_ID)
    hub.conflict_next(land_commit=True)
    with pytest.raises(HfHubHTTPError) as excinfo:
        api.create_commit(REPO_ID, _operations(), commit_message="loses the race", repo_type="dataset")
    assert excinfo.value.response.status_code == 412
    assert hub.head_commit(REPO_ID) != before and hub.commits == []

    api.create_commit(REPO_ID, _operations(), commit_message="retry", repo_type="dataset")
    assert [c["message"] for c in hub.commits] == ["retry"]
    assert hub.lfs_uploads == 2  # the retry found the LFS objects already stored


def test_injected_429_on_commit_surfaces_with_retry_after(hub: HubTestDouble, api: HfApi) -> None:
    hub.fail_next(429, path_contains="/commit/", method="POST", retry_after=1)
    with pytest.raises(HfHubHTTPError) as excinfo:
        api.create_commit(REPO_ID, _operations(), commit_message="rate limited", repo_type="dataset")
    assert excinfo.value.response.status_code == 429
    assert excinfo.value.response.headers["Retry-After"] == "1"
    assert hub.count("POST", "/commit/") == 1  # the client does not retry commits itself
    assert hub.commits == []


@pytest.mark.parametrize("status", [500, 403])
def test_injected_errors_on_commit_surface_as_http_errors(hub: HubTestDouble, api: HfApi, status: int) -> None:
    hub.fail_next(status, path_contains="/commit/", method="POST")
    with pytest.raises(HfHubHTTPError) as excinfo:
        api.create_commit(REPO_ID, _operations(), commit_message="fails", repo_type="dataset")
    assert excinfo.value.response.status_code == status


def test_wrong_or_missing_token_is_refused(hub: HubTestDouble, api: HfApi) -> None:
    intruder = HfApi(endpoint=hub.url, token="hf_wrong_token")
    with pytest.raises(HfHubHTTPError) as excinfo:
        intruder.create_commit(REPO_ID, _operations(), commit_message="nope", repo_type="dataset")
    assert excinfo.value.response.status_code == 401
    assert not isinstance(excinfo.value, RepositoryNotFoundError)
    assert "Invalid credentials in Authorization header" in str(excinfo.value)

    with pytest.raises(RepositoryNotFoundError) as missing:  # anonymous: the Hub hides the repo
        HfApi(endpoint=hub.url, token=False).dataset_info(REPO_ID)
    assert missing.value.response.status_code == 401
    assert hub.commits == [] and hub.lfs_uploads == 0


def test_deletions_and_pull_requests(hub: HubTestDouble, api: HfApi) -> None:
    api.create_commit(REPO_ID, _operations(), commit_message="add", repo_type="dataset")
    pr = api.create_commit(
        REPO_ID,
        [CommitOperationDelete("videos/"), CommitOperationAdd("README.md", b"---\nlicense: mit\n---\n# Videos\n")],
        commit_message="drop the videos",
        repo_type="dataset",
        create_pr=True,
    )
    assert pr.pr_revision == "refs/pr/1" and pr.pr_num == 1
    assert set(hub.repo_files(REPO_ID, revision="refs/pr/1")) == {".gitattributes", "README.md", "metadata.jsonl"}
    assert set(hub.repo_files(REPO_ID)) == {".gitattributes", "metadata.jsonl", *CLIPS}  # main is untouched


def test_upload_folder_from_disk(hub: HubTestDouble, api: HfApi, tmp_path: Path) -> None:
    folder = tmp_path / "export"
    (folder / "videos").mkdir(parents=True)
    for path, data in CLIPS.items():
        (folder / path).write_bytes(data)
    (folder / "metadata.jsonl").write_bytes(METADATA)
    api.upload_folder(repo_id=REPO_ID, folder_path=folder, repo_type="dataset", commit_message="export")
    assert hub.commits[-1]["lfs"] == sorted(CLIPS) and hub.lfs_uploads == 2
    assert hub.repo_files(REPO_ID)["metadata.jsonl"] == METADATA
