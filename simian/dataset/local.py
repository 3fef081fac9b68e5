"""A folder of rendered videos with their sidecars: the dataset folder, or what `simian render -o` fills.

Publishing moves a verified render into place atomically and writes its sidecar (the metadata
row plus how the video was made) last, so a sidecar's presence marks a complete output.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simian import atomic
from simian.assets.licenses import AssetLicense
from simian.dataset import truth_columns as ground_truth
from simian.dataset.layout import DATASET, Layout, build_row, media_suffix
from simian.recipe.combination import Combination
from simian.render import RenderResult, RenderSettings
from simian.render.outputs import sha256_of

SCRATCH = ".simian-scratch"


@dataclass(frozen=True)
class Published:
    index: int
    file_name: str  # path relative to the folder's root
    sha256: str


class FolderSink:
    """Publishes verified renders into `root` in a layout (the sharded dataset layout by default)."""

    def __init__(self, root: Path, layout: Layout = DATASET) -> None:
        self.root = root
        self.layout = layout

    def identity(self) -> str:
        return f"local:{self.root.resolve()}"

    @contextlib.contextmanager
    def scratch(self) -> Iterator[Path]:
        """A folder of this process's own for a render in progress, on the folder's filesystem (so publishing
        is a rename), removed afterwards whatever happened."""
        folder = self.root / SCRATCH / f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        for _ in range(5):  # another process may remove the empty parent between our two mkdirs
            with contextlib.suppress(FileNotFoundError):
                folder.mkdir(parents=True)
                break
        try:
            yield folder
        finally:
            atomic.remove(folder)
            with contextlib.suppress(OSError):
                folder.parent.rmdir()  # only when empty: the dataset keeps no trace of finished renders

    def clean_stale_scratch(self) -> list[Path]:
        """Remove scratch folders of this host's processes that no longer run (killed mid-render)."""
        removed = []
        prefix = f"{socket.gethostname()}-"
        for folder in (self.root / SCRATCH).glob(f"{prefix}*"):
            pid = folder.name[len(prefix) :].split("-", 1)[0]
            if pid.isdigit() and not Path(f"/proc/{pid}").exists():
                atomic.remove(folder)
                removed.append(folder)
        with contextlib.suppress(OSError):
            (self.root / SCRATCH).rmdir()
        return removed

    def read_sidecar(self, index: int, variant: int = 0) -> dict[str, Any] | None:
        path = self.root / self.layout.sidecar(index, variant)
        try:
            return dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return None

    def _beside_present(self, sidecar: dict[str, Any]) -> bool:
        """Whether every ground-truth file the sidecar lists (camera file, passes) is in the folder."""
        listed = [sidecar.get("camera_file"), *(sidecar.get("passes") or {}).values()]
        return all((self.root / path).is_file() for path in listed if isinstance(path, str))

    def holds(self, index: int, sha256: str, suffix: str = ".mp4", variant: int = 0) -> bool:
        """True when the video of `index` (camera `variant`) is in the folder with this checksum, its ground-truth
        files beside it (a cache hit is still valid)."""
        sidecar = self.read_sidecar(index, variant)
        media = self.root / self.layout.media(index, suffix, variant)
        return (
            sidecar is not None and media.exists() and sidecar.get("sha256") == sha256 and self._beside_present(sidecar)
        )

    def adopt(self, combination: Combination, cache_key: str) -> Published | None:
        """The video already in the folder for this cache key, when its sidecar says so and its bytes still match
        the recorded checksum; None otherwise (then it must be rendered)."""
        sidecar = self.read_sidecar(combination.index, combination.variant)
        if sidecar is None or sidecar.get("cache_key") != cache_key or not isinstance(sidecar.get("file_name"), str):
            return None
        media = self.root / sidecar["file_name"]
        if not media.exists() or sha256_of(media) != sidecar.get("sha256") or not self._beside_present(sidecar):
            return None
        return Published(combination.index, sidecar["file_name"], sidecar["sha256"])

    def publish(
        self,
        combination: Combination,
        settings: RenderSettings,
        result: RenderResult,
        cache_key: str | None = None,
        licenses: Sequence[AssetLicense] | None = None,
    ) -> Published:
        """Move the render and its pass files into place (replacing what was there), write the camera file beside
        them and the sidecar last."""
        file_name = self.layout.media(combination.index, media_suffix(settings), combination.variant)
        row = build_row(combination, settings, file_name=file_name, sha256=result.sha256, licenses=licenses)
        target = self.root / file_name
        previous = self.read_sidecar(combination.index, combination.variant)
        if previous is not None and previous.get("sha256") == result.sha256 and target.exists():
            atomic.remove(result.media)
        elif target.is_dir():
            with atomic.atomic_target(target) as tmp:
                result.media.rename(tmp)
        else:
            atomic.move(result.media, target)
        beside = ground_truth.files(settings, file_name)
        for name, path in result.passes.items():
            atomic.move(path, self.root / beside[name])
        camera_text = ground_truth.camera_file_text(combination, settings, file_name)
        atomic.write_text(self.root / beside["camera"], camera_text)
        sidecar = {**row, **result.facts.as_dict(), **({"cache_key": cache_key} if cache_key else {})}
        if result.visible:
            sidecar["visible_objects"] = result.visible
        sidecar_path = self.root / self.layout.sidecar(combination.index, combination.variant)
        atomic.write_text(sidecar_path, json.dumps(sidecar, indent=2) + "\n")
        return Published(combination.index, file_name, result.sha256)
