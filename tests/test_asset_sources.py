"""Asset sources against local test doubles of the Hugging Face Hub and the Poly Haven API (no bpy)."""

from __future__ import annotations

import gzip
import hashlib
import json
import multiprocessing
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simian.assets.objaverse import ObjaverseSource
from simian.assets.polyhaven import PolyHavenSource
from simian.errors import AssetFetchError, AssetNotFoundError
from simian.net import Fetcher, FetchLimits, NetworkPolicy
from simian.retry import RetryPolicy
from simian.settings import Settings
from tests.doubles.hub import HubTestDouble
from tests.doubles.polyhaven import PolyHavenTestDouble

REPO = "allenai/objaverse"
UID = "8476c4170df24cf5bbe6967222d1a42d"
OTHER_UID = "0123456789abcdef0123456789abcdef"
GLB_PATH = f"glbs/000-023/{UID}.glb"
FAST = 0.01  # backoff base for tests


def _glb(payload: bytes) -> bytes:
    """A tiny glTF-binary-shaped blob: 12-byte header (magic, version 2, length) + a JSON chunk."""
    chunk = payload.ljust((len(payload) + 3) // 4 * 4, b" ")
    body = len(chunk).to_bytes(4, "little") + b"JSON" + chunk
    return b"glTF" + (2).to_bytes(4, "little") + (12 + len(body)).to_bytes(4, "little") + body


GLB = _glb(b'{"asset":{"version":"2.0"}}')


def _settings(cache: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "simian_cache_dir": cache,
        "simian_download_timeout_s": 5.0,
        "simian_download_retries": 2,
        **overrides,
    }
    return Settings(**values)


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubTestDouble]:
    with HubTestDouble(tmp_path / "hub-data") as double:
        paths = {UID: GLB_PATH, OTHER_UID: "glbs/000-001/missing.glb"}
        double.add_file(REPO, "object-paths.json.gz", gzip.compress(json.dumps(paths).encode()))
        double.add_file(REPO, GLB_PATH, GLB)
        yield double


@pytest.fixture
def polyhaven() -> Iterator[PolyHavenTestDouble]:
    with PolyHavenTestDouble() as double:
        double.add_hdri("studio_small_09", "Studio Small 09", b"#?RADIANCE\nfake hdr pixels")
        double.add_texture(
            "wood_floor",
            "Wood Floor",
            {
                "Diffuse": b"\xff\xd8diffuse",
                "nor_gl": b"\xff\xd8normal",
                "Rough": b"\xff\xd8rough",
                "Displacement.png": b"\x89PNGdisp",
            },
        )
        yield double


# -- Objaverse through the Hub double --------------------------------------------------------------


