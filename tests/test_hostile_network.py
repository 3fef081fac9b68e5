"""Hostile servers for every source Simian fetches from on its own, through `simian render` as a user runs it.

Poly Haven and the Hub are test doubles (local HTTP servers speaking their protocols) that misbehave on
purpose (tests/doubles/hostile.py); a combinations URL is served by a plain file-server double. A trap
listener on 127.0.0.2 stands in for an address no request may reach (cloud metadata, internal services).
Each case asserts the exit status (2 for a bad combinations URL, 1 for a failed combination), the message,
no traceback, the time bound, nothing written outside the output and cache folders, no connection to the
trap, and the peak RSS where memory is the point. Nothing here needs Blender: every fault stops the render
before its Blender process starts.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from simian.combine.combiner import combine
from simian.combine.sources import load_file_source
from tests.doubles import Response
from tests.doubles.hostile import (
    FileServerTestDouble,
    MiB,
    TrapListener,
    drip,
    endless,
    gzip_bomb,
    huge_json,
    redirect,
)
from tests.doubles.hub import HubTestDouble
from tests.doubles.polyhaven import PolyHavenTestDouble

REPO = Path(__file__).resolve().parents[1]
UID = "0123456789abcdef0123456789abcdef"
GLB_PATH = f"glbs/000-001/{UID}.glb"
GLB = b"glTF\x02\x00\x00\x00" + b"\x00" * 4096
HDR = b"#?RADIANCE\n" + b"\x01" * 4096
RSS_LIMIT_MB = 500
DEADLINE_S = 4.0
STARTUP_S = 15.0  # interpreter, imports and settings on a loaded 2-core machine, with slack


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    max_rss_mb: float


class Sandbox:
    """A home, working folder, TMPDIR, output and cache for one CLI run; anything else written is a defect."""

    def __init__(self, root: Path) -> None:
        self.root = root
        for name in ("home", "work", "tmp", "out", "cache"):
            (root / name).mkdir(parents=True)
        (root / "work" / "recipe.json").write_text("{}")  # replaced by the tests that need a file

    @property
    def out(self) -> Path:
        return self.root / "out"

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    def files(self) -> dict[str, tuple[int, int]]:
        """Every file outside the output and cache folders, with size and modification time."""
        found = {}
        for path in self.root.rglob("*"):
            relative = path.relative_to(self.root)
            if relative.parts[0] in ("out", "cache") or path.is_dir():
                continue
            stat = path.lstat()
            found[str(relative)] = (stat.st_size, stat.st_mtime_ns)
        return found

    def env(self, **extra: str) -> dict[str, str]:
        inherited = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "SIMIAN_", "HUGGINGFACE"))}
        return {
            **inherited,
            "HOME": str(self.root / "home"),
            "TMPDIR": str(self.root / "tmp"),
            "SIMIAN_CACHE_DIR": str(self.cache),
            "SIMIAN_ENV_FILE": str(self.root / "no.env"),  # no .env of the checkout
            "SIMIAN_DOWNLOAD_RETRIES": "1",
            "SIMIAN_DOWNLOAD_DEADLINE_S": str(DEADLINE_S),
            "HF_HUB_DISABLE_XET": "1",
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "PYTHONPATH": str(REPO),
            **extra,
        }

    def render(self, source: str, *flags: str, env: dict[str, str], timeout: float = 120) -> Run:
        """`simian render --index 0` from `source` (a file or URL); exit status, output, time and peak RSS."""
        before = self.files()
        argv = [sys.executable, "-c", _PEAK_RSS, str(self.root / "peak-rss")]
        argv += [sys.executable, "-m", "simian.cli", *flags, "render", "--index", "0", "--combinations", source]
        argv += ["--width", "64", "--height", "48", "--frames", "6", "--samples", "2", "-o", str(self.out)]
        stdout_path, stderr_path = self.root / "cli.stdout", self.root / "cli.stderr"
        started = time.monotonic()
        with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
            process = subprocess.Popen(argv, cwd=self.root / "work", env=env, stdout=stdout, stderr=stderr)
            try:
                _, status, usage = _wait4(process, timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                raise
        seconds = time.monotonic() - started
        run = Run(
            os.waitstatus_to_exitcode(status),
            stdout_path.read_text(errors="replace"),
            stderr_path.read_text(errors="replace"),
            seconds,
            int((self.root / "peak-rss").read_text()) / 1024,
        )
        (self.root / "peak-rss").unlink()
        stdout_path.unlink()
        stderr_path.unlink()
        assert self.files() == before, "the run wrote outside its output and cache folders"
        return run

    def no_partial_downloads(self) -> None:
        leftovers = [p for p in self.cache.rglob("*") if p.name.endswith((".part", ".incomplete"))]
        assert leftovers == [], leftovers


# Runs the command and records its peak RSS. Linux carries a forking parent's peak RSS into the child's
# record across exec, and pytest may have grown large (bpy imported by other tests): a small launcher in
# between keeps the measurement to the command alone. Signals reach the command, its status comes back.
_PEAK_RSS = """
import resource, signal, subprocess, sys
child = subprocess.Popen(sys.argv[2:])
signal.signal(signal.SIGINT, lambda *_: child.send_signal(signal.SIGINT))
signal.signal(signal.SIGTERM, lambda *_: child.terminate())
status = child.wait()
open(sys.argv[1], "w").write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(128 - status if status < 0 else status)
"""


def _wait4(process: subprocess.Popen[bytes], timeout: float) -> tuple[int, int, os.struct_rusage]:
    """Wait for the child and return its own resource usage (peak RSS of that process alone)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid == process.pid:
            process.returncode = os.waitstatus_to_exitcode(status)
            return pid, status, usage
        time.sleep(0.05)
    raise subprocess.TimeoutExpired(process.args, timeout)


