"""The ground-truth columns of a metadata row, the files beside each video, and their description in the card.

Everything here follows from the recipe, the render settings and the video's path, so the control host
writes the same rows as the machine that rendered (it has neither Blender nor the files).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from simian.recipe.combination import Combination
from simian.recipe.vocabulary import SENSOR_WIDTH_MM
from simian.render.pass_arrays import FORMATS, pass_suffix
from simian.render.render_settings import PASS_NAMES, RenderSettings
from simian.scene import ground_truth
from simian.scene.composition import plan_scene

#: The columns this module adds to `metadata.jsonl`, in this order.
ROW_KEYS = ("camera", "objects", "camera_file", "passes")
CAMERA_SUFFIX = ".camera.txt"


def _stem(file_name: str, settings: RenderSettings) -> str:
    suffix = "" if settings.images else ".mp4"
    return file_name[: len(file_name) - len(suffix)] if suffix else file_name


def files(settings: RenderSettings, file_name: str) -> dict[str, str]:
    """The ground-truth files beside a video (`file_name`, relative to the dataset root): the camera file
    always, one archive per pass asked for."""
    stem = _stem(file_name, settings)
    return {"camera": stem + CAMERA_SUFFIX, **{name: stem + pass_suffix(name) for name in settings.passes}}


def camera_file_text(combination: Combination, settings: RenderSettings, file_name: str) -> str:
    plan = plan_scene(combination, settings.clip())
    cameras = ground_truth.camera_frames(plan, settings.frames, settings.fps, settings.width, settings.height)
    return ground_truth.realestate10k(cameras, file_name.rsplit("/", 1)[-1])


def _r(value: float, digits: int) -> float:
    rounded = round(value, digits)
    return 0.0 if rounded == 0 else rounded


def _camera_column(cameras: list[ground_truth.CameraFrame], settings: RenderSettings) -> dict[str, Any]:
    return {
        "convention": "opencv",
        "width": settings.width,
        "height": settings.height,
        "fps": settings.fps,
        "sensor_width_mm": SENSOR_WIDTH_MM,
        "sensor_height_mm": _r(SENSOR_WIDTH_MM * settings.height / settings.width, 6),
        "focal_length_mm": [_r(c.focal_length_mm, 6) for c in cameras],
        "intrinsics": [[_r(v, 4) for v in (c.fx, c.fy, c.cx, c.cy)] for c in cameras],
        "camera_to_world": [[[_r(v, 6) for v in row] for row in c.camera_to_world()] for c in cameras],
    }


def _objects_column(
    combination: Combination, tracks: list[list[ground_truth.ObjectFrame]], plan_objects: tuple[Any, ...]
) -> list[dict[str, Any]]:
    column = []
    for i, (obj, frames) in enumerate(zip(combination.objects, tracks, strict=True)):
        column.append(
            {
                "id": i + 1,
                "name": obj.name,
                "asset": obj.asset,
                "shape_known": plan_objects[i].shape_known,
                "dims": [_r(v, 5) for v in plan_objects[i].dims],
                "box": [[_r(v, 2) for v in f.box] if f.box is not None else None for f in frames],
                "in_frame": [_r(f.in_frame, 4) for f in frames],
                "position": [[_r(v, 5) for v in f.position] for f in frames],
                "rotation": [list(f.rotation) for f in frames],
            }
        )
    return column


def columns(combination: Combination, settings: RenderSettings, file_name: str) -> dict[str, Any]:
    """Per frame: the camera (intrinsics, pose) and every object (box, share in frame, position, rotation);
    the camera file and the pass files beside the video (every pass named, null when not rendered)."""
    plan = plan_scene(combination, settings.clip())
    cameras = ground_truth.camera_frames(plan, settings.frames, settings.fps, settings.width, settings.height)
    paths = files(settings, file_name)
    return {
        "camera": _camera_column(cameras, settings),
        "objects": _objects_column(combination, ground_truth.object_frames(plan, cameras), plan.objects),
        "camera_file": paths["camera"],
        "passes": {name: paths.get(name) for name in PASS_NAMES},
    }


def card_text(rows: list[dict[str, Any]]) -> str:
    """The card's section on ground truth: what every row carries and which pass files exist."""
    counts = Counter(name for r in rows for name, path in (r.get("passes") or {}).items() if path)
    passes = "\n".join(
        f"- `{name}` ({counts[name]} videos): `{{index:08d}}{pass_suffix(name)}`, {FORMATS[name]}"
        for name in PASS_NAMES
        if counts[name]
    )
    return f"""## Ground truth

Every row carries, per frame, the `camera` (intrinsics `fx fy cx cy` in pixels at the render
resolution, focal length and sensor in millimetres, the 4x4 `camera_to_world` pose) and the `objects`
in caption order (`id` = position in the caption + 1; per frame: `box` [x0, y0, x1, y1] in pixels of
the projected 3D bounding box clipped to the frame, `in_frame` share of that box inside the frame,
`position` of the object's bottom centre in metres, `rotation` quaternion w x y z). Convention:
OpenCV camera axes (x right, y down, z forward), pixel origin at the image's top-left corner, world
Z up. `camera_file` is a RealEstate10K-style `.camera.txt` beside each video (timestamp in µs,
fx/width fy/height cx/width cy/height, 0 0, the 3x4 world-to-camera matrix).

Pass files beside the video, one NumPy `.npz` per clip and pass (array named after the pass,
shape frames x height x width [x channels], row 0 at the top), listed in the row's `passes`:

{passes or "- none in this dataset"}
"""
