"""Where everything is at every moment: the geometry both captions and renderer use.

Pure Python (no bpy), so captions can be checked against the same numbers the renderer
keyframes. World frame: Z up, objects face -Y ("front"), the floor is z = 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from simian.combination import Combination
from simian.vocabulary import CAMERA_MOVES, CameraMove

Vec3 = tuple[float, float, float]

#: Gap between grid cells relative to the largest object.
CELL_SPACING = 1.3
MIN_FOV = 4.0
MAX_FOV = 150.0
MAX_ELEVATION = 88.0


@dataclass(frozen=True)
class CameraPose:
    location: Vec3
    heading_deg: float  # azimuth the camera looks toward (0 = +X, counter-clockwise)
    look_pitch_deg: float  # degrees below the horizon the camera looks
    roll_deg: float
    fov_deg: float


@dataclass(frozen=True)
class ObjectTrack:
    index: int
    size: float  # largest dimension, metres
    rest: Vec3  # position at mid-clip (the placement); z = 0 or stacked later by the renderer
    velocity: Vec3  # metres per second
    stacked_on: int | None  # index of the object this one stands on


@dataclass(frozen=True)
class ScenePlan:
    combination: Combination
    duration_s: float
    target: Vec3
    distance: float
    objects: tuple[ObjectTrack, ...]
    move: CameraMove
    move_rate: float  # absolute units per second (degrees or metres), sign included

    def object_offset(self, index: int, t: float) -> Vec3:
        """Displacement of object `index` from its rest position at time t."""
        track = self.objects[index]
        if track.velocity == (0.0, 0.0, 0.0):
            return (0.0, 0.0, 0.0)
        # Objects cross their placement at mid-clip, so they stay in view; rising ones start on the floor.
        t_ref = 0.0 if track.velocity[2] > 0 else self.duration_s / 2
        dt = t - t_ref
        return (track.velocity[0] * dt, track.velocity[1] * dt, track.velocity[2] * dt)

    def camera_at(self, t: float) -> CameraPose:
        c = self.combination
        azimuth = 270.0 + c.orientation.yaw
        elevation = c.orientation.pitch
        distance = self.distance
        fov = c.framing.fov
        heading_offset = look_pitch_offset = roll = height = 0.0
        delta = self.move_rate * t
        match self.move.quantity:
            case "azimuth":
                azimuth += delta
            case "elevation":
                elevation = min(MAX_ELEVATION, max(-10.0, elevation + delta))
            case "heading":
                heading_offset = delta
            case "look_pitch":
                look_pitch_offset = delta
            case "roll":
                roll = delta
            case "distance":
                distance = max(0.2 * self.distance, distance + delta)
            case "fov":
                fov = min(MAX_FOV, max(MIN_FOV, fov + delta))
            case "height":
                height = delta
        target = self.target
        followed = follow_index(c)
        if followed is not None:
            off = self.object_offset(followed, t)
            target = (target[0] + off[0], target[1] + off[1], target[2] + off[2])
        az, el = math.radians(azimuth), math.radians(elevation)
        location = (
            target[0] + distance * math.cos(el) * math.cos(az),
            target[1] + distance * math.cos(el) * math.sin(az),
            max(0.05, target[2] + distance * math.sin(el) + height),
        )
        return CameraPose(
            location=location,
            heading_deg=azimuth + 180.0 + heading_offset,
            look_pitch_deg=elevation + look_pitch_offset,
            roll_deg=roll,
            fov_deg=fov,
        )

    def camera_axes(self, t: float = 0.0) -> tuple[Vec3, Vec3]:
        """Horizontal forward and right unit vectors of the camera at time t."""
        h = math.radians(self.camera_at(t).heading_deg)
        return (math.cos(h), math.sin(h), 0.0), (math.sin(h), -math.cos(h), 0.0)

    def in_camera_frame(self, point: Vec3, t: float = 0.0) -> tuple[float, float]:
        """(right, depth) of a point relative to the camera: depth grows away from the camera."""
        forward, right = self.camera_axes(t)
        cam = self.camera_at(t).location
        d = (point[0] - cam[0], point[1] - cam[1])
        return d[0] * right[0] + d[1] * right[1], d[0] * forward[0] + d[1] * forward[1]


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


def plan_scene(combination: Combination, duration_s: float = 2.0) -> ScenePlan:
    """Lay out objects and the camera; `duration_s` only decides where movers start."""
    c = combination
    positions = rest_positions(c)
    below = stacking(c)
    stack_height: dict[int, float] = {}
    tracks = []
    for i, obj in enumerate(c.objects):
        stack_height[obj.placement] = stack_height.get(obj.placement, 0.0) + obj.scale.factor
        velocity = (0.0, 0.0, 0.0)
        if obj.movement is not None:
            velocity = _velocity(obj.movement.direction, obj.movement.speed, c.orientation.yaw)
        tracks.append(ObjectTrack(i, obj.scale.factor, (*positions[i], 0.0), velocity, below[i]))
    followed = follow_index(c)
    if followed is not None:
        fx, fy = positions[followed]
    else:
        cells = {o.placement: positions[i] for i, o in enumerate(c.objects)}
        fx = sum(p[0] for p in cells.values()) / len(cells)
        fy = sum(p[1] for p in cells.values()) / len(cells)
    tallest = max(stack_height.values())
    radius_xy = max(math.dist((fx, fy), positions[i]) + o.scale.factor / 2 for i, o in enumerate(c.objects))
    radius = math.hypot(radius_xy, tallest / 2)
    target = (fx, fy, min(tallest, max(o.scale.factor for o in c.objects)) * 0.4)
    # The fov is horizontal: fit the ground spread across the width and the tallest stack in the height
    # (frames are assumed 16:9 or wider, so the vertical half-angle is smaller).
    tan_h = math.tan(math.radians(c.framing.fov) / 2)
    tan_v = tan_h * 9 / 16
    coverage = c.framing.coverage_factor
    distance = max(radius_xy * coverage / tan_h, (tallest / 2) * coverage / tan_v, radius * 1.1, 0.5)
    move = CAMERA_MOVES[c.animation.name]
    rate = move.base_rate * c.animation.speed_factor
    if move.relative:
        rate *= c.framing.fov if move.quantity == "fov" else distance
    return ScenePlan(
        combination=c,
        duration_s=duration_s,
        target=target,
        distance=distance,
        objects=tuple(tracks),
        move=move,
        move_rate=move.sign * rate,
    )
