"""The scene vocabulary: named scales, framings, camera moves and effect levels.

Pure data plus small lookups, shared by the combiner, the captions and the scene plan,
so that what a caption says and what the renderer does come from one table.
"""

from __future__ import annotations

import math
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


#: Size words for an object whose real size is known, by its size over the real one: a 1 m house is a
#: miniature house, a 1 m donut a giant one, whatever the scale's name in the recipe.
RELATIVE_SIZE_WORDS: tuple[tuple[float, tuple[str, ...]], ...] = (
    (0.3, ("miniature",)),
    (0.7, ("small", "little")),
    (1.5, ("life-sized", "full-sized")),
    (2.5, ("large", "oversized")),
)
GIANT_WORDS = ("giant", "enormous")


def relative_size_words(factor: float, real_size: float) -> tuple[str, ...]:
    for below, words in RELATIVE_SIZE_WORDS:
        if factor / real_size < below:
            return words
    return GIANT_WORDS


def scale_name_for(factor: float) -> str:
    """The named scale closest to a size in metres."""
    return min(SCALES, key=lambda name: abs(SCALES[name] - factor))


@dataclass(frozen=True)
class ShotSize:
    """A shot size by how much of the frame the main subject spans at the first frame.

    The span is the larger of the width and height fractions of the frame that the main subject covers on
    screen (the followed object, else the largest; its projected box times the share its type shows,
    `composition.main_subject_span`; a linear measure, so a tall thin subject filling the frame height counts
    as filling the frame). Objects are always kept wholly inside the frame, so even an extreme close-up shows
    every object whole.
    """

    name: str
    label: str
    span_min: float  # inclusive
    span_max: float  # exclusive


SHOT_SIZES: tuple[ShotSize, ...] = (
    ShotSize("extreme_closeup", "extreme close-up", 0.80, 1.01),
    ShotSize("closeup", "close-up shot", 0.64, 0.80),
    ShotSize("medium_closeup", "medium close-up shot", 0.50, 0.64),
    ShotSize("medium", "medium shot", 0.38, 0.50),
    ShotSize("medium_wide", "medium wide shot", 0.28, 0.38),
    ShotSize("wide", "wide shot", 0.19, 0.28),
    ShotSize("extreme_wide", "extreme wide shot", 0.0, 0.19),
)
SHOT_SIZE_WEIGHTS = (1, 2, 2, 3, 3, 2, 1)


def shot_size_for(span: float) -> ShotSize:
    """The shot size whose span range holds `span` (spans above 1 count as extreme close-ups)."""
    for shot in SHOT_SIZES:
        if shot.span_min <= span < shot.span_max:
            return shot
    return SHOT_SIZES[0] if span >= 1 else SHOT_SIZES[-1]


FOV_RANGE = (20, 75)

#: Width of the virtual sensor in millimetres; the camera's fov is horizontal.
SENSOR_WIDTH_MM = 36.0


def focal_length_mm(fov_deg: float) -> float:
    """The lens that gives a horizontal field of view of `fov_deg` on the virtual sensor."""
    return SENSOR_WIDTH_MM / (2 * math.tan(math.radians(fov_deg) / 2))


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


#: Speed words by how fast the picture moves (frame widths per second, `composition.screen_speed`): below
#: 0.05 (16 px a second at 320 wide) a clip all but looks still, and is at most "slowly".
SCREEN_SPEED_WORDS: tuple[tuple[float, str], ...] = ((0.05, "slowly"), (0.10, "steadily"), (0.18, "quickly"))


def speed_word(widths_per_second: float) -> str:
    """The speed word for a camera move whose picture moves `widths_per_second` frame widths a second."""
    for below, word in SCREEN_SPEED_WORDS:
        if widths_per_second < below:
            return word
    return "very quickly"


