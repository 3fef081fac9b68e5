"""Checks of what Blender wrote: decode verification and checksums.

A render is only handed on after its file decodes to exactly what was asked for.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from pathlib import Path

import av

from simian.errors import InvalidInputError
from simian.recipe.combination import Combination
from simian.render.render_settings import RenderSettings


class OutputVerificationError(RuntimeError):
    """A rendered file does not decode to what was asked for."""


def ensure_writable_dir(out_dir: Path) -> None:
    """Create the output folder and prove we can write there, before any render starts."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / f".simian-write-test-{uuid.uuid4().hex[:8]}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise InvalidInputError(
            f"output: cannot write to {out_dir} ({exc.strerror or exc}); choose another folder with -o "
            "or fix its permissions"
        ) from None


def verify_video(path: Path, frames: int, width: int, height: int) -> None:
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            video_format = stream.codec_context.format
            codec, pix_fmt = stream.codec_context.name, video_format.name if video_format else "none"
            count = 0
            for frame in container.decode(stream):
                if (frame.width, frame.height) != (width, height):
                    raise OutputVerificationError(
                        f"{path.name}: frame {count} is {frame.width}x{frame.height}, expected {width}x{height}"
                    )
                count += 1
    except (av.error.FFmpegError, IndexError) as exc:
        raise OutputVerificationError(f"{path.name} does not decode: {exc}") from exc
    if count != frames:
        raise OutputVerificationError(f"{path.name} decodes to {count} frames, expected {frames}")
    if codec != "h264" or pix_fmt != "yuv420p":
        raise OutputVerificationError(f"{path.name} is {codec}/{pix_fmt}, expected h264/yuv420p")


def verify_frames(folder: Path, frames: int, width: int, height: int) -> None:
    pngs = sorted(folder.glob("frame_*.png"))
    if len(pngs) != frames:
        raise OutputVerificationError(f"{folder.name} holds {len(pngs)} PNG frames, expected {frames}")
    for png in pngs:
        try:
            with av.open(str(png)) as container:
                frame = next(container.decode(video=0))
        except (av.error.FFmpegError, StopIteration) as exc:
            raise OutputVerificationError(f"{png.name} does not decode: {exc}") from exc
        if (frame.width, frame.height) != (width, height):
            raise OutputVerificationError(f"{png.name} is {frame.width}x{frame.height}, expected {width}x{height}")


def verify_media(path: Path, settings: RenderSettings) -> None:
    if settings.images:
        verify_frames(path, settings.frames, settings.width, settings.height)
    else:
        verify_video(path, settings.frames, settings.width, settings.height)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    if path.is_dir():
        for item in sorted(path.iterdir()):
            digest.update(item.name.encode())
            digest.update(sha256_of(item).encode())
        return digest.hexdigest()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class RenderedOutput:
    sidecar: Path
    combination: Combination
    settings: RenderSettings
    caption: str


def rendered_outputs(directory: Path) -> list[RenderedOutput]:
    """Every render sidecar under `directory` (an output folder or a dataset), in index order."""
    from simian.recipe.combination import parse_combination
    from simian.render.render_settings import parse_render_settings

    if not directory.is_dir():
        raise InvalidInputError(f"check: {directory} is not a folder; give a render output folder or a dataset")
    outputs = []
    for path in sorted(directory.rglob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidInputError(f"check: {path} is not a readable JSON sidecar ({exc})") from None
        if not isinstance(data, dict) or "combination" not in data or "settings" not in data:
            continue
        combination = parse_combination(data["combination"], f"{path}: combination")
        try:
            settings = parse_render_settings(**data["settings"])
        except (InvalidInputError, TypeError) as exc:
            raise InvalidInputError(f"{path}: field 'settings': {exc}") from None
        caption = data.get("caption")
        if not isinstance(caption, str):
            raise InvalidInputError(f"{path}: field 'caption': missing or not text")
        outputs.append(RenderedOutput(path, combination, settings, caption))
    if not outputs:
        raise InvalidInputError(f"check: no render sidecars (JSON with 'combination' and 'settings') under {directory}")
    return sorted(outputs, key=lambda o: (o.combination.index, o.combination.variant))