def _assert_clean_failure(run: Run, status: int, *needles: str, within_s: float) -> None:
    assert run.returncode == status, run.stderr
    for needle in needles:
        assert needle in run.stderr, run.stderr
    assert "Traceback" not in run.stderr, run.stderr
    assert run.seconds < within_s, f"took {run.seconds:.1f} s"


def _recipe(sandbox: Sandbox, **assets: str) -> str:
    """A combinations file whose first entry uses the given remote assets (object/background/floor)."""
    data = combine(3, 1)
    entry = data["combinations"][0]
    if "object" in assets:
        entry["objects"] = [{**entry["objects"][0], "asset": assets["object"], "name": "monkey head"}]
    if "background" in assets:
        entry["background"] = {"asset": assets["background"], "name": "test sky"}
    entry["caption"] = entry["captions"] = None
    path = sandbox.root / "work" / "recipe.json"
    path.write_text(json.dumps(data))
    return str(path)


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    return Sandbox(tmp_path / "sandbox")


@pytest.fixture
def trap() -> Iterator[TrapListener]:
    with TrapListener("127.0.0.2") as listener:
        yield listener


# -- Poly Haven ----------------------------------------------------------------------------------------


@pytest.fixture
def polyhaven() -> Iterator[PolyHavenTestDouble]:
    with PolyHavenTestDouble() as double:
        double.add_hdri("test_sky", "Test Sky", HDR, formats=("hdr",))
        yield double


def _polyhaven_env(sandbox: Sandbox, polyhaven: PolyHavenTestDouble, **extra: str) -> dict[str, str]:
    return sandbox.env(SIMIAN_POLYHAVEN_API=polyhaven.url, **extra)


def _files_answer_pointing_at(url: str) -> dict:
    return {"hdri": {"1k": {"hdr": {"url": url, "md5": "0" * 32, "size": 100}}}}


