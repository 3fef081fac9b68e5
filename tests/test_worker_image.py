"""Build the render worker image from the Dockerfile and render a video inside it, without Docker.

buildah builds the Dockerfile as it is; the only stand-in is the base image: `python:3.11-slim-bookworm`
cannot be pulled here (no registry access), so a minimal Debian bookworm with its own python3 (3.11) is
made with debootstrap and passed as BASE_IMAGE. Network is needed for apt (Debian) and pip (PyPI).

Measured on a 2-CPU machine with the vfs driver: about 5 minutes cold (debootstrap, apt, pip with bpy), about 3
with buildah's layer cache (vfs commits copy the whole 1.9 GB tree).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import REPO, decode_frames

pytestmark = pytest.mark.image

STORAGE = ["--storage-driver", "vfs"]
BASE = "localhost/simian-base:bookworm-py311"
IMAGE = "localhost/simian-worker:test"
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")


def buildah(*args: str, timeout: float = 1200, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["buildah", *STORAGE, *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(
            f"buildah {' '.join(args[:3])} failed ({result.returncode}):\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result


@pytest.fixture(scope="module")
def tools():
    missing = [tool for tool in ("buildah", "debootstrap") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed (Debian: apt-get install -y buildah debootstrap)")
    if os.geteuid() != 0:
        pytest.skip("buildah with the vfs driver and chroot isolation, and debootstrap, need root here")


def make_base_image(work: Path) -> None:
    """A minimal bookworm with python3 (3.11) and venv, like the python:3.11-slim-bookworm image offers."""
    rootfs = work / "rootfs"
    subprocess.run(
        ["debootstrap", "--variant=minbase", "bookworm", str(rootfs), "http://deb.debian.org/debian"],
        check=True,
        capture_output=True,
        timeout=900,
    )
    (rootfs / "etc/apt/sources.list").write_text(
        "deb http://deb.debian.org/debian bookworm main\n"
        "deb http://deb.debian.org/debian bookworm-updates main\n"
        "deb http://deb.debian.org/debian-security bookworm-security main\n"
    )
    shutil.copy("/etc/resolv.conf", rootfs / "etc/resolv.conf")
    subprocess.run(
        [
            "chroot",
            str(rootfs),
            "/bin/sh",
            "-c",
            "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "
            "python3 python3-venv ca-certificates && ln -sf /usr/bin/python3 /usr/local/bin/python "
            "&& apt-get clean && rm -rf /var/lib/apt/lists/*",
        ],
        check=True,
        capture_output=True,
        timeout=900,
    )
    (rootfs / "etc/resolv.conf").unlink()
    container = buildah("from", "scratch").stdout.strip()
    try:
        buildah("copy", container, str(rootfs), "/")
        buildah("config", "--env", "LANG=C.UTF-8", "--cmd", "python3", container)
        buildah("commit", container, BASE)
    finally:
        buildah("rm", container, check=False)


@pytest.fixture(scope="module")
def worker_image(tools, tmp_path_factory):
    work = tmp_path_factory.mktemp("image")
    began = time.monotonic()
    if buildah("images", "--quiet", BASE, check=False).returncode != 0:
        make_base_image(work)
    # Builds behind a TLS-inspecting proxy need the host's CA bundle for pip; it is mounted for the build only.
    mounts: list[str] = []
    if HOST_CA.is_file():
        (work / "pip.conf").write_text("[global]\ncert = /etc/ssl/certs/host-ca.crt\n")
        mounts = ["-v", f"{HOST_CA}:/etc/ssl/certs/host-ca.crt:ro", "-v", f"{work / 'pip.conf'}:/etc/pip.conf:ro"]
    previous = buildah("images", "--quiet", "--no-trunc", IMAGE, check=False).stdout.strip()
    buildah(
        "bud",
        "--isolation",
        "chroot",
        "--format",
        "docker",
        "--layers",
        *mounts,
        "--build-arg",
        f"BASE_IMAGE={BASE}",
        "-t",
        IMAGE,
        str(REPO),
        timeout=1800,
    )
    current = buildah("images", "--quiet", "--no-trunc", IMAGE).stdout.strip()
    if previous and previous != current:
        buildah("rmi", previous, check=False)  # the last run's image, now untagged: 1.9 GB each with vfs
    print(f"image built in {time.monotonic() - began:.0f} s")
    return IMAGE


@pytest.fixture
def container(worker_image):
    name = buildah("from", worker_image).stdout.strip()
    yield name
    buildah("rm", name, check=False)


def test_image_runs_as_a_gpu_pool_worker_by_default(worker_image):
    import json

    config = json.loads(buildah("inspect", "--type", "image", worker_image).stdout)["Docker"]["config"]
    assert config["User"] == "10001:10001"
    assert config["Entrypoint"] == ["/usr/bin/tini", "-g", "--"]
    assert config["Cmd"] == ["simian-render-worker"]
    assert config["Healthcheck"]["Test"][0] == "CMD"
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["NVIDIA_DRIVER_CAPABILITIES"] == "compute,utility,graphics"
    assert env["PREFECT_FLOWS_HEARTBEAT_FREQUENCY"] == "30"
    assert env["SIMIAN_WORKER_LIMIT"] == "1"


def test_render_in_the_image_as_the_image_user(container, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    os.chown(out, 10001, 10001)
    began = time.monotonic()
    result = buildah(
        "run",
        "--isolation",
        "chroot",
        "--user",
        "10001:10001",
        "-v",
        f"{out}:/out",
        container,
        "--",
        "simian",
        "render",
        "--index",
        "0",
        "--seed",
        "7",
        "--width",
        "64",
        "--height",
        "48",
        "--frames",
        "6",
        "--samples",
        "2",
        "-o",
        "/out",
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    print(f"rendered in the container in {time.monotonic() - began:.1f} s")
    frames = decode_frames(out / "00000000.mp4")
    assert len(frames) == 6 and frames[0].shape == (48, 64, 3)
    assert frames[0].std() > 5, "the frame is flat: nothing was rendered"
    assert (out / "00000000.json").is_file()


def test_bpy_finds_every_shared_library_it_links(container):
    """Everything but the GPU drivers (libcuda from the host through the NVIDIA toolkit, HIP, oneAPI)."""
    script = (
        'B=$(python3 -c "import bpy, os; print(os.path.dirname(bpy.__file__))" 2>/dev/null); '
        'for f in "$B"/__init__.so "$B"/lib/*.so*; do LD_LIBRARY_PATH="$B/lib" ldd "$f"; done '
        '| grep "not found" | sort -u'
    )
    result = buildah("run", "--isolation", "chroot", container, "--", "sh", "-c", script, check=False)
    missing = {line.split()[0] for line in result.stdout.splitlines() if line.strip()}
    assert missing <= {"libcuda.so.1", "libamdhip64.so.6", "libze_loader.so.1"}, missing
