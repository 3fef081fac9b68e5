"""What the camera needs to know about an object's shape before it is rendered (pure Python).

Built-in objects have known bounding-box proportions (measured once in Blender; a test checks
these numbers against the builders) and named features that face one way (a snowman's nose).
External objects (`objaverse:`, `file:`) are unknown until imported, so they get a conservative
bound: a cube whose side is the object's largest dimension, which always contains the object.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from simian.assets.catalog import BUILTIN_OBJECTS

#: Horizontal footprints at least this elongated have a long axis the camera must not look along.
LONG_AXIS_RATIO = 1.5


@dataclass(frozen=True)
class ObjectShape:
    """Bounding-box proportions, largest side 1: width (x), depth (y, the front faces -y), height (z)."""

    width: float
    depth: float
    height: float
    known: bool = True  # False for the conservative cube of an external object

    def dims(self, size: float) -> tuple[float, float, float]:
        """Bounding-box sides in metres for an object whose largest dimension is `size`."""
        return (self.width * size, self.depth * size, self.height * size)

    @property
    def dominant_axis(self) -> str:
        """'tall' when the height is the largest side, 'long' for elongated footprints, else 'wide'."""
        if not self.known:
            return "largest"
        horizontal = max(self.width, self.depth)
        if self.height >= horizontal:
            return "tall"
        return "long" if horizontal >= LONG_AXIS_RATIO * min(self.width, self.depth) else "wide"

    @property
    def long_axis(self) -> tuple[float, float, float] | None:
        """Unit vector of an axis the object must not be seen along (None when every view works)."""
        if not self.known:
            return None
        horizontal = max(self.width, self.depth)
        if self.height >= LONG_AXIS_RATIO * horizontal:
            return (0.0, 0.0, 1.0)
        if horizontal >= self.height and horizontal >= LONG_AXIS_RATIO * min(self.width, self.depth):
            return (1.0, 0.0, 0.0) if self.width >= self.depth else (0.0, 1.0, 0.0)
        return None


UNKNOWN_SHAPE = ObjectShape(1.0, 1.0, 1.0, known=False)

#: Measured with `bound_box` on each builder's mesh (see tests/test_object_shapes.py).
BUILTIN_SHAPES: dict[str, ObjectShape] = {
    "builtin:chair": ObjectShape(0.4842, 0.4632, 1.0000),
    "builtin:table": ObjectShape(1.0000, 1.0000, 0.6341),
    "builtin:mug": ObjectShape(1.0000, 0.7339, 0.8945),
    "builtin:lamp": ObjectShape(0.4509, 1.0000, 0.8566),
    "builtin:snowman": ObjectShape(0.7851, 0.4587, 1.0000),
    "builtin:traffic_cone": ObjectShape(0.5833, 0.5833, 1.0000),
    "builtin:rocket": ObjectShape(0.3845, 0.3845, 1.0000),
    "builtin:mushroom": ObjectShape(1.0000, 1.0000, 0.8035),
    "builtin:tree": ObjectShape(0.7250, 0.7140, 1.0000),
    "builtin:house": ObjectShape(1.0000, 0.8374, 0.9444),
    "builtin:barrel": ObjectShape(0.8000, 0.8000, 1.0000),
    "builtin:car": ObjectShape(0.5259, 1.0000, 0.4741),
    "builtin:dumbbell": ObjectShape(1.0000, 0.4348, 0.4348),
    "builtin:donut": ObjectShape(1.0000, 0.9998, 0.3249),
    "builtin:umbrella": ObjectShape(0.9788, 0.9788, 1.0000),
    "builtin:robot": ObjectShape(0.5248, 0.2478, 1.0000),
}


def shape_for(asset: str) -> ObjectShape:
    return BUILTIN_SHAPES.get(asset, UNKNOWN_SHAPE)


@dataclass(frozen=True)
class FacingFeature:
    """A feature named in a description that is only seen from one side of the object.

    `facing_deg` is the direction the feature faces (0 = the front, -y; 90 = the object's left,
    +x, which is the scene's right as seen from the front); the feature is visible when the camera
    is within `max_angle_deg` of that direction; otherwise the caption uses `without`.
    """

    facing_deg: float
    max_angle_deg: float
    without: str


FACING_FEATURES: dict[str, FacingFeature] = {
    "builtin:snowman": FacingFeature(0.0, 100.0, "a snowman with a black hat"),
    "builtin:house": FacingFeature(0.0, 75.0, "a house with a red roof"),
    "builtin:robot": FacingFeature(0.0, 80.0, "a grey boxy robot"),
    "builtin:mug": FacingFeature(90.0, 110.0, "a red ceramic mug"),
}


def feature_visible(feature: FacingFeature, camera_dx: float, camera_dy: float) -> bool:
    """Whether a camera at horizontal offset (dx, dy) from the object sees the feature."""
    if math.hypot(camera_dx, camera_dy) < 1e-9:
        return True
    facing = math.radians(feature.facing_deg)
    direction = (math.sin(facing), -math.cos(facing))
    cos = (camera_dx * direction[0] + camera_dy * direction[1]) / math.hypot(camera_dx, camera_dy)
    return cos >= math.cos(math.radians(feature.max_angle_deg))


#: Descriptions without a small part (a handle, a door, a nose, eyes, wheels) that only shows when the object is
#: large on screen: at a few dozen pixels a mug is a red cup and a car a blue shape (bench/CAPTION_TRUTH.md, the
#: claim labels). Parts that are the body itself (spots, stripes, hoops, a slatted back, a roof) show whenever the
#: object can be named.
SMALL_FORMS: dict[str, str] = {
    "builtin:mug": "a red ceramic mug",
    "builtin:snowman": "a snowman with a black hat",
    "builtin:house": "a house with a red roof",
    "builtin:robot": "a grey boxy robot",
    "builtin:car": "a blue car",
}
#: Least visible short side, as a fraction of the frame height, at which a small part is named: twice what naming
#: the object takes (`simian.scene.recognition.MIN_SHORT_SIDE_PX`, 18 px at 180 p).
PART_MIN_SHORT_SIDE = 0.2


def visible_description(
    asset: str, description: str, camera_dx: float, camera_dy: float, visible_short_side: float | None = None
) -> str:
    """The catalogue description, minus a feature that faces away from the camera, and minus a small part where the
    object's visible short side (a fraction of the frame height) is too small to show it."""
    entry = BUILTIN_OBJECTS.get(asset)
    if entry is None or description != entry.description:
        return description
    if visible_short_side is not None and visible_short_side < PART_MIN_SHORT_SIDE and asset in SMALL_FORMS:
        return SMALL_FORMS[asset]
    feature = FACING_FEATURES.get(asset)
    if feature is None:
        return description
    return description if feature_visible(feature, camera_dx, camera_dy) else feature.without