@pytest.mark.parametrize("allow_trap_host", [False, True], ids=["host-not-configured", "host-allowed-address-not"])
def test_polyhaven_file_url_at_a_disallowed_address(
    sandbox: Sandbox, polyhaven: PolyHavenTestDouble, trap: TrapListener, allow_trap_host: bool
) -> None:
    answer = _files_answer_pointing_at(f"{trap.url}/latest/meta-data/")
    polyhaven.serve_next(lambda request: Response.json(answer), count=5, path_contains="/files/")
    extra = {"SIMIAN_ALLOWED_HOSTS": "127.0.0.2"} if allow_trap_host else {}
    env = _polyhaven_env(sandbox, polyhaven, **extra)
    run = sandbox.render(_recipe(sandbox, background="polyhaven:test_sky"), env=env)
    needle = "an internal address" if allow_trap_host else "host 127.0.0.2 is not one of the configured hosts"
    _assert_clean_failure(run, 1, "refused", needle, "1 failed", within_s=STARTUP_S)
    assert trap.connections == 0
    assert not list(sandbox.cache.rglob("*.hdr")) and not list(sandbox.out.glob("*.mp4"))
    sandbox.no_partial_downloads()


def test_polyhaven_file_redirect_to_a_disallowed_address(
    sandbox: Sandbox, polyhaven: PolyHavenTestDouble, trap: TrapListener
) -> None:
    polyhaven.serve_next(redirect(f"{trap.url}/latest/meta-data/"), count=5, path_contains="/dl/")
    run = sandbox.render(
        _recipe(sandbox, background="polyhaven:test_sky"),
        env=_polyhaven_env(sandbox, polyhaven, SIMIAN_ALLOWED_HOSTS="127.0.0.2"),
    )
    _assert_clean_failure(run, 1, "refused to connect to 127.0.0.2", "internal address", within_s=STARTUP_S)
    assert trap.connections == 0
    assert polyhaven.count("GET", "/dl/") == 1, "a refused redirect is not retried"
    sandbox.no_partial_downloads()


def test_polyhaven_redirect_to_file_scheme(sandbox: Sandbox, polyhaven: PolyHavenTestDouble) -> None:
    polyhaven.serve_next(redirect("file:///etc/passwd"), count=5, path_contains="/dl/")
    run = sandbox.render(_recipe(sandbox, background="polyhaven:test_sky"), env=_polyhaven_env(sandbox, polyhaven))
    _assert_clean_failure(run, 1, "file:///etc/passwd", "only http and https", within_s=STARTUP_S)
    assert polyhaven.count("GET", "/dl/") == 1, "a redirect to file:// is not a network blip: no retry"
    assert not list(sandbox.cache.rglob("*.hdr"))


def test_polyhaven_drip_fails_at_the_deadline(sandbox: Sandbox, polyhaven: PolyHavenTestDouble) -> None:
    polyhaven.serve_next(drip(polyhaven, every_s=2.0, total=len(HDR)), count=5, path_contains="/dl/")
    run = sandbox.render(_recipe(sandbox, background="polyhaven:test_sky"), env=_polyhaven_env(sandbox, polyhaven))
    _assert_clean_failure(run, 1, "deadline of 4 s", "1 failed", within_s=STARTUP_S + DEADLINE_S)
    sandbox.no_partial_downloads()
    assert not list(sandbox.cache.rglob("*.hdr"))


def test_polyhaven_endless_body_stops_at_the_advertised_size(sandbox: Sandbox, polyhaven: PolyHavenTestDouble) -> None:
    polyhaven.serve_next(endless(polyhaven), count=5, path_contains="/dl/")
    run = sandbox.render(_recipe(sandbox, background="polyhaven:test_sky"), env=_polyhaven_env(sandbox, polyhaven))
    _assert_clean_failure(run, 1, f"larger than {len(HDR)} bytes", "advertised size", within_s=STARTUP_S)
    sandbox.no_partial_downloads()
    cached = sum(p.stat().st_size for p in sandbox.cache.rglob("*") if p.is_file())
    assert cached < MiB, "the endless body reached the cache"


