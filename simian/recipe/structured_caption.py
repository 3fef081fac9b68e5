"""The structured caption: what the long caption says, as typed data (objects, background, floor, shot, camera move).

Typed, so a structured caption read from a file or a sidecar is validated like the rest of the recipe, and
`simian check` can turn each of its fields back into claims and verify them against Blender.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SizeAxis = Literal["tall", "long", "wide", "largest"]
Direction = Literal["left", "right", "toward", "away", "up"]


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


class Position(_Data):
    cell: str = Field(description="Grid cell of the scene, in the scene's terms: 'centre', 'front-left', ...")
    x_m: float = Field(description="World x of its box centre at the first frame, metres (+x: the scene's right)")
    y_m: float = Field(description="World y of its box centre at the first frame, metres (+y: the scene's back)")
    frame_x: float | None = Field(
        default=None, description="Horizontal centre of its image box at the first frame, frame fraction from the left"
    )
    frame_y: float | None = Field(
        default=None, description="Vertical centre of its image box at the first frame, frame fraction from the top"
    )


class Movement(_Data):
    direction: Direction = Field(description="Relative to the camera's first view")
    speed_mps: float = Field(gt=0, description="Metres per second")


class StructuredObject(_Data):
    name: str = Field(description="Name as the captions use it (repeated names get ordinals)")
    asset: str
    description: str = Field(description="What it looks like, as seen from the camera")
    size_m: float = Field(gt=0, description="Its size in metres along `size_axis`")
    size_axis: SizeAxis
    scale: str = Field(description="The recipe's scale word")
    position: Position
    on_top_of: str | None = Field(default=None, description="Name of the object it stands on")
    movement: Movement | None = Field(default=None, description="How it (or the stack it belongs to) moves")


class StructuredBackground(_Data):
    name: str
    fills_frame: bool = Field(description="True: seen behind the objects; false: it only lights the scene")


class StructuredFloor(_Data):
    name: str


class Shot(_Data):
    size: str = Field(description="Shot size from the objects' span of the first frame, e.g. 'medium shot'")
    fov_deg: float = Field(description="Horizontal field of view at the first frame, degrees")
    lens_mm: float = Field(description="Focal length on a 36 mm wide sensor")
    view_side: str = Field(description="Side of the scene the camera looks from, e.g. 'front-right'")
    elevation_deg: float = Field(description="Camera elevation at the first frame, degrees")


class Tracking(_Data):
    object: str = Field(description="Name of the object the camera travels with")
    kind: str = Field(description="CameraBench tracking shot: side, lead or tail tracking, or tracking up")
    direction: Direction
    speed_mps: float = Field(gt=0)


class StructuredCamera(_Data):
    move: str = Field(description="The recipe's camera move, e.g. 'orbit_left'")
    term: str = Field(description="The move in CameraBench terms, e.g. 'arc left', 'dolly in', 'zoom in', 'static'")
    type: str = Field(description="CameraBench primitive: static, pan, tilt, roll, zoom, dolly, pedestal, arc or crane")
    direction: str = Field(description="in, out, left, right, up, down, clockwise, counterclockwise or none")
    speed: str | None = Field(
        default=None,
        description=(
            "slowly, steadily, quickly or very quickly, by how fast the picture moves (frame widths per second); "
            "none when static"
        ),
    )
    speed_factor: float
    rate: float | None = Field(default=None, description="How fast it moves, in `unit` (absolute value)")
    unit: str | None = None
    tracking: Tracking | None = None


class Effect(_Data):
    name: str
    level: str


class StructuredCaption(_Data):
    objects: list[StructuredObject]
    background: StructuredBackground
    floor: StructuredFloor
    shot: Shot
    camera: StructuredCamera
    effects: list[Effect] = Field(default_factory=list, description="Post-processing effects the video shows")