MovementDirection = Literal["left", "right", "toward", "away", "up"]
MOVEMENT_PHRASES: dict[str, str] = {
    "left": "moves to the left",
    "right": "moves to the right",
    "toward": "moves toward the camera",
    "away": "moves away from the camera",
    "up": "rises upward",
}
#: A followed object keeps its place in the frame, so its motion is told against the floor.
FOLLOWED_MOVEMENT_PHRASES: dict[str, str] = {
    "left": "travels to the left across the floor",
    "right": "travels to the right across the floor",
    "toward": "heads across the floor toward the camera",  # as the camera views it, from whichever side
    "away": "heads across the floor away from the camera",
    "up": "rises upward",
}
#: What the viewer sees of the static floor while the camera travels with an object, by how a floor
#: point moves in the image: across it, farther from the camera or closer, or down the frame.
FLOOR_SLIDE_PHRASES: dict[str, str] = {
    "right": "the floor slides past to the right",
    "left": "the floor slides past to the left",
    "away": "the floor recedes toward the horizon",
    "closer": "the floor slides toward the camera",
    "down": "the floor drops away below",
}

#: Words that state a size; descriptions lose them so that size comes from the scale word only.
SIZE_WORDS = frozenset(
    {
        "big",
        "bigger",
        "enormous",
        "giant",
        "gigantic",
        "huge",
        "large",
        "little",
        "massive",
        "mini",
        "miniature",
        "oversized",
        "small",
        "smallish",
        "tiny",
        "toy",
    }
)

#: How a dimension is named by the axis it lies along.
AXIS_WORDS = {"tall": "tall", "long": "long", "wide": "wide", "largest": "in its largest dimension"}

EffectLevel = Literal["none", "low", "medium", "high"]
#: Upper bounds (exclusive) of each level for an effect's main value in [0, 1].
LEVEL_BOUNDS: tuple[tuple[float, str], ...] = ((0.1, "none"), (0.4, "low"), (0.7, "medium"), (1.01, "high"))


def effect_level(value: float) -> EffectLevel:
    for bound, level in LEVEL_BOUNDS:
        if value < bound:
            return level  # type: ignore[return-value]
    return "high"


#: The light each built-in sky gives the scene, as a viewer sees it when the sky itself is out of frame (a tint and
#: a kind of shadow, not the sky's name: "lit by a sunset sky" over a floor alone is a claim no frame shows).
LIGHT_PHRASES: dict[str, str] = {
    "builtin:clear_sky": "bright daylight with crisp shadows",
    "builtin:sunset": "warm, low evening light",
    "builtin:overcast": "soft, grey daylight",
    "builtin:night": "dim, bluish night light",
    "builtin:studio": "soft, even studio light",
}

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


VIEW_SIDES = ("front", "front-right", "right", "back-right", "back", "back-left", "left", "front-left")


def view_side(yaw: float) -> str:
    """Which side of the scene the camera looks from, in the scene's terms (objects face the front,
    yaw 0; the scene's right is the viewer's right when looking from the front, +x)."""
    return VIEW_SIDES[round((yaw % 360) / 45) % 8]


#: How a viewer can say where the camera stands relative to an object with a readable front: front, side or back,
#: and the three-quarter views between. Left and right are left out: an object's left is the viewer's right.
OBJECT_VIEW_PHRASES = {
    "front": "from the front",
    "front-right": "at a three-quarter angle from the front",
    "front-left": "at a three-quarter angle from the front",
    "right": "from the side",
    "left": "from the side",
    "back-right": "at a three-quarter angle from behind",
    "back-left": "at a three-quarter angle from behind",
    "back": "from behind",
}


def object_view_phrase(yaw: float) -> str:
    """'from the front', 'from the side', 'at a three-quarter angle from behind': the side of an object facing the
    scene's front (every object does) that the camera sees."""
    return OBJECT_VIEW_PHRASES[view_side(yaw)]


def view_height(pitch: float) -> str:
    if pitch < 10:
        return "at eye level"
    if pitch < 30:
        return "from slightly above"
    if pitch < 55:
        return "from above"
    return "from high above, looking down"
