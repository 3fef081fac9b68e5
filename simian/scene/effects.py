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
            "clear_sky+bricks": 0.9918,
            "clear_sky+checker_tiles": 0.5699,
            "clear_sky+concrete": 0.0245,
            "clear_sky+grass": 0.1227,
            "clear_sky+marble": 0.0785,
            "clear_sky+wood_planks": 0.9847,
            "night+bricks": 0.029,
            "night+checker_tiles": 0.9393,
            "night+concrete": 0.0262,
            "night+grass": 0.0142,
            "night+marble": 0.9355,
            "night+wood_planks": 0.0256,
            "overcast+bricks": 0.9907,
            "overcast+checker_tiles": 0.5237,
            "overcast+concrete": 0.0082,
            "overcast+grass": 0.1836,
            "overcast+marble": 0.0016,
            "overcast+wood_planks": 0.9639,
            "studio+bricks": 0.9985,
            "studio+checker_tiles": 0.5261,
            "studio+concrete": 0.0089,
            "studio+grass": 0.2216,
            "studio+marble": 0.0016,
            "studio+wood_planks": 0.985,
            "sunset+bricks": 0.9999,
            "sunset+checker_tiles": 0.9993,
            "sunset+concrete": 0.9938,
            "sunset+grass": 0.2047,
            "sunset+marble": 0.9908,
            "sunset+wood_planks": 0.9999,
        },
        "medium": {
            "clear_sky+bricks": 1.0,
            "clear_sky+checker_tiles": 0.9978,
            "clear_sky+concrete": 0.9807,
            "clear_sky+grass": 0.9996,
            "clear_sky+marble": 0.9599,
            "clear_sky+wood_planks": 1.0,
            "night+bricks": 0.9259,
            "night+checker_tiles": 0.9989,
            "night+concrete": 0.9569,
            "night+grass": 0.0703,
            "night+marble": 0.9999,
            "night+wood_planks": 0.4617,
            "overcast+bricks": 1.0,
            "overcast+checker_tiles": 0.9913,
            "overcast+concrete": 0.0666,
            "overcast+grass": 1.0,
            "overcast+marble": 0.0208,
            "overcast+wood_planks": 1.0,
            "studio+bricks": 1.0,
            "studio+checker_tiles": 0.9951,
            "studio+concrete": 0.1829,
            "studio+grass": 1.0,
            "studio+marble": 0.0294,
            "studio+wood_planks": 1.0,
            "sunset+bricks": 1.0,
            "sunset+checker_tiles": 1.0,
            "sunset+concrete": 1.0,
            "sunset+grass": 0.9152,
            "sunset+marble": 1.0,
            "sunset+wood_planks": 1.0,
        },
        "high": {
            "clear_sky+bricks": 1.0,
            "clear_sky+checker_tiles": 1.0,
            "clear_sky+concrete": 0.9999,
            "clear_sky+grass": 1.0,
            "clear_sky+marble": 1.0,
            "clear_sky+wood_planks": 1.0,
            "night+bricks": 0.9996,
            "night+checker_tiles": 1.0,
            "night+concrete": 1.0,
            "night+grass": 0.9749,
            "night+marble": 1.0,
            "night+wood_planks": 0.9957,
            "overcast+bricks": 1.0,
            "overcast+checker_tiles": 1.0,
            "overcast+concrete": 0.961,
            "overcast+grass": 1.0,
            "overcast+marble": 0.5296,
            "overcast+wood_planks": 1.0,
            "studio+bricks": 1.0,
            "studio+checker_tiles": 1.0,
            "studio+concrete": 0.9871,
            "studio+grass": 1.0,
            "studio+marble": 0.4972,
            "studio+wood_planks": 1.0,
            "sunset+bricks": 1.0,
            "sunset+checker_tiles": 1.0,
            "sunset+concrete": 1.0,
            "sunset+grass": 1.0,
            "sunset+marble": 1.0,
            "sunset+wood_planks": 1.0,
        },
    },
    "ambient_occlusion": {
        "low": {
            "clear_sky": 0.1557,
            "night": 0.038,
            "overcast": 0.1593,
            "studio": 0.1609,
            "sunset": 0.1328,
        },
        "medium": {
            "clear_sky": 0.3395,
            "night": 0.13,
            "overcast": 0.3412,
            "studio": 0.3441,
            "sunset": 0.3092,
        },
        "high": {
            "clear_sky": 0.4714,
            "night": 0.204,
            "overcast": 0.4741,
            "studio": 0.475,
            "sunset": 0.4107,
        },
    },
    "motion_blur": {
        "low": {
            "clear_sky": 0.119,
            "night": 0.0517,
            "overcast": 0.0938,
            "studio": 0.1142,
            "sunset": 0.0955,
        },
        "medium": {
            "clear_sky": 0.2073,
            "night": 0.1145,
            "overcast": 0.1735,
            "studio": 0.1929,
            "sunset": 0.1768,
        },
        "high": {
            "clear_sky": 0.2867,
            "night": 0.1791,
            "overcast": 0.2384,
            "studio": 0.2536,
            "sunset": 0.2446,
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
    floor_key = _key(floor) if floor is not None and floor in BUILTIN_FLOORS else None
    if known_background and floor_key is not None and f"{_key(background)}+{floor_key}" in shares:
        return shares[f"{_key(background)}+{floor_key}"] >= PERCEPTIBLE_SHARE
    candidates = [
        share
        for key, share in shares.items()
        if (not known_background or key.split("+")[0] == _key(background))
        and (floor_key is None or "+" not in key or key.split("+")[1] == floor_key)
    ]
    return bool(candidates) and min(candidates) >= PERCEPTIBLE_SHARE