def test_objaverse_fetch_uses_hf_endpoint_and_caches(
    hub: HubTestDouble, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", hub.url)  # reaches the source through Settings.hf_endpoint
    settings = _settings(tmp_path / "cache")
    assert settings.hf_endpoint == hub.url

    path = ObjaverseSource(settings).fetch(UID)

    assert path.suffix == ".glb"
    assert path.read_bytes() == GLB
    assert (tmp_path / "cache" / "hf") in path.parents
    assert hub.count("GET", f"{UID}.glb") == 1

    source = ObjaverseSource(settings)
    before = len(hub.requests)
    assert source.fetch(UID).read_bytes() == GLB
    assert hub.count("GET", f"{UID}.glb") == 1  # cache hit: the file is not downloaded again
    # A fresh source only re-checks the paths map; the object itself is pinned to that commit.
    assert [m for m, p in hub.requests[before:]] == ["HEAD"]
    again = len(hub.requests)
    source.fetch(UID)
    assert len(hub.requests) == again  # same source: no request at all


def test_objaverse_follows_cdn_redirect(tmp_path: Path) -> None:
    with HubTestDouble(tmp_path / "hub-data", lfs_redirect=True) as hub:
        hub.add_file(REPO, "object-paths.json.gz", gzip.compress(json.dumps({UID: GLB_PATH}).encode()))
        hub.add_file(REPO, GLB_PATH, GLB)
        # The stand-in CDN is another host ("localhost"): allowed only because the operator lists it.
        settings = _settings(tmp_path / "cache", hf_endpoint=hub.url, simian_allowed_hosts="localhost")
        path = ObjaverseSource(settings).fetch(UID)
        assert path.read_bytes() == GLB
        assert hub.count("GET", "/_lfs/") == 2  # both LFS files came from the stand-in CDN


def _fetch_in_child(cache: str, endpoint: str, start: Any, results: Any) -> None:
    """Runs in a spawned process: wait for the sibling, fetch, report (path, sha256 of the bytes)."""
    try:
        start.wait(timeout=30)
        path = ObjaverseSource(_settings(Path(cache), hf_endpoint=endpoint)).fetch(UID)
        results.put((str(path), hashlib.sha256(path.read_bytes()).hexdigest()))
    except Exception as exc:  # report instead of leaving the parent waiting on the queue
        results.put(("error", repr(exc)))


def test_objaverse_concurrent_processes_download_once(hub: HubTestDouble, tmp_path: Path) -> None:
    hub.stall_next(1.0, count=2, path_contains=f"{UID}.glb", method="GET")  # widen the overlap
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Barrier(2), ctx.Queue()
    args = (str(tmp_path / "cache"), hub.url, start, results)
    procs = [ctx.Process(target=_fetch_in_child, args=args) for _ in range(2)]
    for proc in procs:
        proc.start()
    got = [results.get(timeout=60) for _ in procs]
    for proc in procs:
        proc.join(timeout=10)
        assert proc.exitcode == 0

    assert got[0] == got[1]
    assert got[0][1] == hashlib.sha256(GLB).hexdigest()
    assert hub.count("GET", f"{UID}.glb") == 1
    assert hub.count("GET", "object-paths.json.gz") == 1


def test_objaverse_unknown_uid(hub: HubTestDouble, tmp_path: Path) -> None:
    source = ObjaverseSource(_settings(tmp_path / "cache", hf_endpoint=hub.url))
    with pytest.raises(AssetNotFoundError, match="not in object-paths.json.gz"):
        source.fetch("ffffffffffffffffffffffffffffffff")
    with pytest.raises(AssetNotFoundError, match="missing from dataset"):
        source.fetch(OTHER_UID)  # listed, but the file is not in the repo


def test_objaverse_invalid_uid_makes_no_request(hub: HubTestDouble, tmp_path: Path) -> None:
    source = ObjaverseSource(_settings(tmp_path / "cache", hf_endpoint=hub.url))
    with pytest.raises(AssetNotFoundError, match="32 lowercase hex"):
        source.fetch("../../etc/passwd")
    assert hub.requests == []


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_objaverse_retries_server_error(hub: HubTestDouble, tmp_path: Path, method: str) -> None:
    hub.fail_next(500, count=1, path_contains=f"{UID}.glb", method=method)
    source = ObjaverseSource(_settings(tmp_path / "cache", hf_endpoint=hub.url), backoff_s=FAST)
    assert source.fetch(UID).read_bytes() == GLB
    assert hub.count("GET", f"{UID}.glb") == (2 if method == "GET" else 1)


def test_objaverse_gives_up_after_retries(hub: HubTestDouble, tmp_path: Path) -> None:
    hub.fail_next(503, count=100, path_contains=f"{UID}.glb", method="GET")
    source = ObjaverseSource(_settings(tmp_path / "cache", hf_endpoint=hub.url), backoff_s=FAST)
    with pytest.raises(AssetFetchError, match="3 attempt"):
        source.fetch(UID)


def test_objaverse_missing_repo_is_not_found(hub: HubTestDouble, tmp_path: Path) -> None:
    settings = _settings(tmp_path / "cache", hf_endpoint=hub.url, simian_objaverse_repo="nobody/nothing")
    with pytest.raises(AssetNotFoundError, match="SIMIAN_OBJAVERSE_REPO"):
        ObjaverseSource(settings).fetch(UID)


def test_objaverse_endpoint_that_is_not_a_hub(polyhaven: PolyHavenTestDouble, tmp_path: Path) -> None:
    source = ObjaverseSource(_settings(tmp_path / "cache", hf_endpoint=polyhaven.url), backoff_s=FAST)
    with pytest.raises(AssetFetchError, match="caused by HfHubHTTPError"):
        source.fetch(UID)


# -- Poly Haven through its double -----------------------------------------------------------------


def _ph(polyhaven: PolyHavenTestDouble, cache: Path, **overrides: object) -> PolyHavenSource:
    return PolyHavenSource(_settings(cache, simian_polyhaven_api=polyhaven.url, **overrides), backoff_s=FAST)


def test_polyhaven_hdri(polyhaven: PolyHavenTestDouble, tmp_path: Path) -> None:
    source = _ph(polyhaven, tmp_path / "cache")
    path = source.fetch_hdri("studio_small_09")

    assert path == tmp_path / "cache" / "polyhaven" / "hdris" / "studio_small_09" / "studio_small_09_1k.hdr"
    assert path.read_bytes() == b"#?RADIANCE\nfake hdr pixels"
    assert source.info("studio_small_09")["name"] == "Studio Small 09"
    assert all(r.header("user-agent", "").startswith("simian/") for r in polyhaven.request_log)

    _ph(polyhaven, tmp_path / "cache").fetch_hdri("studio_small_09")
    assert polyhaven.count("GET", "/dl/") == 1  # second source: md5-verified cache hit


def test_polyhaven_hdri_falls_back_to_exr(tmp_path: Path) -> None:
    with PolyHavenTestDouble() as double:
        double.add_hdri("night", "Night", b"v/1\x01 exr", formats=("exr",))
        assert _ph(double, tmp_path / "cache").fetch_hdri("night").suffix == ".exr"


def test_polyhaven_texture(polyhaven: PolyHavenTestDouble, tmp_path: Path) -> None:
    maps = _ph(polyhaven, tmp_path / "cache").fetch_texture("wood_floor", "2k")

    assert set(maps) == {"Diffuse", "nor_gl", "Rough"}
    assert maps["Diffuse"].read_bytes() == b"\xff\xd8diffuse"
    assert maps["nor_gl"].suffix == ".jpg"
    assert all("/2k/" in p for m, p in polyhaven.requests if "/dl/" in p)


def test_polyhaven_wrong_type(polyhaven: PolyHavenTestDouble, tmp_path: Path) -> None:
    source = _ph(polyhaven, tmp_path / "cache")
    with pytest.raises(AssetNotFoundError, match="is a texture, not an HDRI"):
        source.fetch_hdri("wood_floor")
    with pytest.raises(AssetNotFoundError, match="is an HDRI, not a texture"):
        source.fetch_texture("studio_small_09")


def test_polyhaven_unknown_id_and_resolution(polyhaven: PolyHavenTestDouble, tmp_path: Path) -> None:
    source = _ph(polyhaven, tmp_path / "cache")
    with pytest.raises(AssetNotFoundError, match="polyhaven:no_such_asset does not exist"):
        source.fetch_hdri("no_such_asset")
    with pytest.raises(AssetNotFoundError, match="available: 1k, 2k"):
        source.fetch_hdri("studio_small_09", "8k")
    assert polyhaven.count("GET", "/info/no_such_asset") == 1  # a 404 is not retried


def test_polyhaven_md5_mismatch(polyhaven: PolyHavenTestDouble, tmp_path: Path) -> None:
    polyhaven.corrupt("studio_small_09")
    with pytest.raises(AssetFetchError, match=r"md5 expected [0-9a-f]{32}, got [0-9a-f]{32}"):
        _ph(polyhaven, tmp_path / "cache").fetch_hdri("studio_small_09")
    folder = tmp_path / "cache" / "polyhaven" / "hdris" / "studio_small_09"
    assert not (folder / "studio_small_09_1k.hdr").exists()
    assert not list(folder.glob("*.part"))


def test_polyhaven_retry_after_is_honoured(polyhaven: PolyHavenTestDouble, tmp_path: Path) -> None:
    polyhaven.fail_next(429, count=1, path_contains="/dl/", retry_after=1)
    started = time.monotonic()
    path = _ph(polyhaven, tmp_path / "cache").fetch_hdri("studio_small_09")
    assert time.monotonic() - started >= 1.0  # the backoff base alone is 0.01 s
    assert path.is_file()
    assert polyhaven.count("GET", "/dl/") == 2


# -- the guarded fetcher directly ------------------------------------------------------------------


def download_file(url: str, dest: Path, *, timeout_s: float, retries: int, backoff_s: float = FAST, **kw: Any) -> Path:
    """One download through a fresh fetcher whose endpoint is the URL's own server."""
    policy = NetworkPolicy("test", url, "test endpoint")
    retry = RetryPolicy(attempts=retries + 1, backoff_s=backoff_s)
    fetcher = Fetcher(policy, FetchLimits(read_timeout_s=timeout_s), retry)
    try:
        return fetcher.download(url, dest, **kw)
    finally:
        fetcher.close()


def test_download_404_names_url(polyhaven: PolyHavenTestDouble, tmp_path: Path) -> None:
    url = f"{polyhaven.url}/dl/nope/Diffuse/1k/nope.jpg"
    with pytest.raises(AssetNotFoundError, match=url):
        download_file(url, tmp_path / "x.jpg", timeout_s=2, retries=3, backoff_s=FAST)
    assert polyhaven.count("GET", "/dl/") == 1


def test_download_timeout(polyhaven: PolyHavenTestDouble, tmp_path: Path) -> None:
    files = _ph(polyhaven, tmp_path / "c").files("studio_small_09")
    url = files["hdri"]["1k"]["hdr"]["url"]
    polyhaven.stall_next(10.0, count=10, path_contains="/dl/")
    started = time.monotonic()
    with pytest.raises(AssetFetchError, match="ReadTimeout"):
        download_file(url, tmp_path / "x.hdr", timeout_s=0.5, retries=1, backoff_s=FAST)
    assert time.monotonic() - started < 0.5 * 2 + 1.0  # two attempts of one timeout each, plus slack
    assert not (tmp_path / "x.hdr").exists()


def test_download_threads_share_one_download(polyhaven: PolyHavenTestDouble, tmp_path: Path) -> None:
    entry = _ph(polyhaven, tmp_path / "c").files("studio_small_09")["hdri"]["1k"]["hdr"]
    polyhaven.stall_next(0.3, count=1, path_contains="/dl/")
    dest = tmp_path / "shared" / "x.hdr"
    results: list[Path] = []

    def worker() -> None:
        results.append(download_file(entry["url"], dest, timeout_s=5, retries=0, md5=entry["md5"]))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [dest] * 4
    assert polyhaven.count("GET", "/dl/") == 1


def test_download_replaces_stale_cached_file(polyhaven: PolyHavenTestDouble, tmp_path: Path) -> None:
    entry = _ph(polyhaven, tmp_path / "c").files("studio_small_09")["hdri"]["1k"]["hdr"]
    dest = tmp_path / "x.hdr"
    dest.write_bytes(b"old version")
    download_file(entry["url"], dest, timeout_s=5, retries=0, md5=entry["md5"])
    assert dest.read_bytes() == b"#?RADIANCE\nfake hdr pixels"
