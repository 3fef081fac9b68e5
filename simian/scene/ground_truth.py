"""Exact ground truth per frame, from the scene plan alone: the camera's intrinsics and pose, and each object's
image box, share of the frame, position and rotation.

Pure Python, so any host (the Hub finaliser included) computes the same numbers the renderer keyframed,
without Blender or the video. Conventions (OpenCV): camera axes x right, y down, z forward; pixel
coordinates have their origin at the top-left corner of the image, so the centre of pixel (column i,
row j) is (i + 0.5, j + 0.5); intrinsics are in pixels at the render resolution; world frame Z up, metres.
Frame f (1-based) shows the scene at time (f - 1) / fps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from simian.recipe.vocabulary import focal_length_mm
from simian.scene.plan import ScenePlan
from simian.scene.projection import CLIP_START, box_corners

Vec3 = tuple[float, float, float]
Matrix3 = tuple[Vec3, Vec3, Vec3]

#: Objects keep the orientation they were built in (front towards -Y): their rotation is the identity.
IDENTITY_QUATERNION = (1.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True)
class CameraFrame:
    """The pinhole camera of one frame: K = [[fx, 0, cx], [0, fy, cy], [0, 0, 1]], camera-to-world pose."""

    frame: int  # 1-based
    time_s: float
    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    focal_length_mm: float
    rotation: Matrix3  # camera-to-world rotation; its columns are the camera's x (right), y (down), z (forward)
    location: Vec3

    def camera_to_world(self) -> list[list[float]]:
        r, t = self.rotation, self.location
        return [
            [r[0][0], r[0][1], r[0][2], t[0]],
            [r[1][0], r[1][1], r[1][2], t[1]],
            [r[2][0], r[2][1], r[2][2], t[2]],
            [0.0, 0.0, 0.0, 1.0],
        ]

    def world_to_camera(self) -> list[list[float]]:
        """The 3x4 matrix [R^T | -R^T t] taking world points into camera coordinates."""
        r, t = self.rotation, self.location
        rows = []
        for k in range(3):
            axis = (r[0][k], r[1][k], r[2][k])
            rows.append([axis[0], axis[1], axis[2], -(axis[0] * t[0] + axis[1] * t[1] + axis[2] * t[2])])
        return rows

    def to_camera(self, point: Vec3) -> Vec3:
        d = (point[0] - self.location[0], point[1] - self.location[1], point[2] - self.location[2])
        r = self.rotation
        return (
            r[0][0] * d[0] + r[1][0] * d[1] + r[2][0] * d[2],
            r[0][1] * d[0] + r[1][1] * d[1] + r[2][1] * d[2],
            r[0][2] * d[0] + r[1][2] * d[1] + r[2][2] * d[2],
        )

    def pixel(self, camera_point: Vec3) -> tuple[float, float]:
        x, y, z = camera_point
        return (self.fx * x / z + self.cx, self.fy * y / z + self.cy)

    def project(self, point: Vec3) -> tuple[float, float, float]:
        """(u, v, depth) of a world point: pixels from the top-left corner, depth along the view axis."""
        camera_point = self.to_camera(point)
        if camera_point[2] <= 1e-9:
            return (math.nan, math.nan, camera_point[2])
        u, v = self.pixel(camera_point)
        return (u, v, camera_point[2])


@dataclass(frozen=True)
class ObjectFrame:
    box: tuple[float, float, float, float] | None  # x0, y0, x1, y1 in pixels, clipped to the frame; None: not in it
    in_frame: float  # share of the projected box's area inside the frame
    position: Vec3  # bottom centre of the object (its origin), world metres
    rotation: tuple[float, float, float, float]  # world-from-object quaternion (w, x, y, z)


def frame_times(frames: int, fps: int) -> list[float]:
    return [(f - 1) / fps for f in range(1, frames + 1)]


def camera_frame(plan: ScenePlan, frame: int, fps: int, width: int, height: int) -> CameraFrame:
    t = (frame - 1) / fps
    pose = plan.camera_at(t)
    right, up, forward = pose.basis()
    down = (-up[0], -up[1], -up[2])
    rotation: Matrix3 = tuple((right[k], down[k], forward[k]) for k in range(3))  # type: ignore[assignment]
    tan_half = math.tan(math.radians(pose.fov_deg) / 2)
    focal_px = width / 2 / tan_half  # horizontal sensor fit: the fov spans the width; square pixels
    return CameraFrame(
        frame=frame,
        time_s=t,
        width=width,
        height=height,
        fx=focal_px,
        fy=focal_px,
        cx=width / 2,
        cy=height / 2,
        focal_length_mm=focal_length_mm(pose.fov_deg),
        rotation=rotation,
        location=pose.location,
    )


def camera_frames(plan: ScenePlan, frames: int, fps: int, width: int, height: int) -> list[CameraFrame]:
    return [camera_frame(plan, f, fps, width, height) for f in range(1, frames + 1)]


_EDGES = [(a, b) for a in range(8) for b in range(a + 1, 8) if bin(a ^ b).count("1") == 1]


def image_box(camera: CameraFrame, lo: Vec3, hi: Vec3) -> tuple[tuple[float, float, float, float] | None, float]:
    """The frame-clipped image box of a world box and the share of its projected area inside the frame.

    The box is first cut at the camera's near plane, so a box partly behind the camera still has its box.
    """
    corners = [camera.to_camera(c) for c in box_corners(lo, hi)]
    points = [c for c in corners if c[2] > CLIP_START]
    for a, b in _EDGES:
        za, zb = corners[a][2], corners[b][2]
        if (za > CLIP_START) != (zb > CLIP_START):
            s = (CLIP_START - za) / (zb - za)
            points.append(tuple(corners[a][k] + s * (corners[b][k] - corners[a][k]) for k in range(3)))  # type: ignore[arg-type]
    if not points:
        return None, 0.0
    pixels = [camera.pixel(p) for p in points]
    x0, x1 = min(p[0] for p in pixels), max(p[0] for p in pixels)
    y0, y1 = min(p[1] for p in pixels), max(p[1] for p in pixels)
    area = (x1 - x0) * (y1 - y0)
    cx0, cy0, cx1, cy1 = max(x0, 0.0), max(y0, 0.0), min(x1, float(camera.width)), min(y1, float(camera.height))
    if cx1 <= cx0 or cy1 <= cy0:
        return None, 0.0
    return (cx0, cy0, cx1, cy1), ((cx1 - cx0) * (cy1 - cy0) / area if area > 0 else 1.0)


def object_frame(plan: ScenePlan, index: int, camera: CameraFrame) -> ObjectFrame:
    box, in_frame = image_box(camera, *plan.object_bounds(index, camera.time_s))
    rest, offset = plan.objects[index].rest, plan.object_offset(index, camera.time_s)
    position = (rest[0] + offset[0], rest[1] + offset[1], rest[2] + offset[2])
    return ObjectFrame(box, in_frame, position, IDENTITY_QUATERNION)


def object_frames(plan: ScenePlan, cameras: list[CameraFrame]) -> list[list[ObjectFrame]]:
    """Per object (caption order), per frame."""
    return [[object_frame(plan, i, camera) for camera in cameras] for i in range(len(plan.objects))]


def _number(value: float, digits: int) -> str:
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def realestate10k(cameras: list[CameraFrame], first_line: str) -> str:
    """The RealEstate10K / CameraCtrl camera file: a first line naming the clip, then one line per frame:
    timestamp in microseconds, fx/width fy/height cx/width cy/height (intrinsics as fractions of the image),
    two zeros (no distortion), and the 3x4 world-to-camera matrix row by row (OpenCV axes)."""
    lines = [first_line]
    for camera in cameras:
        values = [
            camera.fx / camera.width,
            camera.fy / camera.height,
            camera.cx / camera.width,
            camera.cy / camera.height,
            0.0,
            0.0,
        ]
        values += [v for row in camera.world_to_camera() for v in row]
        lines.append(" ".join([str(round(camera.time_s * 1_000_000))] + [_number(v, 9) for v in values]))
    return "\n".join(lines) + "\n"
