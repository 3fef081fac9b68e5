"""The range run's contact sheet: a thumbnail of each video's first frame travels with its outcome (Redis), the range
run composes the first ones into one JPEG in a markdown artifact, and the Prefect UI shows it.

The unit tests decode real H.264 files (written here with PyAV from numpy frames); the stack tests run a real
render-range on the real services (redis-server, Prefect server, a process worker, bpy) and open the artifact's
page of the Prefect UI in headless Chromium."""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
from pathlib import Path
from uuid import UUID

import av
import numpy as np
import pytest
from PIL import Image
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.client.schemas.objects import Artifact
from prefect.settings import PREFECT_API_URL, temporary_settings

from simian.combine.variants import VideoKey
from simian.operations.sandbox import free_port
from simian.operations.stack import worker_online
from simian.orchestration.chunk import with_thumbnail
from simian.orchestration.contact_sheet import (
    BACKGROUND,
    COLUMNS,
    GAP,
    LABEL_HEIGHT,
    SHEET_TILES,
    THUMB_WIDTH,
    compose,
    sheet_markdown,
    thumbnail_of,
)
from simian.orchestration.job import RangeJob
from simian.orchestration.names import CONTROL_POOL, RENDER_POOL
from simian.orchestration.summary import contact_sheet_key, sheet_tiles

from .conftest import decode_frames
from .services import TEST_ENV, Stack

#: A distinct first-frame colour per video; later frames are grey, so a tile of the wrong frame shows.
COLOURS = [(200, 30, 30), (30, 200, 30), (30, 30, 200), (200, 200, 30), (200, 30, 200), (30, 200, 200), (240,) * 3]
DATA_URI = re.compile(r"!\[contact sheet\]\(data:image/jpeg;base64,([A-Za-z0-9+/=]+)\)")


