"""Where verified renders end up. The local dataset folder is the default sink.

Layout (loadable as a video folder): `data/{shard:04d}/{index:08d}.mp4` with the sidecar
`{index:08d}.json` beside it; shards hold 1000 videos each.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SHARD_SIZE = 1000


def shard_of(index: int) -> str:
    return f"{index // SHARD_SIZE:04d}"


def relative_media_path(index: int, suffix: str = ".mp4") -> str:
    return f"data/{shard_of(index)}/{index:08d}{suffix}"


@dataclass(frozen=True)
class Published:
    index: int
    file_name: str  # path relative to the dataset root
    sha256: str


class LocalFolderSink:
    """Moves verified outputs into the dataset folder atomically; never overwrites a different file."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def identity(self) -> str:
        return f"local:{self.root.resolve()}"

    def holds(self, index: int, sha256: str, suffix: str = ".mp4") -> bool:
        """True when the video of `index` is in the folder with this checksum (a cache hit is still valid)."""
        sidecar = (self.root / relative_media_path(index, suffix)).with_suffix(".json")
        if not sidecar.is_file() or not sidecar.with_suffix(suffix).is_file():
            return False
        return json.loads(sidecar.read_text(encoding="utf-8")).get("sha256") == sha256

    def publish(self, index: int, media: Path, sidecar: Path, sha256: str) -> Published:
        relative = relative_media_path(index, media.suffix)
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        meta: dict[str, Any] = json.loads(sidecar.read_text(encoding="utf-8"))
        meta["file_name"] = relative
        existing = target.with_suffix(".json")
        if target.exists() and existing.exists():
            previous = json.loads(existing.read_text(encoding="utf-8"))
            if previous.get("sha256") == sha256:
                return Published(index, relative, sha256)
        _atomic_move(media, target)
        tmp = existing.with_name(f".{existing.name}.{uuid.uuid4().hex[:8]}.partial")
        tmp.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, existing)
        sidecar.unlink(missing_ok=True)
        return Published(index, relative, sha256)


def _atomic_move(source: Path, target: Path) -> None:
    """Rename when on the same filesystem, else copy to a hidden name beside the target and rename."""
    try:
        os.replace(source, target)
    except OSError:
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.partial")
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
        source.unlink(missing_ok=True)
