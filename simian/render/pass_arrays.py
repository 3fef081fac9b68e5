"""Ground-truth passes: from Blender's raw float buffers of one render to compact, documented arrays.

Pure NumPy (no bpy): the render child hands in each frame's raw depth, normal and object-index buffers
(rows top to bottom) and the exact per-frame cameras and object motion of the scene plan; this module
turns them into the stored arrays, one compressed `.npz` per clip and pass, and checks stored files.
Flow is computed, not read: Blender's vector pass is empty whenever motion blur is on, while every
Simian scene moves rigidly (a camera path and translating objects), so a surface point seen at a pixel
(from the same render's depth and instance id) is carried exactly to the next frame and projected again.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from simian.render.render_settings import RenderSettings
from simian.scene.ground_truth import CameraFrame, Vec3

#: A pixel that hit nothing (sky) is reported at the camera's clip end (EEVEE) or far beyond it (Cycles,
#: workbench): any depth past this share of the clip end is no surface.
FAR_SHARE = 0.999
NORMAL_SCALE = 127
#: Flow is stored in fixed point, as KITTI does: 1/64 pixel steps in int16 (up to +-511 px per frame), and this
#: value in both channels where a pixel has no flow (the last frame, a point passing behind the camera).
FLOW_SCALE = 64
FLOW_NONE = -32768

#: Stored array of each pass: dtype and channels (0: frames x height x width).
STORED: dict[str, tuple[type[np.generic], int]] = {
    "depth": (np.float16, 0),
    "normal": (np.int8, 3),
    "segmentation": (np.uint8, 0),
    "flow": (np.int16, 2),
}

#: How each pass is stored, for people (README and the dataset card say the same).
FORMATS: dict[str, str] = {
    "depth": "float16, metres along the camera's z axis (planar depth); inf where no surface (sky)",
    "normal": "int8 x, y, z of the unit surface normal in camera axes, times 127; 0 0 0 where no surface",
    "segmentation": "uint8 instance id: object i of the caption (0-based) is i + 1; 0 is floor, sky, set",
    "flow": "int16 forward optical flow to the next frame in 1/64 pixels (dx right, dy down); -32768 where none "
    "(the last frame)",
}


class PassVerificationError(RuntimeError):
    """A pass file does not hold what was asked for."""


def pass_suffix(name: str) -> str:
    return f".{name}.npz"


def _grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel centres: (column + 0.5, row + 0.5)."""
    v, u = np.mgrid[0:height, 0:width].astype(np.float64)
    return u + 0.5, v + 0.5


def _rotation(camera: CameraFrame) -> np.ndarray:
    return np.array(camera.rotation, dtype=np.float64)


def no_surface(raw_depth: np.ndarray, clip_end: float) -> np.ndarray:
    return raw_depth >= FAR_SHARE * clip_end


def depth_metres(raw: np.ndarray, clip_end: float) -> np.ndarray:
    return np.where(no_surface(raw, clip_end), np.inf, raw).astype(np.float16)


def camera_normals(raw_world: np.ndarray, raw_depth: np.ndarray, clip_end: float, camera: CameraFrame) -> np.ndarray:
    """World-space normals (Blender's normal pass) turned into the camera's axes, unit length, as int8."""
    normals = raw_world.astype(np.float64) @ _rotation(camera)  # n_cam = R^T n_world, row vectors
    length = np.linalg.norm(normals, axis=-1, keepdims=True)
    hit = (length[..., 0] > 1e-6) & ~no_surface(raw_depth, clip_end)
    unit = np.where(hit[..., None], normals / np.maximum(length, 1e-12), 0.0)
    return np.round(unit * NORMAL_SCALE).astype(np.int8)


def instance_ids(raw_index: np.ndarray) -> np.ndarray:
    return np.clip(np.round(raw_index), 0, 255).astype(np.uint8)


