"""Read combinations written by the reference combiner (Simverse `combinations.json`).

The entry is first read into typed models of the reference's own format (wrong types and values
outside the reference's vocabulary are reported against the reference's field names), then mapped
to our schema, which the caller validates. Any JSON value is either mapped or refused with
InvalidInputError; nothing else escapes.

Mapped fields:
- objects[].uid -> asset `objaverse:<uid>`; name, description, placement, scale.factor/name as they are
- objects[].movement {direction, speed}: left/right/up keep their meaning, forward -> away,
  backward -> toward; speed (units per frame at 30 fps in the reference) becomes m/s (x 30),
  capped to 20 m/s
- a stack (objects sharing a placement) moves as one: its base (the first object listed in the cell)
  carries the stack's movement (its own, else the first given on top of it); the objects on top ride on it
- objects[].camera_follow.follow -> camera_follow
- background.id -> `polyhaven:<id>` (name kept)
- orientation.yaw/pitch, framing.fov/coverage_factor/name, animation.name/speed_factor as they are
- stage.material.name -> `polyhaven:<slug of the name>`, uv_scale, uv_rotation
- postprocessing.bloom (intensity, threshold, type -> level), ssao (factor, distance, type -> level),
  motionblur (shutter_speed -> shutter, type -> level); "extreme" becomes "high"

Ignored: every *_caption and caption (captions are rewritten from the recipe so they match
what is rendered), objects[].transformed_position / relationships / from / scale.name_synonym,
animation.keyframes (moves are defined by name), background.url / from, stage.material.maps
(textures are fetched through the Poly Haven API), bloom.radius, postprocessing.ssrr (no screen-space
reflections in Blender 5 EEVEE), no_movement, and any other key.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from simian.assets.sources import source_of
from simian.errors import InvalidInputError, invalid_input

_LEVELS = {"none": "none", "low": "low", "medium": "medium", "high": "high", "extreme": "high"}
_DIRECTIONS = {"left": "left", "right": "right", "forward": "away", "backward": "toward", "up": "up"}
#: The reference's speeds are units per frame at 30 fps; ours are metres per second, at most 20.
_FRAMES_PER_SECOND = 30.0
_MAX_SPEED = 20.0

EffectType = Literal["none", "low", "medium", "high", "extreme"]


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def _objaverse_uid(value: str) -> str:
    source_of("objaverse").check_id(value)
    return value


def _polyhaven_id(value: str) -> str:
    source_of("polyhaven").check_id(value)
    return value


def _material_name(value: str) -> str:
    if not _slug(value):
        raise ValueError("names no Poly Haven texture (it needs letters or digits)")
    source_of("polyhaven").check_id(_slug(value))
    return value


class _Reference(BaseModel):
    """The reference writes more keys than we read: unknown keys are ignored, known ones must have their type."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False, frozen=True)


class ReferenceScale(_Reference):
    factor: float = 1.0
    name: str = "medium"


class ReferenceMovement(_Reference):
    direction: Literal["left", "right", "forward", "backward", "up"]
    speed: float = Field(gt=0, description="Units per frame at 30 fps")


class ReferenceFollow(_Reference):
    follow: bool = False


class ReferenceObject(_Reference):
    uid: Annotated[str, AfterValidator(_objaverse_uid)]
    name: str | None = None
    description: str | None = None
    placement: int = 4
    scale: ReferenceScale = ReferenceScale()
    movement: ReferenceMovement | None = None
    camera_follow: ReferenceFollow | None = None


class ReferenceBackground(_Reference):
    id: Annotated[str, AfterValidator(_polyhaven_id)]
    name: str | None = None


class ReferenceOrientation(_Reference):
    yaw: float
    pitch: float


class ReferenceFraming(_Reference):
    fov: float
    coverage_factor: float
    name: str


class ReferenceAnimation(_Reference):
    name: str = "static"
    speed_factor: float = 1.0


class ReferenceMaterial(_Reference):
    name: Annotated[str, AfterValidator(_material_name)]


class ReferenceStage(_Reference):
    material: ReferenceMaterial
    uv_scale: tuple[float, float] = (1.0, 1.0)
    uv_rotation: float = 0.0


class ReferenceBloom(_Reference):
    intensity: float = 0.0
    threshold: float = 0.8
    type: EffectType = "none"


class ReferenceAmbientOcclusion(_Reference):
    factor: float = Field(default=0.0, ge=0, le=1)
    distance: float = Field(default=0.5, gt=0, le=10)
    type: EffectType = "none"


