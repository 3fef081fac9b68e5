"""What a viewer can see of each object, measured on the rendered frames (no bpy).

The geometric checker judges projected bounding boxes; a box overstates a thin lamp, an umbrella
seen from above or a white shade on a white floor. Here each object is measured on its own
visible pixels (the segmentation pass of the frames actually rendered) and on the colour frames
(how far its colour stands out from the pixels around it), and judged against thresholds
calibrated on labels made by looking at frames (bench/caption_labels/).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simian.recipe.combination import Combination
from simian.render.pass_arrays import load
from simian.scene.recognition import (
    CALIBRATION_HEIGHT,
    MIN_SHORT_SIDE_PX,
    THIN_PARTS,
    size_factor,
    view_allows,
)

#: Thresholds of a recognisable object, calibrated on bench/caption_labels/ (see bench/CAPTION_TRUTH.md); the
#: size rule and the views each type allows are shared with the composition (`simian.scene.recognition`).
MIN_CONTRAST = 4.0  # CIE76 colour difference between the object's pixels and the background around it (camouflage)
#: Thin parts (a lamp's shade and arm, an umbrella's pole) vanish into a floor whose own pattern varies as much as
#: they differ from it (a white shade on a grey-and-white checkerboard): for those types the contrast must be this
#: many times the background's own variation.
MIN_THIN_DISTINCTNESS = 1.5
MIN_FRAME_SHARE = 0.5  # of the frames: enough of the clip must show it recognisably


@dataclass(frozen=True)
class FrameMeasure:
    pixels: int
    short_side_px: float
    contrast: float
    clutter: float = 0.0  # the background's own variation around the object (same unit as contrast)

    def distinctness(self) -> float:
        return self.contrast / max(self.clutter, 1.0)


@dataclass(frozen=True)
class ObjectPixels:
    """One object over the clip: per-frame measures (None where it has no visible pixel)."""

    index: int  # 0-based object index of the caption
    frames: tuple[FrameMeasure | None, ...]

    def share_passing(self, min_short_side: float, min_contrast: float, min_distinctness: float = 0.0) -> float:
        ok = [
            f is not None
            and f.short_side_px >= min_short_side
            and f.contrast >= min_contrast
            and f.distinctness() >= min_distinctness
            for f in self.frames
        ]
        return sum(ok) / len(ok) if ok else 0.0

    def median(self, attribute: str) -> float:
        values = [getattr(f, attribute) for f in self.frames if f is not None]
        return float(np.median(values)) if values else 0.0


def _srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """uint8 sRGB (..., 3) to CIE L*a*b* (D65)."""
    c = rgb.astype(np.float64) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = linear @ np.array(
        [[0.4124564, 0.2126729, 0.0193339], [0.3575761, 0.7151522, 0.1191920], [0.1804375, 0.0721750, 0.9503041]]
    )
    xyz = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Square dilation by `radius` pixels (separable running maximum)."""
    out = mask.copy()
    for axis in (0, 1):
        grown = out.copy()
        for step in range(1, radius + 1):
            grown |= np.roll(out, step, axis=axis) & _valid_shift(out.shape, step, axis)
            grown |= np.roll(out, -step, axis=axis) & _valid_shift(out.shape, -step, axis)
        out = grown
    return out


def _valid_shift(shape: tuple[int, ...], step: int, axis: int) -> np.ndarray:
    """Where a rolled array holds shifted pixels, not ones wrapped round from the other edge."""
    valid = np.ones(shape, dtype=bool)
    index = [slice(None), slice(None)]
    index[axis] = slice(0, step) if step > 0 else slice(step, None)
    valid[tuple(index)] = False
    return valid


def short_side(mask: np.ndarray) -> float:
    """Visible extent across the mask's principal narrow direction (2nd to 98th percentile), in pixels."""
    ys, xs = np.nonzero(mask)
    if len(xs) < 2:
        return float(len(xs))
    points = np.stack([xs, ys], axis=1).astype(np.float64)
    points -= points.mean(axis=0)
    _, vectors = np.linalg.eigh(np.cov(points.T))
    across = points @ vectors[:, 0]  # the eigenvector of the smallest variance
    low, high = np.percentile(across, [2, 98])
    return float(high - low + 1.0)


