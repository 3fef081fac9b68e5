"""`simian gallery`: a real rendered dataset, its page opened from the file system in a real headless Chromium
(Debian's, driven by playwright): every clip plays beside its captions, the ground-truth overlay follows the video,
filters narrow the list, and text from the data stays text."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from .conftest import run_simian

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra: pip install -e .[test]")

pytestmark = pytest.mark.blender

CHROMIUM = shutil.which("chromium")
SMALL = ["--seed", "1", "--width", "128", "--height", "72", "--frames", "12", "--samples", "2"]
PAYLOAD = "</script><script>alert(1)</script>"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four clips rendered by the real CLI: the first two with segmentation and depth passes, the others without."""
    out = tmp_path_factory.mktemp("gallery") / "dataset"
    for which, extra in (("0:2", ["--passes", "segmentation,depth"]), ("2:4", [])):
        rendered = run_simian("render", "--range", which, *SMALL, *extra, "-o", str(out))
        assert rendered.returncode == 0, rendered.stderr[-3000:]
    return out


def rows(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]


@pytest.fixture(scope="module")
def site(dataset: Path) -> Path:
    built = run_simian("gallery", str(dataset))
    assert built.returncode == 0, built.stderr[-3000:]
    index = dataset / "gallery" / "index.html"
    assert index.is_file() and str(index) in built.stdout
    return index


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("no chromium binary on PATH (SIMIAN_TEST_TOOLS=1 bin/setup installs Debian's chromium)")
    with sync_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=["--autoplay-policy=no-user-gesture-required"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser, site: Path):
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(site.as_uri())
    page.wait_for_selector("article.clip")
    yield page
    page.close()
    assert not errors, f"the page's script failed: {errors}"


def test_every_clip_has_a_card_with_its_captions_verdict_and_thumbnails(page, dataset: Path, site: Path):
    expected = rows(dataset)
    cards = page.locator("article.clip")
    assert cards.count() == len(expected) == 4
    assert page.locator("#counts").text_content() == "4 clips, 4 shown"
    for i, row in enumerate(expected):
        card = cards.nth(i)
        assert card.get_attribute("data-file") == row["file_name"]
        assert card.locator(".caption-long").text_content() == row["caption"]
        assert card.locator(".caption-short").text_content() == row["caption_short"]
        assert card.locator(".caption-camera").text_content() == row["caption_camera"]
        verdict = card.locator(".verdict").text_content()
        thumbs = card.locator("img.thumb")
        if i < 2:  # rendered with passes: judged by the pixel checker, depth and segmentation shown
            assert verdict in ("pass", "fail")
            assert thumbs.count() == 2
            assert thumbs.evaluate_all("imgs => imgs.every(i => i.complete && i.naturalWidth === 128)")
        else:
            assert verdict == "not checked" and thumbs.count() == 0
        recipe = json.loads(card.locator("details.recipe pre").text_content())
        assert recipe == row["combination"]
    for name in ("depth", "segmentation"):
        png = site.parent / "thumbs" / f"00000000.{name}.png"
        pixels = decode_png(png.read_bytes())
        assert pixels.shape == (72, 128, 3) and len(np.unique(pixels.reshape(-1, 3), axis=0)) > 1


def test_the_page_shows_the_dataset_make_up_with_render_seconds(page, dataset: Path, site: Path):
    """The card's charts and the render seconds of every clip (from the sidecars), as images that load."""
    charts = page.locator("#charts img")
    titles = charts.evaluate_all("imgs => imgs.map(i => i.alt)")
    assert {"Objects", "Camera moves", "Shot sizes", "Render seconds per video"} <= set(titles), titles
    page.locator("#makeup summary").click()
    page.wait_for_function("[...document.querySelectorAll('#charts img')].every(i => i.complete && i.naturalWidth)")
    from simian.dataset.charts import seconds_bins

    seconds = [json.loads(p.read_text())["render_seconds"] for p in sorted(dataset.glob("**/0000000?.json"))]
    bins = seconds_bins(seconds)
    assert len(seconds) == 4 and sum(n for _, n in bins) == 4
    svg = (site.parent / "charts" / "render_seconds.svg").read_text()
    assert svg.startswith("<?xml") and all(f">{label}<" in svg for label, _ in bins), (bins, svg[:400])


