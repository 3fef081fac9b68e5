"""Post-processing levels the renderer applies, calibrated so that each captioned level shows.

The recipe names a level per effect (none/low/medium/high); the renderer applies the settings
below for that level, not raw recipe numbers, because raw values (a bloom threshold above every
pixel, an ambient-occlusion distance smaller than any crease) often changed nothing visible.
`bench/calibrate_effects.py` renders drawn shots over every built-in background at the default
render size with and without each level and writes the measured change to
`bench/effects_calibration.json` (bloom over the whole frame; ambient occlusion and motion blur
over the frame or around the objects, where they act); the numbers are copied into `MEASURED`
below, and a caption
names a level only where it was measured visible. Motion blur must also smear the objects by
`composition.MIN_BLUR_PIXELS`, which depends on the shot.
"""

from __future__ import annotations

from dataclasses import dataclass

from simian.assets.catalog import BUILTIN_BACKGROUNDS, BUILTIN_FLOORS


@dataclass(frozen=True)
class BloomSetting:
    """Pixels brighter than the frame's mean luminance plus `spread` standard deviations glow, so
    the brightest parts of any shot bloom (a fixed threshold was above every pixel of most shots)."""

    spread: float
    strength: float
    size: float  # reach of the glow, as Blender's glare node size (0..1 of the image)


@dataclass(frozen=True)
class OcclusionSetting:
    factor: float  # how much of the AO pass is multiplied in
    distance: float  # AO reach as a fraction of the largest object's size
    contrast: float = 1.0  # the AO pass is raised to this power: deeper shadows in the creases


BLOOM: dict[str, BloomSetting] = {
    "low": BloomSetting(spread=0.0, strength=0.5, size=0.6),
    "medium": BloomSetting(spread=0.0, strength=1.0, size=0.65),
    "high": BloomSetting(spread=-0.3, strength=1.6, size=0.7),
}
AMBIENT_OCCLUSION: dict[str, OcclusionSetting] = {
    "low": OcclusionSetting(factor=1.0, distance=0.8, contrast=3.0),
    "medium": OcclusionSetting(factor=1.0, distance=1.2, contrast=4.5),
    "high": OcclusionSetting(factor=1.0, distance=1.6, contrast=6.0),
}
#: Shutter open time in frames per motion-blur level (blur length = motion per frame x shutter;
#: above 1 the shutter stays open longer than a frame lasts, a stylised smear).
SHUTTER: dict[str, float] = {"low": 0.5, "medium": 1.0, "high": 1.6}

#: A level counts as visible when at least this share of pixels (of the frame for bloom; of the frame
#: or around the objects for ambient occlusion and motion blur) changes by PERCEPTIBLE_STEP or more.
PERCEPTIBLE_SHARE = 0.02
#: Smallest change of an 8-bit sRGB channel counted as visible.
PERCEPTIBLE_STEP = 8

