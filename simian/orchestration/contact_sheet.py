"""A contact sheet of first frames for the range run's summary: what the range looks like at a glance.

A reviewer of a run in the Prefect UI sees counts; a glance at the frames catches what counts cannot (black
renders, a wrong camera, missing objects). A chunk records a small JPEG of each video's first frame with the
video's outcome, only for the first `SHEET_TILES` videos of the range (Redis holds a few KB per video, never
one per video of a million-video range); the range run composes them into one JPEG, tiles in index order, each
labelled with its video. Pure Python, PyAV and Pillow: no Prefect, no Redis.
"""

from __future__ import annotations

import base64
import io
import logging
from collections.abc import Iterable
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw

logger = logging.getLogger(__name__)

#: Tiles of the sheet at most: the first videos of the range in index order.
SHEET_TILES = 24
COLUMNS = 6
THUMB_WIDTH = 128
#: The band under each tile holding its label, and the gap between tiles side by side.
LABEL_HEIGHT = 14
GAP = 2
BACKGROUND = (24, 24, 24)
LABEL_COLOUR = (235, 235, 235)
THUMB_QUALITY = 75
SHEET_QUALITY = 85


def first_frame(media: Path) -> np.ndarray:
    """The first frame of a video (or of a folder of PNG frames) as RGB."""
    if media.is_dir():
        frames = sorted(media.glob("*.png"))
        if not frames:
            raise FileNotFoundError(f"{media} holds no PNG frames")
        media = frames[0]
    with av.open(str(media)) as container:
        frame = next(container.decode(video=0))
        return frame.to_ndarray(format="rgb24")


def thumbnail(rgb: np.ndarray, width: int = THUMB_WIDTH) -> bytes:
    """A JPEG `width` pixels wide (never wider than the frame), keeping the frame's aspect."""
    image = Image.fromarray(np.ascontiguousarray(rgb[..., :3], dtype=np.uint8))
    width = min(width, image.width)
    height = max(1, round(image.height * width / image.width))
    buffer = io.BytesIO()
    image.resize((width, height), Image.Resampling.LANCZOS).save(buffer, format="JPEG", quality=THUMB_QUALITY)
    return buffer.getvalue()


def thumbnail_of(media: Path, what: str) -> str | None:
    """The first frame of `media` as a base64 JPEG thumbnail, or None (with a log line) if it cannot be read:
    a thumbnail is never worth failing a video for."""
    try:
        return base64.b64encode(thumbnail(first_frame(media))).decode("ascii")
    except Exception as exc:
        logger.warning("%s: no thumbnail of its first frame (%s: %s)", what, type(exc).__name__, exc)
        return None


def compose(tiles: Iterable[tuple[str, str]], columns: int = COLUMNS) -> tuple[bytes, int]:
    """One JPEG of (label, base64 JPEG thumbnail) tiles, row by row in the order given, each labelled below,
    and how many tiles it shows. Every cell is as large as the largest thumbnail (plus the label band and the
    gap), the thumbnail centred at its top; a thumbnail that does not decode is left out."""
    images: list[tuple[str, Image.Image]] = []
    for label, encoded in tiles:
        try:
            with Image.open(io.BytesIO(base64.b64decode(encoded, validate=True))) as decoded:
                images.append((label, decoded.convert("RGB")))
        except Exception as exc:
            logger.warning("video %s: its thumbnail does not decode (%s); left off the contact sheet", label, exc)
    if not images:
        raise ValueError("no thumbnail to compose")
    cell_w = max(image.width for _, image in images) + GAP
    cell_h = max(image.height for _, image in images) + LABEL_HEIGHT
    columns = min(columns, len(images))
    rows = -(-len(images) // columns)
    sheet = Image.new("RGB", (columns * cell_w, rows * cell_h), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    for position, (label, image) in enumerate(images):
        x, y = (position % columns) * cell_w, (position // columns) * cell_h
        sheet.paste(image, (x + (cell_w - image.width) // 2, y))
        draw.text((x + 2, y + cell_h - LABEL_HEIGHT + 1), label, fill=LABEL_COLOUR)
    buffer = io.BytesIO()
    sheet.save(buffer, format="JPEG", quality=SHEET_QUALITY)
    return buffer.getvalue(), len(images)


def sheet_markdown(tiles: Iterable[tuple[str, str]], videos: int, span: str) -> str | None:
    """The artifact's markdown: the sheet as a data URI and a line saying how many videos it shows, or None
    when there is no thumbnail to show."""
    try:
        sheet, shown = compose(tiles)
    except ValueError:
        return None
    uri = "data:image/jpeg;base64," + base64.b64encode(sheet).decode("ascii")
    return (
        f"### First frames of {span}\n\n"
        f"![contact sheet]({uri})\n\n"
        f"Showing {shown} of {videos} videos: the first frames of the range's first {SHEET_TILES} videos "
        "in index order that were rendered or cached, each labelled with its video.\n"
    )
