"""Where everything is at every moment: the geometry both captions and renderer use.

Pure Python (no bpy), so captions can be checked against the same numbers the renderer
keyframes. World frame: Z up, objects face -Y ("front"), the floor is z = 0.

The plan is a function of the recipe and the clip it is rendered as (size, frame count, rate; by
default the planned clip, the default render settings: 24 frames at 24 fps, 16:9): it frames the
shot for that clip, fitting the camera distance so that every object stays inside the frame and
large enough on every frame (`simian.scene.composition`), and records each object's image box per frame.
Recipes drawn from a seed are fitted for the clip they render (a preset's shape included).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

from simian.recipe.combination import Combination
from simian.recipe.vocabulary import CAMERA_MOVES, CameraMove
from simian.scene.projection import Box2D, CameraPose, box_corners, project_box
from simian.scene.shapes import shape_for

Vec3 = tuple[float, float, float]

#: Gap between grid cells relative to the largest object.
CELL_SPACING = 1.3
MIN_FOV = 4.0
MAX_FOV = 150.0
MAX_ELEVATION = 88.0
#: The camera never goes lower than this above the floor (metres).
CAMERA_MIN_HEIGHT = 0.05


ProblemKind = Literal[
    "out_of_frame", "too_small", "unnameable", "view_hides", "occluded", "end_on", "floor_hidden", "move_limited"
]


@dataclass(frozen=True)
class Problem:
    kind: ProblemKind
    object: int | None
    frame: int | None
    detail: str

    def __str__(self) -> str:
        where = "" if self.frame is None else f" at frame {self.frame}"
        who = "" if self.object is None else f"object {self.object} "
        return f"{who}{self.kind.replace('_', ' ')}{where}: {self.detail}"


@dataclass(frozen=True)
class Clip:
    """The clip a plan is framed for; the default is the default render (see RenderSettings)."""

    frames: int = 24
    fps: int = 24
    width: int = 320
    height: int = 180

    @property
    def aspect(self) -> float:
        return self.width / self.height

    @property
    def duration_s(self) -> float:
        return self.frames / self.fps

    def time_of(self, frame: int) -> float:
        """Time in seconds of 1-based `frame`."""
        return (frame - 1) / self.fps


PLANNED_CLIP = Clip()


@dataclass(frozen=True)
class ObjectTrack:
    index: int
    size: float  # largest dimension, metres
    dims: Vec3  # bounding-box sides (x, y, z) in metres; a cube of `size` when the shape is unknown
    shape_known: bool
    rest: Vec3  # bottom centre at the placement; z = planned top of what it stands on
    base_z_range: tuple[float, float]  # lowest and highest its bottom can be (unknown shapes below it)
    velocity: Vec3  # metres per second, shared by the whole stack
    stacked_on: int | None  # index of the object this one stands on
    carrier: int  # index of the stack's bottom object, whose motion the whole stack shares


@dataclass(frozen=True)
class Backdrop:
    """Where a studio's seamless backdrop stands: an arc of a vertical cylinder behind the objects,
    coved into the floor, facing the camera's starting position."""

    center: Vec3
    radius: float
    cove_radius: float
    height: float
    facing_deg: float  # azimuth from the centre towards the middle of the arc (away from the camera)
    half_arc_deg: float