@pytest.mark.parametrize("announce", [True, False], ids=["announced", "streamed"])
def test_polyhaven_oversized_json(sandbox: Sandbox, polyhaven: PolyHavenTestDouble, announce: bool) -> None:
    polyhaven.serve_next(huge_json(800 * MiB, announce=announce), count=5, path_contains="/files/")
    run = sandbox.render(_recipe(sandbox, background="polyhaven:test_sky"), env=_polyhaven_env(sandbox, polyhaven))
    needle = "announces 838860800 bytes" if announce else "larger than 134217728 bytes"
    _assert_clean_failure(run, 1, needle, "SIMIAN_JSON_MAX_BYTES", within_s=STARTUP_S + 10)
    assert run.max_rss_mb < RSS_LIMIT_MB, f"peak RSS {run.max_rss_mb:.0f} MB"
    assert polyhaven.count("GET", "/files/") == 1, "an oversized answer is refused, not retried"


def test_polyhaven_wrong_checksum(sandbox: Sandbox, polyhaven: PolyHavenTestDouble) -> None:
    polyhaven.corrupt("test_sky")
    run = sandbox.render(_recipe(sandbox, background="polyhaven:test_sky"), env=_polyhaven_env(sandbox, polyhaven))
    _assert_clean_failure(run, 1, "checksum mismatch", "md5 expected", within_s=STARTUP_S)
    assert not list(sandbox.cache.rglob("*.hdr"))
    sandbox.no_partial_downloads()


# -- Objaverse through the Hub double -----------------------------------------------------------------


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubTestDouble]:
    with HubTestDouble(tmp_path / "hub-data") as double:
        paths = gzip.compress(json.dumps({UID: GLB_PATH}).encode())
        double.add_file("allenai/objaverse", "object-paths.json.gz", paths)
        double.add_file("allenai/objaverse", GLB_PATH, GLB)
        yield double


def _hub_env(sandbox: Sandbox, hub: HubTestDouble, **extra: str) -> dict[str, str]:
    return sandbox.env(HF_ENDPOINT=hub.url, **extra)


@pytest.mark.parametrize("allow_trap_host", [False, True], ids=["host-not-configured", "host-allowed-address-not"])
def test_objaverse_lfs_redirect_to_a_disallowed_address(
    sandbox: Sandbox, hub: HubTestDouble, trap: TrapListener, allow_trap_host: bool
) -> None:
    hub.lfs_redirect = True
    hub.lfs_cdn = trap.url
    extra = {"SIMIAN_ALLOWED_HOSTS": "127.0.0.2"} if allow_trap_host else {}
    run = sandbox.render(_recipe(sandbox, object=f"objaverse:{UID}"), env=_hub_env(sandbox, hub, **extra))
    needle = "an internal address" if allow_trap_host else "host 127.0.0.2 is not one of the configured hosts"
    _assert_clean_failure(run, 1, "refused", needle, within_s=STARTUP_S)
    assert trap.connections == 0
    assert not list(sandbox.cache.rglob("*.glb"))
    sandbox.no_partial_downloads()


def test_objaverse_redirect_to_file_scheme(sandbox: Sandbox, hub: HubTestDouble) -> None:
    hub.serve_next(redirect("file:///etc/passwd"), count=10, path_contains=f"{UID}.glb")
    run = sandbox.render(_recipe(sandbox, object=f"objaverse:{UID}"), env=_hub_env(sandbox, hub))
    _assert_clean_failure(run, 1, "file:///etc/passwd", "only http and https", within_s=STARTUP_S)
    assert hub.count("HEAD", f"{UID}.glb") + hub.count("GET", f"{UID}.glb") == 1, "not retried"


def test_objaverse_drip_fails_at_the_deadline(sandbox: Sandbox, hub: HubTestDouble) -> None:
    hub.serve_next(drip(hub, every_s=2.0, total=len(GLB)), count=10, path_contains=f"{UID}.glb", method="GET")
    run = sandbox.render(_recipe(sandbox, object=f"objaverse:{UID}"), env=_hub_env(sandbox, hub))
    _assert_clean_failure(run, 1, "deadline of 4 s", within_s=STARTUP_S + DEADLINE_S)
    sandbox.no_partial_downloads()
    assert not list(sandbox.cache.rglob("*.glb"))


