"""The pinhole camera the renderer builds, in pure Python: where a world point lands in the image.

Mirrors Blender's camera as `simian.render.blender.scene` sets it up (horizontal sensor fit, the
rotation heading -> look pitch -> roll), so the scene plan can frame and check shots before
rendering. Image coordinates are fractions of the frame, origin top-left, y down.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

Vec3 = tuple[float, float, float]

#: Nearest distance Blender draws (the camera's clip start, metres).
CLIP_START = 0.05


@dataclass(frozen=True)
class CameraPose:
    location: Vec3
    heading_deg: float  # azimuth the camera looks toward (0 = +X, counter-clockwise)
    look_pitch_deg: float  # degrees below the horizon the camera looks
    roll_deg: float
    fov_deg: float  # horizontal

    def basis(self) -> tuple[Vec3, Vec3, Vec3]:
        """World-space right, up and forward unit vectors of the image."""
        return self._basis

    @cached_property
    def _basis(self) -> tuple[Vec3, Vec3, Vec3]:
        """Computed once per pose: shot fitting projects thousands of points through one pose."""
        h, p, r = (math.radians(a) for a in (self.heading_deg, self.look_pitch_deg, self.roll_deg))
        forward = (math.cos(p) * math.cos(h), math.cos(p) * math.sin(h), -math.sin(p))
        right0 = (math.sin(h), -math.cos(h), 0.0)
        up0 = (math.sin(p) * math.cos(h), math.sin(p) * math.sin(h), math.cos(p))
        # Roll turns the image counter-clockwise by `roll` about the view axis.
        cr, sr = math.cos(r), math.sin(r)
        right = tuple(cr * a + sr * b for a, b in zip(right0, up0, strict=True))
        up = tuple(-sr * a + cr * b for a, b in zip(right0, up0, strict=True))
        return right, up, forward  # type: ignore[return-value]


@dataclass(frozen=True)
class Box2D:
    """An axis-aligned image box in frame fractions (origin top-left, y down)."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def center(self) -> tuple[float, float]:
        return ((self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2)

    def union(self, other: Box2D) -> Box2D:
        return Box2D(min(self.x0, other.x0), min(self.y0, other.y0), max(self.x1, other.x1), max(self.y1, other.y1))

    def intersection_area(self, other: Box2D) -> float:
        w = min(self.x1, other.x1) - max(self.x0, other.x0)
        h = min(self.y1, other.y1) - max(self.y0, other.y0)
        return max(0.0, w) * max(0.0, h)

    def inside(self, margin: float) -> bool:
        return self.x0 >= margin and self.y0 >= margin and self.x1 <= 1 - margin and self.y1 <= 1 - margin

    def as_list(self, digits: int = 5) -> list[float]:
        return [round(v, digits) for v in (self.x0, self.y0, self.x1, self.y1)]


def project(pose: CameraPose, point: Vec3, aspect: float) -> tuple[float, float, float]:
    """(x, y, depth) of a world point: x, y as frame fractions (top-left origin), depth along the view."""
    right, up, forward = pose.basis()
    d = (point[0] - pose.location[0], point[1] - pose.location[1], point[2] - pose.location[2])
    depth = d[0] * forward[0] + d[1] * forward[1] + d[2] * forward[2]
    if depth <= 1e-9:
        return (math.nan, math.nan, depth)
    tan_h = math.tan(math.radians(pose.fov_deg) / 2)
    tan_v = tan_h / aspect
    sx = (d[0] * right[0] + d[1] * right[1] + d[2] * right[2]) / depth
    sy = (d[0] * up[0] + d[1] * up[1] + d[2] * up[2]) / depth
    return (0.5 + 0.5 * sx / tan_h, 0.5 - 0.5 * sy / tan_v, depth)


def box_corners(lo: Vec3, hi: Vec3) -> list[Vec3]:
    return [(x, y, z) for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])]


def project_box(pose: CameraPose, corners: Iterable[Vec3], aspect: float) -> Box2D | None:
    """Image box of 3D points, or None when any of them is behind the camera's near plane."""
    xs, ys = [], []
    for corner in corners:
        x, y, depth = project(pose, corner, aspect)
        if depth <= CLIP_START:
            return None
        xs.append(x)
        ys.append(y)
    return Box2D(min(xs), min(ys), max(xs), max(ys))


def ray_direction(pose: CameraPose, x: float, y: float, aspect: float) -> Vec3:
    """World direction of the ray through image point (x, y) (frame fractions, top-left origin)."""
    right, up, forward = pose.basis()
    tan_h = math.tan(math.radians(pose.fov_deg) / 2)
    sx = (2 * x - 1) * tan_h
    sy = (1 - 2 * y) * tan_h / aspect
    d = tuple(f + sx * r + sy * u for f, r, u in zip(forward, right, up, strict=True))
    n = math.sqrt(sum(c * c for c in d))
    return (d[0] / n, d[1] / n, d[2] / n)
