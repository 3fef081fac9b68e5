"""Clip presets: the width, height, frame count and frame rate of named training formats.

A preset fills the render settings the user did not give; explicit settings override it. Each preset
belongs to a model family whose inputs are constrained (frame counts of the form 4k+1 or 8k+1, sizes
in multiples of 16, or one fixed size); a frame count or size the family cannot take is refused with
the nearest ones it can. Every shape says where it comes from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

PresetName = Literal["cogvideox", "cogvideox1.5", "wan-480p", "wan-720p", "preview"]


@dataclass(frozen=True)
class Family:
    """What a model family takes: frame counts `step * k + 1` (k >= 1, at most `max_frames`), and sizes that are
    multiples of `size_multiple` or, when `sizes` is set, exactly one of those (width, height) pairs."""

    name: str
    frame_step: int
    max_frames: int | None = None
    size_multiple: int = 16
    sizes: tuple[tuple[int, int], ...] = ()

    def frame_problem(self, frames: int) -> str | None:
        """Why `frames` does not fit, with the nearest counts that do; None when it fits."""
        step, top = self.frame_step, self.max_frames
        fits = frames >= step + 1 and (frames - 1) % step == 0 and (top is None or frames <= top)
        if fits:
            return None
        below = max(step + 1, (frames - 1) // step * step + 1)
        above = below + step if below < frames else below
        if top is not None:
            below, above = min(below, top), min(above, top)
        options = sorted({below, above})
        limit = f" up to {top}" if top is not None else ""
        return (
            f"{frames} frames do not fit {self.name}, which takes {step}k+1 frames{limit}; "
            f"use {' or '.join(str(o) for o in options)}"
        )

    def width_problem(self, width: int) -> str | None:
        """Why the width does not fit, with the fix; None when it fits."""
        if self.sizes:
            if any(width == w for w, _ in self.sizes):
                return None
            return f"{width} does not fit {self.name}, which takes {self._sizes()} only; use {self._sizes()}"
        return self._multiple_problem(width)

    def height_problem(self, width: int, height: int) -> str | None:
        """Why the height does not fit (with a width that does), with the fix; None when it fits."""
        if self.sizes:
            if (width, height) in self.sizes:
                return None
            return f"{width}x{height} does not fit {self.name}, which takes {self._sizes()} only; use {self._sizes()}"
        return self._multiple_problem(height)

    def _sizes(self) -> str:
        return " or ".join(f"{w}x{h}" for w, h in self.sizes)

    def _multiple_problem(self, value: int) -> str | None:
        m = self.size_multiple
        if value % m == 0:
            return None
        options = " or ".join(str(o) for o in (value // m * m, (value // m + 1) * m) if o > 0)
        return f"{value} is not a multiple of {m}, which {self.name} needs; use {options}"


@dataclass(frozen=True)
class Preset:
    name: PresetName
    width: int
    height: int
    frames: int
    fps: int
    family: Family
    source: str

    def shape(self) -> dict[str, int]:
        return {"width": self.width, "height": self.height, "frames": self.frames, "fps": self.fps}


COGVIDEOX = Family("CogVideoX-2B/5B", frame_step=8, max_frames=49, sizes=((720, 480),))
COGVIDEOX_15 = Family("CogVideoX1.5-5B", frame_step=16, max_frames=161, sizes=((1360, 768),))
WAN = Family("Wan 2.1", frame_step=4)
PREVIEW = Family("the preview shape", frame_step=4)

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "cogvideox",
            720,
            480,
            49,
            8,
            COGVIDEOX,
            "CogVideoX-2B/5B model table (github.com/zai-org/CogVideo): 720 x 480, 8N+1 frames (N <= 6, default 49), "
            "8 fps (6 seconds)",
        ),
        Preset(
            "cogvideox1.5",
            1360,
            768,
            81,
            16,
            COGVIDEOX_15,
            "CogVideoX1.5-5B model table (github.com/zai-org/CogVideo): 1360 x 768, 16N+1 frames (N <= 10, default "
            "81), 16 fps",
        ),
        Preset(
            "wan-480p",
            832,
            480,
            81,
            16,
            WAN,
            "Wan 2.1 text-to-video (github.com/Wan-Video/Wan2.1; diffusers WanPipeline): 480P is 832 x 480, 81 frames "
            "at 16 fps; frame counts 4k+1, sizes divisible by 16",
        ),
        Preset(
            "wan-720p",
            1280,
            720,
            81,
            16,
            WAN,
            "Wan 2.1 text-to-video (github.com/Wan-Video/Wan2.1; diffusers WanPipeline): 720P is 1280 x 720, 81 frames "
            "at 16 fps; frame counts 4k+1, sizes divisible by 16",
        ),
        Preset(
            "preview",
            128,
            128,
            17,
            24,
            PREVIEW,
            "Simian's own quick look: square, 4k+1 frames and sizes in multiples of 16 like the 4k+1 families, at the "
            "planned clip's 24 fps so the whole clip lies inside the planned second; renders in seconds on a CPU",
        ),
    )
}

#: The render settings a preset sets.
SHAPE_FIELDS = ("width", "height", "frames", "fps")


def with_preset(values: dict[str, Any]) -> dict[str, Any]:
    """The settings `values` with the fields its preset sets filled in where they are not given (or None)."""
    preset = PRESETS.get(values.get("preset") or "")
    if preset is None:
        return values
    shape = preset.shape()
    return {**values, **{k: shape[k] for k in SHAPE_FIELDS if values.get(k) is None}}


def frame_problem(preset: str | None, frames: int) -> str | None:
    chosen = PRESETS.get(preset or "")
    return chosen.family.frame_problem(frames) if chosen else None


def width_problem(preset: str | None, width: int) -> str | None:
    chosen = PRESETS.get(preset or "")
    return chosen.family.width_problem(width) if chosen else None


def height_problem(preset: str | None, width: int, height: int) -> str | None:
    chosen = PRESETS.get(preset or "")
    return chosen.family.height_problem(width, height) if chosen else None


def preset_table() -> list[str]:
    """`simian presets`: one block per preset, its shape and where the shape comes from."""
    lines = []
    for p in PRESETS.values():
        seconds = p.frames / p.fps
        lines.append(f"{p.name:<13} {p.width}x{p.height}, {p.frames} frames at {p.fps} fps ({seconds:.2f} s)")
        lines.append(f"{'':<13} source: {p.source}")
    return lines