def test_objaverse_endless_body_stops_at_the_byte_cap(sandbox: Sandbox, hub: HubTestDouble) -> None:
    hub.serve_next(endless(hub), count=10, path_contains=f"{UID}.glb", method="GET")
    env = _hub_env(sandbox, hub, SIMIAN_DOWNLOAD_MAX_BYTES=str(MiB))
    run = sandbox.render(_recipe(sandbox, object=f"objaverse:{UID}"), env=env)
    _assert_clean_failure(run, 1, f"larger than {MiB} bytes", "SIMIAN_DOWNLOAD_MAX_BYTES", within_s=STARTUP_S)
    sandbox.no_partial_downloads()
    cached = sum(p.stat().st_size for p in sandbox.cache.rglob("*") if p.is_file())
    assert cached < 2 * MiB, "the endless body reached the cache"


def test_objaverse_gzip_bomb_in_the_paths_file(tmp_path: Path, sandbox: Sandbox) -> None:
    bomb = gzip_bomb(512 * MiB)
    assert len(bomb) < MiB
    with HubTestDouble(tmp_path / "bomb-hub") as hub:
        hub.add_file("allenai/objaverse", "object-paths.json.gz", bomb)
        run = sandbox.render(_recipe(sandbox, object=f"objaverse:{UID}"), env=_hub_env(sandbox, hub))
    _assert_clean_failure(
        run, 1, "object-paths.json.gz", "decompresses to more than 134217728 bytes", within_s=STARTUP_S + 10
    )
    assert run.max_rss_mb < RSS_LIMIT_MB, f"peak RSS {run.max_rss_mb:.0f} MB"
    assert not [p for p in sandbox.cache.rglob("*") if p.is_file() and p.stat().st_size == len(bomb)], "bomb kept"


def test_objaverse_wrong_checksum(sandbox: Sandbox, hub: HubTestDouble) -> None:
    hub.corrupt("allenai/objaverse", GLB_PATH)
    run = sandbox.render(_recipe(sandbox, object=f"objaverse:{UID}"), env=_hub_env(sandbox, hub))
    _assert_clean_failure(run, 1, "checksum mismatch", GLB_PATH, within_s=STARTUP_S)
    assert not [p for p in sandbox.cache.rglob("*") if p.is_file() and p.stat().st_size == len(GLB)], "bad bytes kept"


def test_hub_endpoint_credentials_never_printed(sandbox: Sandbox, hub: HubTestDouble) -> None:
    hub.corrupt("allenai/objaverse", GLB_PATH)  # fail after real requests, so that there is something to log
    endpoint = hub.url.replace("http://", "http://mirror-user:s3cret-pass@")
    for flags in ((), ("-v",)):
        run = sandbox.render(
            _recipe(sandbox, object=f"objaverse:{UID}"), *flags, env=_hub_env(sandbox, hub) | {"HF_ENDPOINT": endpoint}
        )
        assert run.returncode == 1, run.stderr
        assert "s3cret-pass" not in run.stderr + run.stdout
        assert "mirror-user" not in run.stderr + run.stdout
        http_lines = [line for line in run.stderr.splitlines() if "HTTP Request:" in line]
        assert bool(http_lines) == bool(flags), "the HTTP client's request lines show only with -v"
        assert "Traceback" not in run.stderr


# -- a combinations URL -----------------------------------------------------------------------------


@pytest.fixture
def web(sandbox: Sandbox) -> Iterator[FileServerTestDouble]:
    with FileServerTestDouble(json.dumps(combine(3, 2)).encode()) as double:
        yield double


def test_combinations_url_credentials_stay_with_their_origin(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, web: FileServerTestDouble
) -> None:
    """The control case: a URL within the policy loads; its credentials go to its own origin only."""
    monkeypatch.setenv("SIMIAN_ENV_FILE", str(tmp_path / "no.env"))
    monkeypatch.setenv("SIMIAN_ALLOWED_HOSTS", "localhost")
    other_origin = web.url.replace("127.0.0.1", "localhost")
    web.serve_next(redirect(f"{other_origin}/combinations.json"))
    url = web.url.replace("http://", "http://reader:s3cret@") + "/combinations.json"
    assert len(load_file_source(url)) == 2
    first, second = web.request_log
    assert first.header("authorization", "").startswith("Basic ")
    assert second.header("host", "").startswith("localhost") and second.header("authorization") is None


