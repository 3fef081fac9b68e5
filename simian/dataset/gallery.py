"""`simian gallery`: a static HTML page to review a rendered dataset by eye.

Every clip plays beside its captions, its recipe and a ground-truth overlay, with the pixel checker's verdict,
so a person can see whether the words and boxes match the pictures. The page opens from the file system with no
server: the data is embedded in the page (browsers refuse fetch() of local files), the videos are linked by
relative paths, and the only files written are the page and the pass thumbnails.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

from simian import atomic
from simian.dataset.charts import chart_files, chart_titles
from simian.dataset.layout import media_suffix, row_from_sidecar
from simian.errors import InvalidInputError
from simian.render.outputs import RenderedOutput, ensure_writable_dir, rendered_outputs
from simian.render.pass_arrays import load, pass_suffix

#: Where the site goes when no folder is given: inside the dataset, so the two travel together.
DEFAULT_FOLDER = "gallery"
TEMPLATE = Path(__file__).with_name("gallery.html")
THUMBS = "thumbs"
#: Colour of segmentation id i + 1 (object i of the caption), shared by the thumbnails and the overlay's boxes.
PALETTE = (
    (230, 25, 75),
    (60, 180, 75),
    (255, 225, 25),
    (0, 130, 200),
    (245, 130, 48),
    (145, 30, 180),
    (70, 240, 240),
    (240, 50, 230),
    (210, 245, 60),
    (250, 190, 212),
)
BACKGROUND = (40, 40, 40)
#: Where the template takes the data: the body of its JSON <script> block.
DATA_MARK = "/*GALLERY_DATA*/"


def build(dataset: Path, site: Path) -> Path:
    """Write `site`/index.html for every rendered clip under `dataset` (sidecars, videos, pass files);
    return the page's path."""
    outputs = _outputs(dataset)
    ensure_writable_dir(site)
    site = site.resolve()
    sidecars = [json.loads(output.sidecar.read_text(encoding="utf-8")) for output in outputs]
    clips = [_clip(output, sidecar, dataset.resolve(), site) for output, sidecar in zip(outputs, sidecars, strict=True)]
    data = {"title": dataset.resolve().name, "palette": PALETTE, "clips": clips, "charts": _charts(sidecars, site)}
    page = TEMPLATE.read_text(encoding="utf-8").replace(DATA_MARK, embedded_json(data))
    index = site / "index.html"
    atomic.write_text(index, page)
    return index


def _charts(sidecars: list[dict[str, Any]], site: Path) -> list[dict[str, str]]:
    """The dataset's make-up, the card's charts and the render seconds beside them, as files under `site`/charts."""
    seconds = [float(s["render_seconds"]) for s in sidecars if isinstance(s.get("render_seconds"), int | float)]
    files = chart_files([row_from_sidecar(sidecar) for sidecar in sidecars], seconds)
    for path, svg in files.items():
        (site / path).parent.mkdir(parents=True, exist_ok=True)
        atomic.write_text(site / path, svg)
    return [{"title": title, "src": path} for path, title in chart_titles(files).items()]