@dataclass(frozen=True)
class ScenePlan:
    combination: Combination
    clip: Clip
    target: Vec3  # the point the camera looks at (before following an object)
    distance: float
    objects: tuple[ObjectTrack, ...]
    move: CameraMove
    move_rate: float  # absolute units per second (degrees or metres), sign included
    frame_boxes: tuple[tuple[Box2D | None, ...], ...] = ()  # per planned frame, per object
    problems: tuple[Problem, ...] = ()
    backdrop: Backdrop | None = field(default=None)

    def object_offset(self, index: int, t: float) -> Vec3:
        """Displacement of object `index` from its rest position at time t (a stack moves as one)."""
        carrier = self.objects[self.objects[index].carrier]
        v = carrier.velocity
        if v == (0.0, 0.0, 0.0):
            return (0.0, 0.0, 0.0)
        # Objects cross their placement at mid-clip, so they stay in view; rising ones start on the floor.
        t_ref = 0.0 if v[2] > 0 else self.clip.duration_s / 2
        dt = t - t_ref
        return (v[0] * dt, v[1] * dt, v[2] * dt)

    def moves(self, index: int) -> bool:
        return self.objects[self.objects[index].carrier].velocity != (0.0, 0.0, 0.0)

    def object_bounds(self, index: int, t: float) -> tuple[Vec3, Vec3]:
        """World bounding box (lo, hi) of object `index` at time t; conservative for unknown shapes."""
        track = self.objects[index]
        off = self.object_offset(index, t)
        x, y = track.rest[0] + off[0], track.rest[1] + off[1]
        w, d, h = track.dims
        z_lo, z_hi = track.base_z_range
        return (x - w / 2, y - d / 2, z_lo + off[2]), (x + w / 2, y + d / 2, z_hi + h + off[2])

    def object_center(self, index: int, t: float) -> Vec3:
        lo, hi = self.object_bounds(index, t)
        return ((lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, (lo[2] + hi[2]) / 2)

    def look_at(self, t: float) -> Vec3:
        """The point the camera orbits and looks at: the target, carried along with a followed object."""
        followed = follow_index(self.combination)
        if followed is None or not self.moves(followed):
            return self.target
        off = self.object_offset(followed, t)
        return (self.target[0] + off[0], self.target[1] + off[1], self.target[2] + off[2])

    def camera_at(self, t: float) -> CameraPose:
        return self._camera(t)[0]

    def camera_limited(self, t: float) -> bool:
        """Whether the camera move has run into a limit by time t (the floor, a fov or distance bound),
        after which it no longer moves at the captioned rate."""
        return self._camera(t)[1]

    def _camera(self, t: float) -> tuple[CameraPose, bool]:
        c = self.combination
        azimuth = 270.0 + c.orientation.yaw
        elevation = c.orientation.pitch
        distance = self.distance
        fov = c.framing.fov
        heading_offset = look_pitch_offset = roll = height = 0.0
        delta = self.move_rate * t
        limited = False
        match self.move.quantity:
            case "azimuth":
                azimuth += delta
            case "elevation":
                raw = elevation + delta
                elevation = min(MAX_ELEVATION, max(-10.0, raw))
                limited = elevation != raw
            case "heading":
                heading_offset = delta
            case "look_pitch":
                look_pitch_offset = delta
            case "roll":
                roll = delta
            case "distance":
                distance = max(0.2 * self.distance, distance + delta)
                limited = distance != self.distance + delta
            case "fov":
                fov = min(MAX_FOV, max(MIN_FOV, fov + delta))
                limited = fov != c.framing.fov + delta
            case "height":
                height = delta
        target = self.look_at(t)
        az, el = math.radians(azimuth), math.radians(elevation)
        z = target[2] + distance * math.sin(el) + height
        location = (
            target[0] + distance * math.cos(el) * math.cos(az),
            target[1] + distance * math.cos(el) * math.sin(az),
            max(CAMERA_MIN_HEIGHT, z),
        )
        pose = CameraPose(
            location=location,
            heading_deg=azimuth + 180.0 + heading_offset,
            look_pitch_deg=elevation + look_pitch_offset,
            roll_deg=roll,
            fov_deg=fov,
        )
        return pose, limited or z < CAMERA_MIN_HEIGHT

    def boxes_at(self, t: float, aspect: float | None = None) -> list[Box2D | None]:
        """Image box of every object at time t (None: partly behind the camera)."""
        pose = self.camera_at(t)
        aspect = aspect or self.clip.aspect
        return [project_box(pose, box_corners(*self.object_bounds(i, t)), aspect) for i in range(len(self.objects))]

    def frame_boxes_json(self) -> list[list[list[float] | None]]:
        """Per planned frame, per object: [x0, y0, x1, y1] as frame fractions (top-left origin)."""
        return [[b.as_list() if b is not None else None for b in frame] for frame in self.frame_boxes]


def follow_index(combination: Combination) -> int | None:
    for i, obj in enumerate(combination.objects):
        if obj.camera_follow:
            return i
    return None


def cell_spacing(combination: Combination) -> float:
    return CELL_SPACING * max(o.scale.factor for o in combination.objects) + 0.1


def rest_positions(combination: Combination) -> list[tuple[float, float]]:
    spacing = cell_spacing(combination)
    return [((o.placement % 3 - 1) * spacing, (o.placement // 3 - 1) * spacing) for o in combination.objects]


def stacking(combination: Combination) -> list[int | None]:
    """For each object, the object it stands on (the previous one in the same cell)."""
    top_of_cell: dict[int, int] = {}
    below: list[int | None] = []
    for i, obj in enumerate(combination.objects):
        below.append(top_of_cell.get(obj.placement))
        top_of_cell[obj.placement] = i
    return below


def horizontal_axes(yaw: float) -> tuple[Vec3, Vec3]:
    """Forward and right vectors of a camera at `yaw` looking at the scene centre."""
    h = math.radians(270.0 + yaw + 180.0)
    return (math.cos(h), math.sin(h), 0.0), (math.sin(h), -math.cos(h), 0.0)


def _velocity(direction: str, speed: float, yaw: float) -> Vec3:
    forward, right = horizontal_axes(yaw)
    unit = {
        "left": (-right[0], -right[1], 0.0),
        "right": right,
        "toward": (-forward[0], -forward[1], 0.0),
        "away": forward,
        "up": (0.0, 0.0, 1.0),
    }[direction]
    return (unit[0] * speed, unit[1] * speed, unit[2] * speed)


def _tracks(c: Combination) -> list[ObjectTrack]:
    positions = rest_positions(c)
    below = stacking(c)
    tracks: list[ObjectTrack] = []
    for i, obj in enumerate(c.objects):
        shape = shape_for(obj.asset)
        dims = shape.dims(obj.scale.factor)
        base = below[i]
        if base is None:
            z_range, carrier = (0.0, 0.0), i
        else:
            under = tracks[base]
            # An unknown shape's height is at most its size: its top lies between its bottom and that.
            top_lo = under.base_z_range[0] + (under.dims[2] if under.shape_known else 0.0)
            top_hi = under.base_z_range[1] + under.dims[2]
            z_range, carrier = (top_lo, top_hi), under.carrier
        velocity = (0.0, 0.0, 0.0)
        if obj.movement is not None:
            velocity = _velocity(obj.movement.direction, obj.movement.speed, c.orientation.yaw)
        tracks.append(
            ObjectTrack(
                i, obj.scale.factor, dims, shape.known, (*positions[i], z_range[1]), z_range, velocity, base, carrier
            )
        )
    # A stack moves as one, with the movement of whichever of its objects has one (the recipe
    # allows one movement per cell), so nothing slides off or floats away from what it stands on.
    moving = {t.carrier: t.velocity for t in tracks if t.velocity != (0.0, 0.0, 0.0)}
    return [replace(t, velocity=moving.get(t.carrier, (0.0, 0.0, 0.0))) for t in tracks]


def _rate(move: CameraMove, c: Combination, distance: float) -> float:
    rate = move.base_rate * c.animation.speed_factor
    if move.relative:
        rate *= c.framing.fov if move.quantity == "fov" else distance
    return move.sign * rate


def _target(c: Combination, draft: ScenePlan) -> Vec3:
    """The centre of every object's box over the clip, or of the followed object's box at rest."""
    followed = follow_index(c)
    if followed is not None and draft.moves(followed):
        lo, hi = draft.object_bounds(followed, _rest_time(draft, followed))
        return ((lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, (lo[2] + hi[2]) / 2)
    lows, highs = [], []
    for i in range(len(draft.objects)):
        for t in (0.0, draft.clip.duration_s):
            lo, hi = draft.object_bounds(i, t)
            lows.append(lo)
            highs.append(hi)
    lo = (min(p[0] for p in lows), min(p[1] for p in lows), min(p[2] for p in lows))
    hi = (max(p[0] for p in highs), max(p[1] for p in highs), max(p[2] for p in highs))
    if followed is not None:  # a followed object that does not move is simply the centre of attention
        flo, fhi = draft.object_bounds(followed, 0.0)
        return ((flo[0] + fhi[0]) / 2, (flo[1] + fhi[1]) / 2, (lo[2] + hi[2]) / 2)
    return ((lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, (lo[2] + hi[2]) / 2)


def _rest_time(plan: ScenePlan, index: int) -> float:
    carrier = plan.objects[plan.objects[index].carrier]
    return 0.0 if carrier.velocity[2] > 0 else plan.clip.duration_s / 2


def _backdrop(plan: ScenePlan) -> Backdrop:
    """A backdrop around the set, beyond everything the objects sweep through and beyond the camera's
    whole path, so the camera always looks at the paper's lit inside, open only behind the camera."""
    cx, cy, _ = plan.target
    reach = 0.0
    tallest = 0.0
    for i in range(len(plan.objects)):
        for t in (0.0, plan.clip.duration_s):
            lo, hi = plan.object_bounds(i, t)
            for x in (lo[0], hi[0]):
                for y in (lo[1], hi[1]):
                    reach = max(reach, math.hypot(x - cx, y - cy))
            tallest = max(tallest, hi[2])
    cove = max(0.5, 0.6 * reach)
    path = [plan.camera_at(plan.clip.time_of(f)).location for f in range(1, plan.clip.frames + 1)]
    camera_reach = max(math.hypot(p[0] - cx, p[1] - cy) for p in path)
    radius = max(reach * 1.6 + cove + 0.5, 1.3 * camera_reach + cove)
    start = path[0]
    facing = math.degrees(math.atan2(cy - start[1], cx - start[0]))
    height = max(tallest * 3, 2 * (camera_reach + radius), max(p[2] for p in path) * 3)
    return Backdrop((cx, cy, 0.0), radius, cove, height, facing, 150.0)


def draft_plan(combination: Combination, clip: Clip) -> Callable[[float], ScenePlan]:
    """The recipe's layout, as a plan for each camera distance (for `composition.fit` to choose from)."""
    c = combination
    move = CAMERA_MOVES[c.animation.name]
    draft = ScenePlan(
        combination=c,
        clip=clip,
        target=(0.0, 0.0, 0.0),
        distance=1.0,
        objects=tuple(_tracks(c)),
        move=move,
        move_rate=0.0,
    )
    draft = replace(draft, target=_target(c, draft))

    def at_distance(distance: float) -> ScenePlan:
        return replace(draft, distance=distance, move_rate=_rate(move, c, distance))

    return at_distance


def finish_plan(plan: ScenePlan, problems: list[Problem]) -> ScenePlan:
    """The fitted plan with its per-frame boxes, its problems and the studio backdrop around it."""
    clip = plan.clip
    boxes = tuple(tuple(plan.boxes_at(clip.time_of(f))) for f in range(1, clip.frames + 1))
    plan = replace(plan, frame_boxes=boxes, problems=tuple(problems))
    return replace(plan, backdrop=_backdrop(plan))