def test_combinations_url_redirect_to_a_disallowed_address(
    sandbox: Sandbox, web: FileServerTestDouble, trap: TrapListener
) -> None:
    web.serve_next(redirect(f"{trap.url}/latest/meta-data/"), count=5)
    run = sandbox.render(f"{web.url}/combinations.json", env=sandbox.env(SIMIAN_ALLOWED_HOSTS="127.0.0.2"))
    _assert_clean_failure(run, 2, "combinations: could not fetch", "internal address", within_s=STARTUP_S)
    assert trap.connections == 0
    assert not sandbox.out.exists() or not any(sandbox.out.iterdir())


def test_combinations_url_redirect_to_file_scheme(sandbox: Sandbox, web: FileServerTestDouble) -> None:
    web.serve_next(redirect("file:///etc/passwd"), count=5)
    run = sandbox.render(f"{web.url}/combinations.json", env=sandbox.env())
    _assert_clean_failure(run, 2, "file:///etc/passwd", "only http and https", within_s=STARTUP_S)
    assert web.count("GET", "/combinations.json") == 1


def test_combinations_url_drip(sandbox: Sandbox, web: FileServerTestDouble) -> None:
    web.serve_next(drip(web, every_s=2.0, total=10_000), count=5)
    run = sandbox.render(f"{web.url}/combinations.json", env=sandbox.env())
    _assert_clean_failure(run, 2, "deadline of 4 s", within_s=STARTUP_S + DEADLINE_S)


def test_combinations_url_endless_body(sandbox: Sandbox, web: FileServerTestDouble) -> None:
    web.serve_next(endless(web, content_type="application/json"), count=5)
    run = sandbox.render(f"{web.url}/combinations.json", env=sandbox.env())
    _assert_clean_failure(run, 2, "larger than 134217728 bytes", within_s=STARTUP_S + 10)
    assert run.max_rss_mb < RSS_LIMIT_MB, f"peak RSS {run.max_rss_mb:.0f} MB"


def test_combinations_url_oversized_json_announced(sandbox: Sandbox, web: FileServerTestDouble) -> None:
    web.serve_next(huge_json(800 * MiB, announce=True), count=5)
    run = sandbox.render(f"{web.url}/combinations.json", env=sandbox.env())
    _assert_clean_failure(run, 2, "announces 838860800 bytes", "SIMIAN_JSON_MAX_BYTES", within_s=STARTUP_S)
    assert run.max_rss_mb < RSS_LIMIT_MB, f"peak RSS {run.max_rss_mb:.0f} MB"


# -- interrupted downloads ------------------------------------------------------------------------------