def embedded_json(data: Any) -> str:
    """JSON that cannot end the <script> block it sits in (a caption holding `</script>` stays text)."""
    return json.dumps(data, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _outputs(dataset: Path) -> list[RenderedOutput]:
    """The dataset's clips, or one line naming the path and the fix."""
    if not dataset.is_dir():
        raise InvalidInputError(f"gallery: {dataset} is not a folder; give a dataset folder or a render output folder")
    try:
        return rendered_outputs(dataset)
    except InvalidInputError as exc:  # the shared reader words its errors for `check`
        message = str(exc).removeprefix("check: ")
        if message.startswith("no render sidecars"):
            message += "; render into it first (`simian render ... -o DIR`, or `make demo` for ./dataset)"
        raise InvalidInputError(f"gallery: {message}") from None


def _clip(output: RenderedOutput, sidecar: dict[str, Any], dataset: Path, site: Path) -> dict[str, Any]:
    """What the page shows of one clip: its row's captions and ground truth, links, thumbnails, verdict."""
    row = row_from_sidecar(sidecar)
    settings, combination = output.settings, output.combination
    media = output.sidecar.with_suffix(media_suffix(settings))
    passes = {
        name: path
        for name in ("depth", "segmentation")
        if (path := output.sidecar.with_suffix(pass_suffix(name))).is_file()
    }
    stem = output.sidecar.resolve().relative_to(dataset).with_suffix("").as_posix().replace("/", "-")
    frames = sorted(media.glob("frame_*.png")) if settings.images else []
    return {
        "file_name": row["file_name"] or media.name,
        "video": None if settings.images else _href(media, site),
        "still": _href(frames[0], site) if frames else None,
        "caption": output.caption,
        "caption_short": row["caption_short"],
        "caption_camera": row["caption_camera"],
        "captions_structured": row["captions_structured"],
        "recipe": row["combination"],
        "settings": {key: getattr(settings, key) for key in ("width", "height", "fps", "frames")},
        "objects": [{k: o.get(k) for k in ("id", "name", "box")} for o in row["objects"] or [] if isinstance(o, dict)],
        "object_types": sorted({obj.name for obj in combination.objects}),
        "camera_move": combination.animation.name,
        "shot_size": combination.framing.name,
        **_verdict(output, media, passes.get("segmentation")),
        "thumbs": {name: _thumbnail(name, path, site, stem) for name, path in passes.items()},
    }


def _href(target: Path, site: Path) -> str:
    """A link from the page to a dataset file that holds wherever the site folder sits, inside or beside."""
    return quote(Path(os.path.relpath(target.resolve(), site)).as_posix())


def _verdict(output: RenderedOutput, media: Path, segmentation: Path | None) -> dict[str, Any]:
    """The pixel checker's word on the clip: pass, fail (with the objects it cannot name) or not checked."""
    if segmentation is None or output.settings.images:
        return {"verdict": "not checked", "failed": [], "note": "no segmentation pass beside the video"}
    import av

    from simian.render.pixel_truth import check_output

    try:
        verdicts = check_output(media, segmentation, output.combination)
    except (OSError, ValueError, KeyError, IndexError, zipfile.BadZipFile, av.error.FFmpegError) as exc:
        return {"verdict": "not checked", "failed": [], "note": f"the pixel check could not read the clip: {exc}"}
    failed = [{"name": v.name, "asset": v.asset, "detail": v.detail} for v in verdicts if not v.ok]
    return {"verdict": "fail" if failed else "pass", "failed": failed, "note": ""}


def _thumbnail(name: str, path: Path, site: Path, stem: str) -> str | None:
    """The pass's middle frame as a PNG in the site folder (depth as grey, near light; ids as colours)."""
    try:
        array = load(path, name)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        return None
    if array.ndim != 3 or not array.shape[0]:
        return None
    frame = array[array.shape[0] // 2]
    rgb = depth_grey(frame) if name == "depth" else segmentation_colours(frame)
    relative = f"{THUMBS}/{stem}.{name}.png"
    atomic.write_bytes(site / relative, _png(rgb))
    return quote(relative)


def depth_grey(depth: np.ndarray) -> np.ndarray:
    """Planar depth normalised over the frame's surfaces: nearest white, farthest dark grey, no surface black."""
    metres = depth.astype(np.float32)
    surface = np.isfinite(metres)
    grey = np.zeros(metres.shape, dtype=np.uint8)
    if surface.any():
        near, far = float(metres[surface].min()), float(metres[surface].max())
        share = (metres[surface] - near) / max(far - near, 1e-6)
        grey[surface] = np.round(255 - 195 * share).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=-1)


def segmentation_colours(ids: np.ndarray) -> np.ndarray:
    """Instance ids as the palette's colours (0, floor and sky, dark grey), as the overlay draws their boxes."""
    table = np.array([BACKGROUND] + [PALETTE[i % len(PALETTE)] for i in range(255)], dtype=np.uint8)
    return table[ids.astype(np.uint8)]


def _png(rgb: np.ndarray) -> bytes:
    from matplotlib.image import imsave

    buffer = io.BytesIO()
    imsave(buffer, rgb, format="png")
    return buffer.getvalue()