class ReferenceMotionBlur(_Reference):
    shutter_speed: float = Field(default=0.0, ge=0, le=1)
    type: EffectType = "none"


class ReferencePostProcessing(_Reference):
    bloom: ReferenceBloom = ReferenceBloom()
    ssao: ReferenceAmbientOcclusion = ReferenceAmbientOcclusion()
    motionblur: ReferenceMotionBlur = ReferenceMotionBlur()


class ReferenceEntry(_Reference):
    index: int | None = None
    objects: list[ReferenceObject]
    background: ReferenceBackground
    orientation: ReferenceOrientation
    framing: ReferenceFraming
    animation: ReferenceAnimation = ReferenceAnimation()
    stage: ReferenceStage
    postprocessing: ReferencePostProcessing = ReferencePostProcessing()


def is_reference_entry(entry: Any) -> bool:
    """True for an entry in the reference's format (Objaverse uids, caption sections, a stage material)."""
    if not isinstance(entry, dict):
        return False
    objects = entry.get("objects")
    if isinstance(objects, list) and any(isinstance(o, dict) and "uid" in o for o in objects):
        return True
    stage = entry.get("stage")
    return "orientation_caption" in entry or (isinstance(stage, dict) and "material" in stage)


def _stack_movements(objects: list[ReferenceObject]) -> list[ReferenceMovement | None]:
    """Each object's own movement in our terms: a stack's base carries it, the objects on top ride on it."""
    movements: list[ReferenceMovement | None] = [None] * len(objects)
    base_of: dict[int, int] = {}
    for i, obj in enumerate(objects):
        base = base_of.setdefault(obj.placement, i)
        if movements[base] is None and obj.movement is not None:
            movements[base] = obj.movement
    return movements


def _object(obj: ReferenceObject, movement: ReferenceMovement | None) -> dict[str, Any]:
    mapped: dict[str, Any] = {
        "asset": f"objaverse:{obj.uid}",
        "name": obj.name or obj.description or "object",
        "description": obj.description or obj.name or "an object",
        "placement": obj.placement,
        "scale": {"factor": obj.scale.factor, "name": obj.scale.name},
    }
    if movement is not None:
        mapped["movement"] = {
            "direction": _DIRECTIONS[movement.direction],
            "speed": min(_MAX_SPEED, movement.speed * _FRAMES_PER_SECOND),
        }
    if obj.camera_follow is not None and obj.camera_follow.follow:
        mapped["camera_follow"] = True
    return mapped


def from_reference(entry: Any, index: int, where: str = "combination") -> dict[str, Any]:
    """A reference entry as a dict in our schema (validated afterwards by the caller).

    Raises InvalidInputError naming `where` and the reference's field for anything of the wrong type.
    """
    try:
        ref = ReferenceEntry.model_validate(entry)
    except ValidationError as exc:
        raise invalid_input(exc, where) from None
    except (ValueError, TypeError, RecursionError) as exc:  # pydantic wraps validator errors; this is a backstop
        raise InvalidInputError(f"{where}: not a reference-format combination ({type(exc).__name__})") from None
    movements = _stack_movements(ref.objects)
    pp = ref.postprocessing
    return {
        "index": ref.index if ref.index is not None else index,
        "objects": [_object(obj, movement) for obj, movement in zip(ref.objects, movements, strict=True)],
        "background": {
            "asset": f"polyhaven:{ref.background.id}",
            "name": ref.background.name or ref.background.id,
        },
        "orientation": {"yaw": ref.orientation.yaw, "pitch": ref.orientation.pitch},
        "framing": {"fov": ref.framing.fov, "coverage_factor": ref.framing.coverage_factor, "name": ref.framing.name},
        "animation": {"name": ref.animation.name, "speed_factor": ref.animation.speed_factor},
        "stage": {
            "floor": f"polyhaven:{_slug(ref.stage.material.name)}",
            "name": ref.stage.material.name,
            "uv_scale": list(ref.stage.uv_scale),
            "uv_rotation": ref.stage.uv_rotation,
        },
        "postprocessing": {
            "bloom": {
                "intensity": pp.bloom.intensity,
                "threshold": pp.bloom.threshold,
                "level": _LEVELS[pp.bloom.type],
            },
            "ambient_occlusion": {
                "factor": pp.ssao.factor,
                "distance": pp.ssao.distance,
                "level": _LEVELS[pp.ssao.type],
            },
            "motion_blur": {"shutter": pp.motionblur.shutter_speed, "level": _LEVELS[pp.motionblur.type]},
        },
    }
