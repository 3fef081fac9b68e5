"""What each column of a Simian dataset holds, as `datasets` loads it: the dataset card's column table.

Kept beside the row builder's `ROW_KEYS` (a test holds the two together), so a new column is documented
where it is added.
"""

from __future__ import annotations

#: column -> (type as `datasets.load_dataset("videofolder", ...)` loads it, meaning). `file_name` in
#: `metadata.jsonl` becomes the `video` column.
COLUMNS: dict[str, tuple[str, str]] = {
    "video": ("Video", "the H.264 clip (`file_name` in `metadata.jsonl`); decode with torchcodec or read its path"),
    "index": ("int64", "the scene's index in its recipe source (seed or combinations file)"),
    "variant": ("int64", "camera variant of the scene: 0 is its own camera, 1.. other camera moves"),
    "scene_id": ("string", "shared by the camera variants of one scene (a digest of the recipe without its camera)"),
    "caption": (
        "string",
        "the long caption: objects, sizes, positions, motion, light or background, floor, camera, "
        "motion blur where it shows",
    ),
    "captions": (
        "struct of strings",
        "the long caption by section: objects, background, orientation, framing, animation, stage, postprocessing",
    ),
    "caption_short": ("string", "one sentence of at most 25 words: the objects, the setting, the camera move"),
    "caption_camera": (
        "string",
        "the camera move alone in CameraBench terms (static, pan, tilt, roll, zoom, dolly, "
        "pedestal, arc, crane, tracking) with its direction and speed",
    ),
    "captions_structured": (
        "string (JSON)",
        "the caption as data: objects (name, size, position, motion), "
        "background, floor, shot, camera move with its rate; parse with json.loads",
    ),
    "combination": ("struct", "the full scene recipe the video was rendered from (see `simian schema`)"),
    "settings": (
        "struct",
        "render settings: preset, width, height, frames, fps, engine, samples, device, passes, images",
    ),
    "renderer_version": ("string", "fingerprint of the render code and the Blender version"),
    "sha256": ("string", "checksum of the video file"),
    "licenses": (
        "list of struct",
        "each asset of the scene with its licence id, licence name and URL, and the "
        "credit it asks for (asset, role, license, license_name, license_url, attribution)",
    ),
    "camera": (
        "struct",
        "the camera of every frame, OpenCV axes: convention, width, height, fps, sensor size in mm, "
        "and per frame focal_length_mm, intrinsics [fx, fy, cx, cy] in pixels and the 4x4 camera_to_world",
    ),
    "objects": (
        "list of struct",
        "the objects in caption order: id (segmentation id), name, asset, shape_known, "
        "dims in metres, and per frame box [x0, y0, x1, y1] in pixels, in_frame share, position, rotation",
    ),
    "camera_file": ("string", "the RealEstate10K-style camera file beside the video (`.camera.txt`)"),
    "passes": (
        "struct of strings",
        "the pass files beside the video (depth, normal, segmentation, flow as `.npz`); null for passes not rendered",
    ),
}


def column_table() -> str:
    """The card's markdown table of columns."""
    lines = ["| column | type | meaning |", "|---|---|---|"]
    lines += [f"| `{name}` | {kind} | {meaning} |" for name, (kind, meaning) in COLUMNS.items()]
    return "\n".join(lines)
