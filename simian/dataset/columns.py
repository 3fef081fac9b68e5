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


#: The data shards of the Parquet layout: the same caption columns, the recipe and settings as JSON (their shape
#: varies between recipes, a shard's schema must not), per-frame ground truth replaced by a reference and a summary.
_SHARED = {k: v for k, v in COLUMNS.items() if k not in {"video", "combination", "settings", "camera", "objects"}}
PARQUET_COLUMNS: dict[str, tuple[str, str]] = {
    "video": ("Video", "the H.264 clip as bytes (`bytes`, `path` its name); decode with torchcodec or PyAV"),
    "file_name": ("string", "the video's name, its key in the ground-truth shard (`00000007-v1.mp4`)"),
    **{k: v for k, v in _SHARED.items() if k in {"index", "variant", "scene_id", "caption", "captions"}},
    **{k: v for k, v in _SHARED.items() if k in {"caption_short", "caption_camera", "captions_structured"}},
    "combination": ("string (JSON)", COLUMNS["combination"][1] + "; parse with json.loads"),
    "settings": ("string (JSON)", COLUMNS["settings"][1] + "; parse with json.loads"),
    **{k: v for k, v in _SHARED.items() if k in {"renderer_version", "sha256", "licenses"}},
    "truth_file": ("string", "the ground-truth shard holding this video's per-frame camera and objects"),
    "frames": ("int64", "frames in the clip"),
    "width": ("int64", "width in pixels"),
    "height": ("int64", "height in pixels"),
    "fps": ("int64", "frames per second"),
    "object_names": ("list of string", "the objects in caption order (segmentation id = position + 1)"),
    "passes": ("list of string", "the passes rendered for this video (their arrays are in the ground-truth shard)"),
}
#: The ground-truth shards of the Parquet layout (`truth/`), one row per video.
TRUTH_COLUMNS: dict[str, tuple[str, str]] = {
    "file_name": ("string", "the video's name, as in the data shard"),
    "camera": COLUMNS["camera"],
    "objects": COLUMNS["objects"],
    "camera_file": ("string", "the RealEstate10K-style camera file's text"),
    **{
        name: (
            "binary",
            f"the {name} pass as the `.npz` archive a videofolder keeps beside the video; null when not rendered",
        )
        for name in ("depth", "normal", "segmentation", "flow")
    },
}


def table(columns: dict[str, tuple[str, str]]) -> str:
    """A markdown table of columns."""
    lines = ["| column | type | meaning |", "|---|---|---|"]
    lines += [f"| `{name}` | {kind} | {meaning} |" for name, (kind, meaning) in columns.items()]
    return "\n".join(lines)


def column_table() -> str:
    """The card's markdown table of columns."""
    return table(COLUMNS)