def test_every_video_plays(page):
    """H.264 from the dataset decodes in Chromium: each video has frames and its time moves on."""
    page.wait_for_function("[...document.querySelectorAll('video')].every(v => v.readyState >= 2)", timeout=15000)
    distinct = page.evaluate(
        """async () => {
            const videos = [...document.querySelectorAll('video')];
            const seen = videos.map(() => new Set());
            for (let i = 0; i < 25; i++) {
                videos.forEach((v, k) => seen[k].add(v.currentTime));
                await new Promise(r => setTimeout(r, 40));
            }
            return videos.map((v, k) => [seen[k].size, v.error && v.error.code, v.videoWidth]);
        }"""
    )
    assert len(distinct) == 4
    for times, error, width in distinct:
        assert error is None and width == 128 and times >= 3, distinct


def canvas_alpha(page, card) -> np.ndarray:
    """The overlay canvas's alpha channel, read back from the page."""
    width, height, alpha = card.locator("canvas.overlay").evaluate(
        """c => {
            const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            const alpha = [];
            for (let i = 3; i < data.length; i += 4) alpha.push(data[i]);
            return [c.width, c.height, alpha];
        }"""
    )
    return np.array(alpha, dtype=np.uint8).reshape(height, width)


def test_the_overlay_draws_each_frames_boxes_over_the_video_and_clears_when_off(page, dataset: Path):
    expected = rows(dataset)
    # The clip whose box moves most between the first and last frames shows the overlay following the video.
    moved = [abs(r["objects"][0]["box"][-1][0] - r["objects"][0]["box"][0][0]) for r in expected]
    i = int(np.argmax(moved))
    row, card = expected[i], page.locator("article.clip").nth(i)
    assert moved[i] * 4 > 12, "a clip whose box moves by a few canvas pixels"
    assert not canvas_alpha(page, card).any(), "no overlay before the toggle"
    card.locator("input.overlay-toggle").check()
    video = card.locator("video")
    fps, frames = row["settings"]["fps"], row["settings"]["frames"]
    for frame in (0, frames - 1):
        video.evaluate(
            """(v, t) => new Promise(done => {
                v.pause();
                const drawn = () => requestAnimationFrame(() => requestAnimationFrame(done));
                v.addEventListener('seeked', drawn, {once: true});
                v.currentTime = t;
            })""",
            (frame + 0.5) / fps,
        )
        alpha = canvas_alpha(page, card)
        scale = alpha.shape[1] / row["settings"]["width"]
        x0, y0, x1, y1 = row["objects"][0]["box"][frame]
        left, middle = round(x0 * scale), round((y0 + y1) / 2 * scale)
        assert alpha[middle, left] == 255, f"frame {frame}: the box's left edge is drawn where the row puts it"
        other = row["objects"][0]["box"][frames - 1 - frame][0]
        assert alpha[middle, round(other * scale)] == 0, f"frame {frame}: not the other frame's box"
        assert 0.001 < (alpha > 0).mean() < 0.5
    card.locator("input.overlay-toggle").uncheck()
    assert not canvas_alpha(page, card).any(), "toggled off: the canvas is clear"