def forward_flow(
    raw_depth: np.ndarray,
    clip_end: float,
    ids: np.ndarray,
    camera: CameraFrame,
    following: CameraFrame,
    displacements: Sequence[Vec3],
) -> np.ndarray:
    """Where each pixel's surface point lands in the next frame, minus where it is (pixels, x right, y down).

    `displacements[k]` is how far object id k + 1 moves between the two frames; the floor, the set and the
    sky (id 0) stand still. Sky pixels are directions at infinity: only the camera's rotation and zoom move
    them. A point that passes behind the next camera, or moves more than the stored range, has no flow.
    """
    height, width = raw_depth.shape
    u, v = _grid(height, width)
    rays = np.stack([(u - camera.cx) / camera.fx, (v - camera.cy) / camera.fy, np.ones_like(u)], axis=-1)
    sky = no_surface(raw_depth, clip_end)
    depth = np.where(sky, 1.0, raw_depth.astype(np.float64))
    rotation, following_rotation = _rotation(camera), _rotation(following)
    moves = np.zeros((256, 3))
    moves[1 : len(displacements) + 1] = np.asarray(displacements, dtype=np.float64).reshape(-1, 3)
    world = (rays * depth[..., None]) @ rotation.T + np.asarray(camera.location)
    world += moves[ids]
    moved = (world - np.asarray(following.location)) @ following_rotation
    direction = (rays @ rotation.T) @ following_rotation
    seen = np.where(sky[..., None], direction, moved)
    z = seen[..., 2]
    ahead = z > 1e-9
    safe_z = np.where(ahead, z, 1.0)
    u_next = following.fx * seen[..., 0] / safe_z + following.cx
    v_next = following.fy * seen[..., 1] / safe_z + following.cy
    steps = np.round(np.stack([u_next - u, v_next - v], axis=-1) * FLOW_SCALE)
    valid = ahead & (np.abs(steps) < -FLOW_NONE).all(axis=-1)
    return np.where(valid[..., None], steps, FLOW_NONE).astype(np.int16)


def last_frame_flow(height: int, width: int) -> np.ndarray:
    return np.full((height, width, 2), FLOW_NONE, dtype=np.int16)


def silhouettes(ids: np.ndarray, count: int) -> list[tuple[list[float] | None, int]]:
    """Per object id 1..count: the pixel box [x0, y0, x1, y1] of its visible pixels (edges, top-left origin)
    and how many pixels it covers."""
    found: list[tuple[list[float] | None, int]] = []
    for object_id in range(1, count + 1):
        mask = ids == object_id
        pixels = int(mask.sum())
        if not pixels:
            found.append((None, 0))
            continue
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        found.append(([float(cols[0]), float(rows[0]), float(cols[-1] + 1), float(rows[-1] + 1)], pixels))
    return found


def save(path: Path, name: str, frames: list[np.ndarray]) -> None:
    with path.open("wb") as handle:
        np.savez_compressed(handle, **{name: np.stack(frames)})


def expected_shape(name: str, settings: RenderSettings) -> tuple[int, ...]:
    channels = STORED[name][1]
    return (settings.frames, settings.height, settings.width) + ((channels,) if channels else ())


def load(path: Path, name: str) -> np.ndarray:
    """The array of one pass file (no pickles: a pass file runs no code)."""
    with np.load(path, allow_pickle=False) as archive:
        return np.asarray(archive[name])


def verify_pass(path: Path, name: str, settings: RenderSettings) -> None:
    try:
        array = load(path, name)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise PassVerificationError(f"{path.name} does not load as the {name} pass: {exc}") from exc
    dtype = np.dtype(STORED[name][0])
    if array.dtype != dtype:
        raise PassVerificationError(f"{path.name} holds {array.dtype}, expected {dtype}")
    shape = expected_shape(name, settings)
    if array.shape != shape:
        raise PassVerificationError(
            f"{path.name} has shape {array.shape} (frames, height, width[, channels]), expected {shape}"
        )
