"""The scene recipe ("combination"): a typed, validated description with no Blender inside.

Every field is checked when a recipe is loaded, so bad input fails before any render
starts, with the field's path in the message.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, ValidationError, model_validator

from simian.assets.refs import AssetRef
from simian.assets.text import unsafe_characters
from simian.errors import InvalidInputError, invalid_input
from simian.recipe.structured_caption import StructuredCaption
from simian.recipe.vocabulary import AnimationName, EffectLevel, MovementDirection


def _asset_reference(value: str) -> str:
    AssetRef.parse(value)
    return value


#: A `source:id` asset reference, checked for shape when the recipe is loaded.
AssetReference = Annotated[str, AfterValidator(_asset_reference)]


#: Longest name (object, background, floor, scale word) and description a recipe may carry, and longest caption.
MAX_NAME_CHARS = 200
MAX_DESCRIPTION_CHARS = 1000
MAX_CAPTION_CHARS = 20_000


def _plain(value: str, allowed: str = "") -> str:
    """Captions and names reach sidecars, cards and training data: no control or invisible formatting characters
    (`simian.assets.text`; a caption may hold line breaks and tabs)."""
    bad = unsafe_characters(value, allowed)
    if bad:
        raise ValueError(f"holds control or invisible formatting characters ({', '.join(bad[:5])}); remove them")
    return value


def _plain_caption(value: str) -> str:
    return _plain(value, "\t\n")


Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME_CHARS), AfterValidator(_plain)]
Description = Annotated[str, Field(min_length=1, max_length=MAX_DESCRIPTION_CHARS), AfterValidator(_plain)]
CaptionText = Annotated[str, Field(max_length=MAX_CAPTION_CHARS), AfterValidator(_plain_caption)]


class _Strict(BaseModel):
    """Strict, as the README promises: a string is not a number and a bool is not an int ("30" for a yaw, `true`
    for a placement are refused, not coerced)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True, strict=True)


class ObjectScale(_Strict):
    factor: float = Field(gt=0, le=100, description="Largest dimension of the rendered object, in metres")
    name: Name = Field(description="Scale word used in captions, e.g. 'large'")


class ObjectMovement(_Strict):
    direction: MovementDirection = Field(description="Direction relative to the camera at the first frame")
    speed: float = Field(gt=0, le=20, description="Metres per second")


class SceneObject(_Strict):
    asset: AssetReference = Field(description="Asset reference, e.g. 'builtin:chair' or 'objaverse:<uid>'")
    name: Name = Field(description="Short name used in captions")
    description: Description = Field(description="Description used in captions")
    placement: int = Field(ge=0, le=8, description="Cell of a 3x3 grid (4 = centre); shared cells stack")
    scale: ObjectScale
    movement: ObjectMovement | None = None
    camera_follow: bool = False


class Background(_Strict):
    asset: AssetReference = Field(description="Sky or HDRI reference, e.g. 'builtin:sunset' or 'polyhaven:<id>'")
    name: Name


class Orientation(_Strict):
    yaw: float = Field(ge=-360, le=360, description="Camera direction around the scene; 0 = front view")
    pitch: float = Field(ge=-10, le=89, description="Camera elevation in degrees; 0 = eye level")


class Framing(_Strict):
    fov: float = Field(gt=0, lt=180, description="Horizontal field of view in degrees")
    coverage_factor: float = Field(gt=0, le=10, description="Frame size relative to the scene's extent")
    name: Name


class CameraAnimation(_Strict):
    name: AnimationName = "static"
    speed_factor: float = Field(default=1.0, gt=0, le=10, description="Multiplies the move's base rate")


class Stage(_Strict):
    floor: AssetReference = Field(description="Floor material reference, e.g. 'builtin:marble' or 'polyhaven:<id>'")
    name: Name
    uv_scale: tuple[
        Annotated[float, Strict(), Field(gt=0, le=100)], Annotated[float, Strict(), Field(gt=0, le=100)]
    ] = Field(
        default=(1.0, 1.0),
        strict=False,  # a JSON list; its numbers stay strict
    )
    uv_rotation: float = Field(default=0.0, ge=-360, le=360)


class Bloom(_Strict):
    intensity: float = Field(default=0.0, ge=0, le=1)
    threshold: float = Field(default=0.8, ge=0, le=10)
    level: EffectLevel = "none"


class AmbientOcclusion(_Strict):
    factor: float = Field(default=0.0, ge=0, le=1)
    distance: float = Field(default=0.5, gt=0, le=10)
    level: EffectLevel = "none"


class MotionBlur(_Strict):
    shutter: float = Field(default=0.0, ge=0, le=1, description="Fraction of a frame the shutter is open")
    level: EffectLevel = "none"


class PostProcessing(_Strict):
    bloom: Bloom = Bloom()
    ambient_occlusion: AmbientOcclusion = AmbientOcclusion()
    motion_blur: MotionBlur = MotionBlur()


class SectionCaptions(_Strict):
    objects: CaptionText
    background: CaptionText
    orientation: CaptionText
    framing: CaptionText
    animation: CaptionText
    stage: CaptionText
    postprocessing: CaptionText


#: Camera variants of one scene: variant 0 is the scene's own camera, 1.. are other camera moves.
MAX_CAMERA_VARIANTS = 8


class Combination(_Strict):
    """One scene recipe. The caption fields are derived from the rest by the combiner."""

    index: int = Field(ge=0)
    seed: int | None = Field(default=None, description="Seed the combination was drawn from, if any")
    variant: int = Field(
        default=0,
        ge=0,
        lt=MAX_CAMERA_VARIANTS,
        description="Camera variant of the scene: 0 is its own camera, 1.. other camera moves (--camera-variants)",
    )
    objects: list[SceneObject] = Field(min_length=1, max_length=9)
    background: Background
    orientation: Orientation
    framing: Framing
    animation: CameraAnimation = CameraAnimation()
    stage: Stage
    postprocessing: PostProcessing = PostProcessing()
    captions: SectionCaptions | None = None
    caption: CaptionText | None = None
    caption_short: CaptionText | None = Field(
        default=None, description="One sentence: the objects, the setting, the camera"
    )
    caption_camera: CaptionText | None = Field(default=None, description="The camera move alone, in CameraBench terms")
    captions_structured: StructuredCaption | None = Field(default=None, description="The caption as typed data")

    @model_validator(mode="after")
    def _check_scene(self) -> Combination:
        followed = [i for i, o in enumerate(self.objects) if o.camera_follow]
        if len(followed) > 1:
            raise ValueError(f"objects {followed} all set camera_follow; the camera can follow one object only")
        # A stack moves as one: objects sharing a placement may carry one movement between them.
        movers: dict[int, int] = {}
        for i, obj in enumerate(self.objects):
            if obj.movement is None:
                continue
            first = movers.setdefault(obj.placement, i)
            if first != i and self.objects[first].movement != obj.movement:
                raise ValueError(
                    f"objects[{i}] and objects[{first}] share placement {obj.placement} (a stack, which moves "
                    "as one) but move differently; keep one movement per stack"
                )
        return self


def parse_combination(data: Any, where: str = "combination") -> Combination:
    """Validate one recipe; raise InvalidInputError naming every bad field."""
    try:
        return Combination.model_validate(data)
    except ValidationError as exc:
        raise invalid_input(exc, where) from None
    except InvalidInputError as exc:
        raise InvalidInputError(f"{where}: {exc}") from None


def combination_schema() -> dict[str, Any]:
    return Combination.model_json_schema()


def dumps(combination: Combination) -> str:
    return json.dumps(combination.model_dump(mode="json"), sort_keys=True)
