"""Post-processing levels the renderer applies, calibrated so that each captioned level shows.

The recipe names a level per effect (none/low/medium/high); the renderer applies the settings
below for that level, not raw recipe numbers, because raw values (a bloom threshold above every
pixel, an ambient-occlusion distance smaller than any crease) often changed nothing visible.
`bench/calibrate_effects.py` renders reference scenes at the default render size with and without
each level and writes the measured change to `bench/effects_calibration.json`; the numbers are
copied into `MEASURED` below, and a caption names a level only where it was measured visible.
"""

from __future__ import annotations

from dataclasses import dataclass

from simian.assets.catalog import BUILTIN_BACKGROUNDS


@dataclass(frozen=True)
class BloomSetting:
    threshold: float  # pixels brighter than this glow (scene-linear)
    strength: float
    size: float  # spread, as Blender's glare node size (0..1 of the image)


@dataclass(frozen=True)
class OcclusionSetting:
    factor: float  # how much of the AO pass is multiplied in
    distance: float  # AO reach as a fraction of the largest object's size
    contrast: float = 1.0  # the AO pass is raised to this power: deeper shadows in the creases


BLOOM: dict[str, BloomSetting] = {
    "low": BloomSetting(threshold=0.45, strength=0.8, size=0.6),
    "medium": BloomSetting(threshold=0.4, strength=1.2, size=0.65),
    "high": BloomSetting(threshold=0.3, strength=1.8, size=0.7),
}
AMBIENT_OCCLUSION: dict[str, OcclusionSetting] = {
    "low": OcclusionSetting(factor=0.8, distance=0.5, contrast=2.0),
    "medium": OcclusionSetting(factor=1.0, distance=0.8, contrast=3.0),
    "high": OcclusionSetting(factor=1.0, distance=1.2, contrast=4.0),
}
#: Shutter open time in frames per motion-blur level (blur length = motion per frame x shutter).
SHUTTER: dict[str, float] = {"low": 0.5, "medium": 1.0, "high": 1.6}

#: A level counts as visible when at least this share of pixels changes by PERCEPTIBLE_STEP or more.
PERCEPTIBLE_SHARE = 0.02
#: Smallest change of an 8-bit sRGB channel counted as visible.
PERCEPTIBLE_STEP = 8

#: Share of pixels changed by at least PERCEPTIBLE_STEP, per effect, level and built-in background (the
#: least over the reference scenes), measured by bench/calibrate_effects.py at 320x180 with 8 samples
#: (bench/effects_calibration.json). Bloom needs something bright: at night nothing is.
MEASURED: dict[str, dict[str, dict[str, float]]] = {
    "bloom": {
        "low": {"clear_sky": 0.0361, "sunset": 0.0285, "overcast": 0.0091, "night": 0.0, "studio": 0.0052},
        "medium": {"clear_sky": 0.5278, "sunset": 0.047, "overcast": 0.0236, "night": 0.0, "studio": 0.0719},
        "high": {"clear_sky": 0.5848, "sunset": 0.0753, "overcast": 0.0778, "night": 0.0, "studio": 0.3875},
    },
    "ambient_occlusion": {
        "low": {"clear_sky": 0.0271, "sunset": 0.0241, "overcast": 0.0265, "night": 0.0098, "studio": 0.022},
        "medium": {"clear_sky": 0.0447, "sunset": 0.0411, "overcast": 0.0437, "night": 0.0203, "studio": 0.048},
        "high": {"clear_sky": 0.0532, "sunset": 0.0503, "overcast": 0.0522, "night": 0.0251, "studio": 0.1622},
    },
}


def shutter_for(level: str) -> float:
    return SHUTTER.get(level, 0.0)


def is_visible(effect: str, level: str, background: str) -> bool:
    """Whether `effect` at `level` was measured visible over `background` (the least of the built-in
    backgrounds stands in for HDRIs and files, whose brightness is unknown in advance)."""
    by_background = MEASURED.get(effect, {}).get(level)
    if not by_background:
        return False
    key = background.removeprefix("builtin:")
    if background in BUILTIN_BACKGROUNDS and key in by_background:
        share = by_background[key]
    else:
        share = min(by_background.values())
    return share >= PERCEPTIBLE_SHARE