def _start_render(sandbox: Sandbox, source: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    argv = [
        sys.executable,
        "-m",
        "simian.cli",
        "render",
        "--index",
        "0",
        "--combinations",
        source,
        "-o",
        str(sandbox.out),
    ]
    return subprocess.Popen(
        argv, cwd=sandbox.root / "work", env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def _wait_for_partial(sandbox: Sandbox, suffix: str, process: subprocess.Popen[bytes]) -> Path:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        found = [p for p in sandbox.cache.rglob("*") if p.name.endswith(suffix)]
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f"no {suffix} file appeared (exit status {process.poll()})")


@pytest.mark.parametrize("source", ["polyhaven", "objaverse"])
def test_interrupted_download_leaves_no_partial_file(
    sandbox: Sandbox, polyhaven: PolyHavenTestDouble, hub: HubTestDouble, source: str
) -> None:
    """Ctrl-C removes the partial file at once; a killed process's partial is removed by the next run."""
    if source == "polyhaven":
        recipe, suffix = _recipe(sandbox, background="polyhaven:test_sky"), ".part"
        double: PolyHavenTestDouble | HubTestDouble = polyhaven
        path, total = "/dl/", len(HDR)
    else:
        recipe, suffix = _recipe(sandbox, object=f"objaverse:{UID}"), ".incomplete"
        double, path, total = hub, f"{UID}.glb", len(GLB)
    env = sandbox.env(SIMIAN_POLYHAVEN_API=polyhaven.url, HF_ENDPOINT=hub.url, SIMIAN_DOWNLOAD_DEADLINE_S="60")
    double.serve_next(drip(double, every_s=0.2, total=total), count=10, path_contains=path, method="GET")

    process = _start_render(sandbox, recipe, env)
    _wait_for_partial(sandbox, suffix, process)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) != 0
    sandbox.no_partial_downloads()

    process = _start_render(sandbox, recipe, env)
    partial = _wait_for_partial(sandbox, suffix, process)
    process.kill()
    process.wait(timeout=30)
    assert partial.exists(), "SIGKILL leaves the partial file behind..."
    double.clear_faults()
    double.fail_next(503, count=20, path_contains=path, method="GET")  # ...and the next run fails, but first:
    rerun = sandbox.render(recipe, env=env | {"SIMIAN_DOWNLOAD_RETRIES": "0"})
    assert rerun.returncode == 1 and "503" in rerun.stderr, rerun.stderr
    sandbox.no_partial_downloads()  # ...it cleaned the stale partial at start


def test_a_signed_urls_query_never_reaches_the_screen_even_with_verbose_logs(
    sandbox: Sandbox, web: FileServerTestDouble
) -> None:
    """-v shows each HTTP request the clients log; the query string (a signature) is redacted there too."""
    run = sandbox.render(f"{web.url}/combinations.json?sig=SIGNATURE-SECRET&expires=1", "-v", env=sandbox.env())
    assert "SIGNATURE-SECRET" not in run.stdout + run.stderr, run.stderr[-3000:]
    assert "/combinations.json?***" in run.stderr, run.stderr[-3000:]
    assert web.count("GET", "/combinations.json") >= 1


#: 40 MB of `[{},{},...]`: within the byte cap, but about 60 times larger once parsed (2.4 GB before the limit).
EMPTY_OBJECTS = b"[" + b"{}," * (13 * 1024**2) + b"{}]"


def test_polyhaven_answer_that_parses_too_large(sandbox: Sandbox, polyhaven: PolyHavenTestDouble) -> None:
    big = Response(200, {"Content-Type": "application/json"}, EMPTY_OBJECTS)
    polyhaven.serve_next(lambda request: big, count=5, path_contains="/files/")
    run = sandbox.render(_recipe(sandbox, background="polyhaven:test_sky"), env=_polyhaven_env(sandbox, polyhaven))
    _assert_clean_failure(run, 1, "SIMIAN_JSON_MAX_ELEMENTS", "1 failed", within_s=STARTUP_S + 10)
    assert run.max_rss_mb < RSS_LIMIT_MB, f"peak RSS {run.max_rss_mb:.0f} MB"
    assert polyhaven.count("GET", "/files/") == 1, "an answer over the limits is refused, not retried"


@pytest.mark.parametrize("where", ["file", "url"])
def test_combinations_that_parse_too_large_or_too_deep(sandbox: Sandbox, web: FileServerTestDouble, where: str) -> None:
    for body, needle in ((EMPTY_OBJECTS, "SIMIAN_JSON_MAX_ELEMENTS (2000000)"), (b"[" * 200 + b"]" * 200, "64 levels")):
        if where == "file":
            source = sandbox.root / "work" / "combinations.json"
            source.write_bytes(body)
            location = str(source)
        else:
            web.serve_next(lambda request, body=body: Response(200, {"Content-Type": "application/json"}, body))
            location = f"{web.url}/combinations.json"
        run = sandbox.render(location, env=sandbox.env())
        _assert_clean_failure(run, 2, needle, within_s=STARTUP_S + 10)
        assert run.max_rss_mb < RSS_LIMIT_MB, f"peak RSS {run.max_rss_mb:.0f} MB"