def write_video(path: Path, first: tuple[int, int, int], width: int = 320, height: int = 180) -> Path:
    """Six frames of H.264: the first `first` with a dark left band, the rest grey."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=12)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for number in range(6):
            rgb = np.full((height, width, 3), first if number == 0 else (128, 128, 128), dtype=np.uint8)
            rgb[:, : width // 8] = 0
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def sheet_of(markdown: str) -> np.ndarray:
    """The sheet the markdown embeds, decoded to RGB."""
    match = DATA_URI.search(markdown)
    assert match, f"no contact-sheet data URI in the artifact: {markdown[:300]!r}"
    with Image.open(io.BytesIO(base64.b64decode(match.group(1), validate=True))) as image:
        assert image.format == "JPEG"
        return np.asarray(image.convert("RGB"))


def tiles_of(sheet: np.ndarray, tile_w: int, tile_h: int) -> list[np.ndarray]:
    """The tiles of the sheet's grid, row by row, that hold a picture (not the sheet's background)."""
    cell_w, cell_h = tile_w + GAP, tile_h + LABEL_HEIGHT
    assert sheet.shape[1] % cell_w == 0 and sheet.shape[0] % cell_h == 0, (sheet.shape, cell_w, cell_h)
    tiles = []
    for top in range(0, sheet.shape[0], cell_h):
        for left in range(0, sheet.shape[1], cell_w):
            tile = sheet[top : top + tile_h, left + GAP // 2 : left + GAP // 2 + tile_w].astype(np.int16)
            if np.abs(tile - np.array(BACKGROUND)).mean() > 12:
                tiles.append(tile)
    return tiles


def shrunk(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    return np.asarray(Image.fromarray(rgb).resize((width, height), Image.Resampling.LANCZOS)).astype(np.int16)


def test_a_thumbnail_is_the_first_frame_small(tmp_path):
    video = write_video(tmp_path / "clip.mp4", (200, 30, 30))
    encoded = thumbnail_of(video, "clip")
    assert encoded is not None and len(encoded) < 6000, "a few KB in the outcome record"
    with Image.open(io.BytesIO(base64.b64decode(encoded))) as image:
        assert (image.format, image.size) == ("JPEG", (THUMB_WIDTH, 72))
        rgb = np.asarray(image.convert("RGB")).astype(np.int16)
    assert np.abs(rgb[:, 40:] - np.array((200, 30, 30))).mean() < 12, "the first frame, not a later grey one"
    assert rgb[:, :10].mean() < 20, "the dark band of the frame is where it was"
    small = thumbnail_of(write_video(tmp_path / "small.mp4", (30, 200, 30), 64, 48), "small")
    assert small is not None
    with Image.open(io.BytesIO(base64.b64decode(small))) as image:
        assert image.size == (64, 48), "never wider than the frame"


def test_the_sheet_shows_each_video_first_frame_in_index_order_with_its_label(tmp_path):
    job = RangeJob(start=10, end=17, seed=1, output=str(tmp_path / "dataset"))
    outcomes = {}
    for key, colour in zip(job.video_keys(), COLOURS, strict=True):
        file_name = f"data/0000/{key.index:08d}.mp4"
        write_video(job.config_dir() / file_name, colour)
        outcome = {"index": key.index, "variant": 0, "status": "cached", "file_name": file_name}
        outcomes[key] = with_thumbnail(job, key, outcome)
        assert outcomes[key]["thumbnail"] and outcomes[key]["file_name"] == file_name
    outcomes[VideoKey(13)] = {"index": 13, "variant": 0, "status": "failed", "reason": "Blender crashed"}

    tiles = sheet_tiles(job, outcomes)
    assert [label for label, _ in tiles] == ["10", "11", "12", "14", "15", "16"], "index order, failed left out"
    markdown = sheet_markdown(tiles, job.video_count(), "[10, 17)")
    assert markdown is not None and "Showing 6 of 7 videos" in markdown
    sheet = sheet_of(markdown)
    assert sheet.shape == (72 + LABEL_HEIGHT, COLUMNS * (THUMB_WIDTH + GAP), 3), "one row of six tiles"
    found = tiles_of(sheet, THUMB_WIDTH, 72)
    assert len(found) == 6
    for tile, colour in zip(found, [c for i, c in enumerate(COLOURS) if i != 3], strict=True):
        assert np.abs(tile[:, 40:] - np.array(colour)).mean() < 15, (colour, tile[:, 40:].mean(axis=(0, 1)))
    labels = sheet[72:, : THUMB_WIDTH // 2]
    assert (labels > 200).any(), "each tile is labelled in the band below it"


def test_the_sheet_holds_the_first_24_videos_and_skips_what_it_cannot_read(tmp_path, caplog):
    encoded = thumbnail_of(write_video(tmp_path / "clip.mp4", (30, 30, 200), 64, 48), "clip")
    assert encoded is not None
    job = RangeJob(start=0, end=20, seed=1, camera_variants=2, output=str(tmp_path / "dataset"))
    outcomes = {key: {"status": "rendered", "thumbnail": encoded} for key in job.video_keys()}
    tiles = sheet_tiles(job, outcomes)
    assert len(tiles) == SHEET_TILES and tiles[:3] == [("0", encoded), ("0-v1", encoded), ("1", encoded)]
    assert tiles[-1][0] == "11-v1"
    sheet, shown = compose([*tiles[:4], ("broken", "bm90IGEgSlBFRw==")])
    assert shown == 4 and "left off the contact sheet" in caplog.text
    with Image.open(io.BytesIO(sheet)) as image:
        assert len(tiles_of(np.asarray(image.convert("RGB")), 64, 48)) == 4

    missing = {"index": 3, "variant": 0, "status": "rendered", "file_name": "data/0000/00000003.mp4"}
    assert with_thumbnail(job, VideoKey(3), missing) == missing, "no file: no thumbnail, the video stands"
    (job.config_dir() / "data/0000").mkdir(parents=True)
    (job.config_dir() / "data/0000/00000003.mp4").write_bytes(b"not a video")
    assert with_thumbnail(job, VideoKey(3), missing) == missing
    assert "no thumbnail of its first frame" in caplog.text
    assert sheet_markdown([], 20, "[0, 20)") is None, "nothing to show: no sheet"
    assert sheet_markdown([("0", "bm90IGEgSlBFRw==")], 20, "[0, 20)") is None


# The stack tests: one stack for the file.
TINY = ["width=64", "height=48", "frames=6", "samples=2"]
CHROMIUM = shutil.which("chromium")


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Stack:
    # A free port, not 4200: `simian up` must tell the UI where its API is (the UI does not read `--port`).
    services = Stack(tmp_path_factory.mktemp("stack"), free_port(), free_port())
    services.extra_env = dict(TEST_ENV)
    services.write_env_file({})
    services.up_args = ["--workers", "1", "--render-slots", "2", "--commits-per-hour", "3600"]
    services.up()
    yield services
    services.stop()


@pytest.fixture(scope="module")
def range_run(stack: Stack, tmp_path_factory) -> tuple[str, Path]:
    """`prefect deployment run simian/render-range` of four tiny videos in two chunks."""
    out = tmp_path_factory.mktemp("contact") / "dataset"
    result, run_id = stack.run_range("start=0", "end=4", "seed=3", "chunk_size=2", *TINY, f"output={out}")
    assert result.returncode == 0, stack.run_report(run_id)
    return run_id, out


def read_artifact(stack: Stack, key: str) -> Artifact | None:
    from prefect import get_client

    with temporary_settings({PREFECT_API_URL: stack.env["PREFECT_API_URL"]}), get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
    return found[0] if found else None


@pytest.mark.services
@pytest.mark.blender
def test_simian_up_returns_with_its_workers_polling(stack):
    host = os.uname().nodename
    for pool, name in ((CONTROL_POOL, f"control-{host}"), (RENDER_POOL, f"gpu-{host}-0")):
        assert worker_online(stack.env["PREFECT_API_URL"], pool, name), f"`simian up` returned before {name} polled"


def test_the_range_run_writes_a_contact_sheet_of_its_first_frames(stack, range_run):
    run_id, out = range_run
    outcomes = stack.outcomes(run_id)
    assert all(0 < len(o["thumbnail"]) < 6000 for o in outcomes.values()), "each outcome carries its thumbnail"
    artifact = read_artifact(stack, contact_sheet_key(0, 4, run_id))
    assert artifact is not None, "no contact-sheet artifact"
    assert artifact.type == "markdown" and artifact.flow_run_id == UUID(run_id)
    assert isinstance(artifact.data, str) and "Showing 4 of 4 videos" in artifact.data
    assert read_artifact(stack, f"simian-range-0-4-{run_id[:8]}") is not None, "the summary table stays"
    sheet = sheet_of(artifact.data)
    assert sheet.shape == (48 + LABEL_HEIGHT, 4 * (64 + GAP), 3)
    tiles = tiles_of(sheet, 64, 48)
    assert len(tiles) == 4
    for index, tile in enumerate(tiles):
        first = decode_frames(out / f"data/0000/{index:08d}.mp4")[0]
        others = [shrunk(decode_frames(out / f"data/0000/{i:08d}.mp4")[0], 64, 48) for i in range(4) if i != index]
        error = np.abs(tile - shrunk(first, 64, 48)).mean()
        assert error < 12, f"tile {index} is not the first frame of video {index} ({error:.1f})"
        assert all(error < np.abs(tile - other).mean() for other in others), f"tile {index} is another video's"


@pytest.mark.services
@pytest.mark.blender
def test_the_prefect_ui_shows_the_contact_sheet(stack, range_run):
    if CHROMIUM is None:
        pytest.skip("no chromium binary on PATH (SIMIAN_TEST_TOOLS=1 bin/setup installs Debian's chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    run_id, _ = range_run
    artifact = read_artifact(stack, contact_sheet_key(0, 4, run_id))
    assert artifact is not None and isinstance(artifact.data, str)
    width = sheet_of(artifact.data).shape[1]
    ui = stack.env["PREFECT_API_URL"].removesuffix("/api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 700})
            for route in (f"/v2/artifacts/artifact/{artifact.id}", f"/artifacts/artifact/{artifact.id}"):  # V2, V1
                page.goto(ui + route)
                image = page.wait_for_selector("img[alt='contact sheet']", state="visible", timeout=30_000)
                assert image is not None
                page.wait_for_function("i => i.complete && i.naturalWidth > 0", arg=image, timeout=10_000)
                shown = image.evaluate("i => [i.naturalWidth, i.src.slice(0, 23)]")
                assert shown == [width, "data:image/jpeg;base64,"], (route, shown)
                assert page.get_by_text("Showing 4 of 4 videos").is_visible()
        finally:
            browser.close()


@pytest.mark.services
@pytest.mark.blender
def test_a_dry_run_writes_no_contact_sheet(stack, range_run, tmp_path):
    result, run_id = stack.run_range("start=0", "end=4", "seed=3", *TINY, f"output={tmp_path}/dry", "dry_run=true")
    assert result.returncode == 0, stack.run_report(run_id)
    assert read_artifact(stack, f"simian-range-0-4-{run_id[:8]}") is not None
    assert read_artifact(stack, contact_sheet_key(0, 4, run_id)) is None