def contrast(lab: np.ndarray, mask: np.ndarray, background: np.ndarray, radius: int) -> tuple[float, float]:
    """How far the object stands out from what surrounds it, and how much the surroundings vary themselves: the
    colour difference from the background ring's median colour that a quarter of the object's pixels exceed (so
    that a white snowman's black hat or a white rocket's red fins count, where comparing two medians saw only white
    on white), and the median difference of the ring's own pixels."""
    ring = _dilate(mask, radius) & ~mask & background
    if not ring.any():
        return 0.0, 0.0
    around = lab[ring]
    centre = np.median(around, axis=0)
    inside = float(np.percentile(np.linalg.norm(lab[mask] - centre, axis=1), 75))
    return inside, float(np.median(np.linalg.norm(around - centre, axis=1)))


def measure(frames: Sequence[np.ndarray], segmentation: np.ndarray, count: int) -> list[ObjectPixels]:
    """Per object, per frame: visible pixels, short side and contrast. `frames` are uint8 RGB frames, and
    `segmentation` the (frames, height, width) instance ids of the same render (object i is id i + 1)."""
    if len(frames) != len(segmentation):
        raise ValueError(f"{len(frames)} colour frames but {len(segmentation)} segmentation frames")
    per_object: list[list[FrameMeasure | None]] = [[] for _ in range(count)]
    for rgb, ids in zip(frames, segmentation, strict=True):
        lab = _srgb_to_lab(rgb)
        for index in range(count):
            mask = ids == index + 1
            pixels = int(mask.sum())
            if pixels == 0:
                per_object[index].append(None)
                continue
            side = short_side(mask)
            ring = max(2, round(0.25 * side))
            per_object[index].append(FrameMeasure(pixels, side, *contrast(lab, mask, ids == 0, ring)))
    return [ObjectPixels(i, tuple(f)) for i, f in enumerate(per_object)]


@dataclass(frozen=True)
class Thresholds:
    short_side_px: float = MIN_SHORT_SIDE_PX
    contrast: float = MIN_CONTRAST
    frame_share: float = MIN_FRAME_SHARE
    thin_distinctness: float = MIN_THIN_DISTINCTNESS


def recognisable(
    obj: ObjectPixels,
    asset: str,
    yaw: float,
    pitch: float,
    limits: Thresholds = Thresholds(),
    frame_height: int = CALIBRATION_HEIGHT,
) -> bool:
    """Whether a viewer can name the object: large, thick and distinct enough on enough frames, from a view its
    type allows. Pixel sizes scale with the frame height."""
    side = limits.short_side_px * size_factor(asset, yaw) * frame_height / CALIBRATION_HEIGHT
    distinctness = limits.thin_distinctness if asset in THIN_PARTS else 0.0
    return view_allows(asset, pitch) and obj.share_passing(side, limits.contrast, distinctness) >= limits.frame_share


@dataclass(frozen=True)
class ObjectVerdict:
    index: int
    name: str
    asset: str
    ok: bool
    detail: str


def check_output(video: Path, segmentation: Path, combination: Combination) -> list[ObjectVerdict]:
    """Judge each named object of a rendered video from its frames and its segmentation pass."""
    import av

    with av.open(str(video)) as container:
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    ids = load(segmentation, "segmentation")
    measured = measure(frames, ids, len(combination.objects))
    yaw, pitch = combination.orientation.yaw, combination.orientation.pitch
    verdicts = []
    for obj, pixels in zip(combination.objects, measured, strict=True):
        detail = (
            f"visible short side {pixels.median('short_side_px'):.0f} px, contrast {pixels.median('contrast'):.0f} "
            f"(background variation {pixels.median('clutter'):.0f}), "
            f"camera {pitch:.0f} degrees above"
        )
        ok = recognisable(
            pixels, obj.asset, yaw, pitch, frame_height=frames[0].shape[0] if frames else CALIBRATION_HEIGHT
        )
        verdicts.append(ObjectVerdict(pixels.index, obj.name, obj.asset, ok, detail))
    return verdicts
