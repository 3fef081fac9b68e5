"""The scene vocabulary: named scales, framings, camera moves and effect levels.

Pure data plus small lookups, shared by the combiner, the captions and the scene plan,
so that what a caption says and what the renderer does come from one table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ScaleName = Literal["tiny", "small", "small-medium", "medium", "medium-large", "large", "huge"]

#: Largest dimension of the rendered object, in metres (the reference's factors, applied the right way round).
SCALES: dict[str, float] = {
    "tiny": 0.25,
    "small": 0.5,
    "small-medium": 0.75,
    "medium": 1.0,
    "medium-large": 1.5,
    "large": 2.25,
    "huge": 3.0,
}
SCALE_WEIGHTS = (1, 2, 3, 4, 3, 2, 1)
SCALE_SYNONYMS: dict[str, tuple[str, ...]] = {
    "tiny": ("tiny", "miniature", "very small"),
    "small": ("small", "little"),
    "small-medium": ("smallish", "modest-sized"),
    "medium": ("medium-sized", "regular-sized"),
    "medium-large": ("fairly large", "sizeable"),
    "large": ("large", "big"),
    "huge": ("huge", "giant", "enormous"),
}


def scale_name_for(factor: float) -> str:
    """The named scale closest to a size in metres."""
    return min(SCALES, key=lambda name: abs(SCALES[name] - factor))


@dataclass(frozen=True)
class FramingRange:
    name: str
    label: str
    fov_min: float
    fov_max: float
    coverage_min: float
    coverage_max: float


FRAMINGS: tuple[FramingRange, ...] = (
    FramingRange("extreme_closeup", "extreme close-up", 10, 15, 1.0, 1.1),
    FramingRange("closeup", "close-up shot", 15, 24, 1.0, 1.15),
    FramingRange("medium_closeup", "medium close-up shot", 24, 30, 1.05, 1.2),
    FramingRange("medium", "medium shot", 30, 40, 1.1, 1.3),
    FramingRange("medium_wide", "medium wide shot", 40, 55, 1.15, 1.4),
    FramingRange("wide", "wide shot", 55, 70, 1.2, 1.5),
    FramingRange("extreme_wide", "extreme wide shot", 70, 90, 1.3, 1.6),
)


def framing_for_fov(fov: float) -> FramingRange:
    for framing in FRAMINGS:
        if framing.fov_min <= fov <= framing.fov_max:
            return framing
    return FRAMINGS[0] if fov < FRAMINGS[0].fov_min else FRAMINGS[-1]


#: Width of the virtual sensor in millimetres; the camera's fov is horizontal.
SENSOR_WIDTH_MM = 36.0

AnimationName = Literal[
    "static",
    "pan_left",
    "pan_right",
    "orbit_left",
    "orbit_right",
    "orbit_up",
    "orbit_down",
    "dolly_in",
    "dolly_out",
    "zoom_in",
    "zoom_out",
    "tilt_up",
    "tilt_down",
    "tilt_left",
    "tilt_right",
    "crane_up",
    "crane_down",
]


@dataclass(frozen=True)
class CameraMove:
    """A camera move: which quantity changes, in which direction, at what base rate per second.

    `relative` rates are fractions of the initial camera distance (dolly, crane) or field of
    view (zoom) per second, so a move looks the same whatever the scene size; the caption
    states the resulting absolute rate.
    """

    name: str
    quantity: Literal["none", "azimuth", "elevation", "heading", "look_pitch", "roll", "distance", "fov", "height"]
    sign: int
    base_rate: float
    relative: bool
    phrase: str
    unit: str


CAMERA_MOVES: dict[str, CameraMove] = {
    m.name: m
    for m in (
        CameraMove("static", "none", 0, 0.0, False, "The camera holds still", ""),
        CameraMove("pan_left", "heading", +1, 6.0, False, "The camera pans to the left", "degrees per second"),
        CameraMove("pan_right", "heading", -1, 6.0, False, "The camera pans to the right", "degrees per second"),
        CameraMove(
            "orbit_left",
            "azimuth",
            -1,
            15.0,
            False,
            "The camera orbits to the left around the scene",
            "degrees per second",
        ),
        CameraMove(
            "orbit_right",
            "azimuth",
            +1,
            15.0,
            False,
            "The camera orbits to the right around the scene",
            "degrees per second",
        ),
        CameraMove(
            "orbit_up",
            "elevation",
            +1,
            8.0,
            False,
            "The camera orbits upward over the scene",
            "degrees per second",
        ),
        CameraMove(
            "orbit_down",
            "elevation",
            -1,
            8.0,
            False,
            "The camera orbits downward around the scene",
            "degrees per second",
        ),
        CameraMove(
            "dolly_in",
            "distance",
            -1,
            0.12,
            True,
            "The camera dollies in toward the scene",
            "meters per second",
        ),
        CameraMove(
            "dolly_out",
            "distance",
            +1,
            0.12,
            True,
            "The camera dollies out away from the scene",
            "meters per second",
        ),
        CameraMove("zoom_in", "fov", -1, 0.10, True, "The camera zooms in", "degrees of field of view per second"),
        CameraMove("zoom_out", "fov", +1, 0.10, True, "The camera zooms out", "degrees of field of view per second"),
        CameraMove("tilt_up", "look_pitch", -1, 5.0, False, "The camera tilts up", "degrees per second"),
        CameraMove("tilt_down", "look_pitch", +1, 5.0, False, "The camera tilts down", "degrees per second"),
        CameraMove("tilt_left", "roll", +1, 6.0, False, "The camera rolls to the left", "degrees per second"),
        CameraMove("tilt_right", "roll", -1, 6.0, False, "The camera rolls to the right", "degrees per second"),
        CameraMove("crane_up", "height", +1, 0.10, True, "The camera cranes up", "meters per second"),
        CameraMove("crane_down", "height", -1, 0.10, True, "The camera cranes down", "meters per second"),
    )
}

SPEED_FACTOR_RANGE = (0.5, 2.0)


def speed_word(speed_factor: float) -> str:
    if speed_factor < 0.8:
        return "slowly"
    if speed_factor < 1.25:
        return "steadily"
    if speed_factor < 1.6:
        return "quickly"
    return "very quickly"


MovementDirection = Literal["left", "right", "toward", "away", "up"]
MOVEMENT_PHRASES: dict[str, str] = {
    "left": "moves to the left",
    "right": "moves to the right",
    "toward": "moves toward the camera",
    "away": "moves away from the camera",
    "up": "rises upward",
}

EffectLevel = Literal["none", "low", "medium", "high"]
#: Upper bounds (exclusive) of each level for an effect's main value in [0, 1].
LEVEL_BOUNDS: tuple[tuple[float, str], ...] = ((0.1, "none"), (0.4, "low"), (0.7, "medium"), (1.01, "high"))


def effect_level(value: float) -> EffectLevel:
    for bound, level in LEVEL_BOUNDS:
        if value < bound:
            return level  # type: ignore[return-value]
    return "high"


EFFECT_PHRASES: dict[str, dict[str, str]] = {
    "bloom": {
        "low": "a faint bloom around bright areas",
        "medium": "a soft bloom glow around bright areas",
        "high": "a strong bloom glow around bright areas",
    },
    "ambient_occlusion": {
        "low": "light ambient occlusion in the creases",
        "medium": "moderate ambient occlusion",
        "high": "deep ambient occlusion shadows",
    },
    "motion_blur": {
        "low": "slight motion blur",
        "medium": "noticeable motion blur",
        "high": "heavy motion blur",
    },
}


def view_side(yaw: float) -> str:
    """Which side of the scene the camera looks from; objects face the front (yaw 0)."""
    labels = ("front", "front-right", "right", "back-right", "back", "back-left", "left", "front-left")
    return labels[round((yaw % 360) / 45) % 8]


def view_height(pitch: float) -> str:
    if pitch < 10:
        return "at eye level"
    if pitch < 30:
        return "from slightly above"
    if pitch < 55:
        return "from above"
    return "from high above, looking down"