def test_filters_narrow_the_list_to_the_matching_clips(page, dataset: Path):
    expected = rows(dataset)
    moves = [r["combination"]["animation"]["name"] for r in expected]
    move = min(set(moves), key=moves.count)
    page.select_option("select.filter-move", move)
    visible = page.locator("article.clip:visible")
    assert visible.count() == moves.count(move) < 4
    assert {visible.nth(k).get_attribute("data-file") for k in range(visible.count())} == {
        r["file_name"] for r, m in zip(expected, moves, strict=True) if m == move
    }
    assert page.locator("#counts").text_content() == f"4 clips, {moves.count(move)} shown"
    page.select_option("select.filter-move", "")
    page.select_option("select.filter-verdict", "not checked")
    assert page.locator("article.clip:visible").count() == 2, "the two clips rendered without a segmentation pass"
    names = [o["name"] for o in expected[0]["combination"]["objects"]]
    page.select_option("select.filter-object", names[0])
    assert page.locator("article.clip:visible").count() == 0, "object and verdict filters combine"
    page.select_option("select.filter-verdict", "")
    assert page.locator("article.clip:visible").count() == sum(
        names[0] in [o["name"] for o in r["combination"]["objects"]] for r in expected
    )


def decode_png(data: bytes) -> np.ndarray:
    with av.open(io.BytesIO(data), format="png_pipe") as container:
        return next(container.decode(video=0)).to_ndarray(format="rgb24")


def test_a_screenshot_shows_the_page_and_the_video_frames(page):
    page.wait_for_function("[...document.querySelectorAll('video')].every(v => v.readyState >= 2)", timeout=15000)
    shot = decode_png(page.screenshot())
    assert shot.shape == (900, 1200, 3) and len(np.unique(shot.reshape(-1, 3), axis=0)) > 100
    frame = decode_png(page.locator("video").first.screenshot())
    assert frame.std() > 5 and frame.mean() > 10, "the video element shows a rendered frame, not black"


def test_text_from_the_data_stays_text(browser, dataset: Path, tmp_path: Path):
    """A caption that closes the script block renders as the words it is, runs nothing, and a site folder beside
    the dataset still finds its videos."""
    copy = tmp_path / "copy"
    shutil.copytree(dataset, copy, ignore=shutil.ignore_patterns("gallery"))
    sidecar = copy / "00000000.json"
    data = json.loads(sidecar.read_text(encoding="utf-8"))
    data["caption"] = data["caption_short"] = f"A mug {PAYLOAD} & <b>bold</b>"
    sidecar.write_text(json.dumps(data), encoding="utf-8")
    built = run_simian("gallery", str(copy), "-o", str(tmp_path / "site"))
    assert built.returncode == 0, built.stderr[-3000:]
    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto((tmp_path / "site" / "index.html").as_uri())
    card = page.locator("article.clip").first
    assert card.locator(".caption-long").text_content() == data["caption"]
    assert card.locator(".caption-short").text_content() == data["caption"]
    assert page.locator("article.clip").count() == 4 and page.locator("b").count() == 0
    assert page.evaluate("document.scripts.length") == 2
    page.wait_for_function("[...document.querySelectorAll('video')].every(v => v.readyState >= 2)", timeout=15000)
    page.wait_for_timeout(300)
    assert not dialogs, f"a script from the data ran: {dialogs}"
    assert card.locator("video").get_attribute("src") == "../copy/00000000.mp4"
    page.close()


def test_a_bad_dataset_ends_in_one_line_and_status_2(tmp_path: Path):
    empty = tmp_path / "empty"
    empty.mkdir()
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "00000000.json").write_text("{not json", encoding="utf-8")
    for argv, words in (
        ([str(tmp_path / "missing")], "is not a folder"),
        ([str(empty)], "no render sidecars"),
        ([str(broken)], "not a readable JSON sidecar"),
        ([str(empty), "-o", "/usr/lib/simian-gallery"], "system folder"),
    ):
        result = run_simian("gallery", *argv)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2, result.stderr
        assert len(lines) == 1 and words in lines[0] and "Traceback" not in result.stderr, result.stderr
        assert argv[-1].split("/")[-1] in lines[0], "the message names the path"
    assert not (empty / "gallery").exists()