#: Share of pixels changed by at least PERCEPTIBLE_STEP per effect and level, measured by
#: bench/calibrate_effects.py at 320x180 with 8 samples (bench/effects_calibration.json), the least
#: over the shots measured: bloom per built-in background and floor ("sunset+marble"), since the
#: floor fills most of a shot; ambient occlusion and motion blur per background.
MEASURED: dict[str, dict[str, dict[str, float]]] = {
    "bloom": {
        "low": {
            "clear_sky+bricks": 0.9991, "clear_sky+checker_tiles": 0.5423, "clear_sky+concrete": 0.0312,
            "clear_sky+grass": 0.1081, "clear_sky+marble": 0.0831, "clear_sky+wood_planks": 0.9911,
            "night+bricks": 0.0703, "night+checker_tiles": 0.9584, "night+concrete": 0.6518, "night+grass": 0.0259,
            "night+marble": 0.986, "night+wood_planks": 0.0632, "overcast+bricks": 0.9991,
            "overcast+checker_tiles": 0.3657, "overcast+concrete": 0.015, "overcast+grass": 0.2284,
            "overcast+marble": 0.0001, "overcast+wood_planks": 0.9757, "studio+bricks": 1.0,
            "studio+checker_tiles": 0.3669, "studio+concrete": 0.0162, "studio+grass": 0.2786, "studio+marble": 0.0,
            "studio+wood_planks": 0.9923, "sunset+bricks": 1.0, "sunset+checker_tiles": 0.9921,
            "sunset+concrete": 1.0, "sunset+grass": 0.7453, "sunset+marble": 0.996, "sunset+wood_planks": 1.0,
        },
        "medium": {
            "clear_sky+bricks": 1.0, "clear_sky+checker_tiles": 0.994, "clear_sky+concrete": 0.9496,
            "clear_sky+grass": 0.9969, "clear_sky+marble": 0.9257, "clear_sky+wood_planks": 1.0,
            "night+bricks": 0.7695, "night+checker_tiles": 0.9987, "night+concrete": 0.9606, "night+grass": 0.0588,
            "night+marble": 1.0, "night+wood_planks": 0.1942, "overcast+bricks": 1.0,
            "overcast+checker_tiles": 0.6602, "overcast+concrete": 0.0329, "overcast+grass": 0.9949,
            "overcast+marble": 0.0029, "overcast+wood_planks": 1.0, "studio+bricks": 1.0,
            "studio+checker_tiles": 0.7176, "studio+concrete": 0.0557, "studio+grass": 0.9999,
            "studio+marble": 0.0012, "studio+wood_planks": 1.0, "sunset+bricks": 1.0, "sunset+checker_tiles": 1.0,
            "sunset+concrete": 1.0, "sunset+grass": 0.9624, "sunset+marble": 1.0, "sunset+wood_planks": 1.0,
        },
        "high": {
            "clear_sky+bricks": 1.0, "clear_sky+checker_tiles": 1.0, "clear_sky+concrete": 0.9997,
            "clear_sky+grass": 1.0, "clear_sky+marble": 0.9996, "clear_sky+wood_planks": 1.0, "night+bricks": 0.9861,
            "night+checker_tiles": 1.0, "night+concrete": 0.9996, "night+grass": 0.773, "night+marble": 1.0,
            "night+wood_planks": 0.9788, "overcast+bricks": 1.0, "overcast+checker_tiles": 1.0,
            "overcast+concrete": 0.887, "overcast+grass": 1.0, "overcast+marble": 0.1444, "overcast+wood_planks": 1.0,
            "studio+bricks": 1.0, "studio+checker_tiles": 1.0, "studio+concrete": 0.9454, "studio+grass": 1.0,
            "studio+marble": 0.2019, "studio+wood_planks": 1.0, "sunset+bricks": 1.0, "sunset+checker_tiles": 1.0,
            "sunset+concrete": 1.0, "sunset+grass": 1.0, "sunset+marble": 1.0, "sunset+wood_planks": 1.0,
        },
    },
    "ambient_occlusion": {
        "low": {
            "clear_sky": 0.1405, "night": 0.0205, "overcast": 0.1365, "studio": 0.1357, "sunset": 0.0988,
        },
        "medium": {
            "clear_sky": 0.2919, "night": 0.0714, "overcast": 0.2934, "studio": 0.293, "sunset": 0.2413,
        },
        "high": {
            "clear_sky": 0.4231, "night": 0.1095, "overcast": 0.4262, "studio": 0.4272, "sunset": 0.3505,
        },
    },
    "motion_blur": {
        "low": {
            "clear_sky": 0.119, "night": 0.0517, "overcast": 0.0938, "studio": 0.1142, "sunset": 0.0955,
        },
        "medium": {
            "clear_sky": 0.2073, "night": 0.1145, "overcast": 0.1735, "studio": 0.1929, "sunset": 0.1768,
        },
        "high": {
            "clear_sky": 0.2867, "night": 0.1791, "overcast": 0.2384, "studio": 0.2536, "sunset": 0.2446,
        },
    },
}


def shutter_for(level: str) -> float:
    return SHUTTER.get(level, 0.0)


def _key(asset: str) -> str:
    return asset.removeprefix("builtin:")


def is_visible(effect: str, level: str, background: str, floor: str | None = None) -> bool:
    """Whether `effect` at `level` was measured visible over `background` (and `floor`, for bloom).

    Where the background or floor is not built in (an HDRI, a texture), the least share measured
    for what is known stands in, since its brightness is unknown in advance.
    """
    shares = MEASURED.get(effect, {}).get(level)
    if not shares:
        return False
    known_background = background in BUILTIN_BACKGROUNDS
    known_floor = floor is not None and floor in BUILTIN_FLOORS
    if known_background and known_floor and f"{_key(background)}+{_key(floor)}" in shares:
        return shares[f"{_key(background)}+{_key(floor)}"] >= PERCEPTIBLE_SHARE
    candidates = [
        share for key, share in shares.items()
        if (not known_background or key.split("+")[0] == _key(background))
        and (not known_floor or "+" not in key or key.split("+")[1] == _key(floor))  # type: ignore[arg-type]
    ]
    return bool(candidates) and min(candidates) >= PERCEPTIBLE_SHARE
