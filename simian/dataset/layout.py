"""Where a rendered video goes and what is recorded beside it: paths, the sidecar and the metadata row.

The one row builder lives here; the local folder, its finaliser and the Hub finaliser all use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from simian.assets.licenses import AssetLicense, unique_by_asset
from simian.captions.styles import structured_json
from simian.combine.variants import scene_id
from simian.dataset import truth_columns as ground_truth
from simian.recipe.combination import Combination
from simian.render.fingerprint import renderer_fingerprint
from simian.render.render_settings import RenderSettings

SHARD_SIZE = 1000

#: The columns of `metadata.jsonl`, in the order `build_row` writes them.
ROW_KEYS = (
    "file_name",
    "index",
    "caption",
    "captions",
    "combination",
    "settings",
    "renderer_version",
    "sha256",
    "scene_id",
    "variant",
    "caption_short",
    "caption_camera",
    "captions_structured",
    "licenses",
) + ground_truth.ROW_KEYS


@dataclass(frozen=True)
class Layout:
    """Flat (`OUT/00000007.mp4`, what `simian render -o` writes) or sharded by thousands
    (`data/0000/00000007.mp4`, the dataset layout that loads as a video folder)."""

    sharded: bool

    def media(self, index: int, suffix: str, variant: int = 0) -> str:
        """Path of the video (or PNG frame folder, suffix "") relative to the folder's root; a scene's camera
        variants sit beside it (`00000007-v1.mp4`)."""
        name = f"{stem(index, variant)}{suffix}"
        return f"data/{index // SHARD_SIZE:04d}/{name}" if self.sharded else name

    def sidecar(self, index: int, variant: int = 0) -> str:
        name = f"{stem(index, variant)}.json"
        return f"data/{index // SHARD_SIZE:04d}/{name}" if self.sharded else name

    def glob(self, suffix: str) -> str:
        """A glob matching every video (suffix ".mp4") or sidecar (".json") of the layout."""
        return f"data/*/*{suffix}" if self.sharded else f"*{suffix}"

    def pattern(self, suffix: str) -> str:
        """How paths are formed, for people: `data/{shard:04d}/{index:08d}.mp4`."""
        return ("data/{shard:04d}/" if self.sharded else "") + "{index:08d}[-v{variant}]" + suffix


def stem(index: int, variant: int = 0) -> str:
    """A video's name without suffix: the scene index, and the camera variant when it is not the scene's own."""
    return f"{index:08d}" if variant == 0 else f"{index:08d}-v{variant}"


FLAT = Layout(sharded=False)
DATASET = Layout(sharded=True)


def media_suffix(settings: RenderSettings) -> str:
    return "" if settings.images else ".mp4"


def build_row(
    combination: Combination,
    settings: RenderSettings,
    *,
    file_name: str,
    sha256: str,
    licenses: Sequence[AssetLicense] | None = None,
) -> dict[str, Any]:
    """The metadata row of one video: what `datasets` loads as its columns (`licenses`: of the scene's assets,
    from `AssetResolver.licenses`)."""
    row = {
        "file_name": file_name,
        "index": combination.index,
        "caption": combination.caption,
        "captions": combination.captions.model_dump(mode="json") if combination.captions else None,
        "combination": combination.model_dump(mode="json"),
        "settings": settings.model_dump(mode="json"),
        "renderer_version": renderer_fingerprint(),
        "sha256": sha256,
        "scene_id": scene_id(combination),
        "variant": combination.variant,
        "caption_short": combination.caption_short,
        "caption_camera": combination.caption_camera,
        "captions_structured": structured_json(combination.captions_structured),
        "licenses": None if licenses is None else [lic.model_dump() for lic in unique_by_asset(licenses)],
    }
    row.update(ground_truth.columns(combination, settings, file_name))
    return row


def row_from_sidecar(sidecar: dict[str, Any]) -> dict[str, Any]:
    """The row part of a sidecar (which adds how and where the video was rendered)."""
    return {key: sidecar.get(key) for key in ROW_KEYS}
