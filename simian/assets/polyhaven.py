"""Poly Haven HDRIs (backgrounds) and textures (floors), `polyhaven:<id>`, via the public API.

API used (base `Settings.simian_polyhaven_api`, default https://api.polyhaven.com):
- `GET /info/{id}`  -> {"name": ..., "type": 0 (HDRI) | 1 (texture) | 2 (model), ...}
- `GET /files/{id}` -> HDRI:    {"hdri": {"1k": {"hdr": {"url", "md5", "size"}, "exr": {...}}, ...}, ...}
                       texture: {"Diffuse": {"1k": {"jpg": {...}, "png": {...}}}, "nor_gl": ..., ...}

Every request goes through the guarded fetcher (`simian.net`): the API host, the file host Poly Haven documents
(dl.polyhaven.org) and SIMIAN_ALLOWED_HOSTS only. Files are downloaded md5-verified, size-capped, atomically
and under a lock into `<cache>/polyhaven/{hdris,textures}/<id>/...`, so each machine fetches each file once.
Poly Haven asks API users to send a descriptive User-Agent, hence "simian/<version>".
"""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote

from simian import __version__
from simian.errors import AssetFetchError, AssetNotFoundError
from simian.net import Fetcher, FetchLimits, NetworkPolicy, download_retry, redact_url
from simian.settings import Settings

logger = logging.getLogger(__name__)

HDRI, TEXTURE, MODEL = 0, 1, 2
TYPE_NAMES = {HDRI: "an HDRI", TEXTURE: "a texture", MODEL: "a model"}
HDRI_FORMATS = ("hdr", "exr")
TEXTURE_FORMATS = ("jpg", "png")
TEXTURE_MAPS = ("Diffuse", "nor_gl", "Rough", "AO", "arm")
USER_AGENT = f"simian/{__version__}"
FILE_HOSTS = ("dl.polyhaven.org",)  # where the API's file URLs point

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]{0,127}")
_RESOLUTION = re.compile(r"[1-9][0-9]?k")


class PolyHavenSource:
    """Fetches Poly Haven assets into the shared cache; `info`/`files` answers are memoised per instance."""

    def __init__(self, settings: Settings, *, backoff_s: float = 0.5) -> None:
        self._api = settings.simian_polyhaven_api.rstrip("/")
        self._root = settings.simian_cache_dir / "polyhaven"
        policy = NetworkPolicy(
            "Poly Haven",
            self._api,
            "SIMIAN_POLYHAVEN_API",
            file_hosts=FILE_HOSTS,
            extra_hosts=settings.simian_allowed_hosts,
        )
        self._fetcher = Fetcher(
            policy,
            FetchLimits.from_settings(settings),
            download_retry(settings, backoff_s),
            headers={"User-Agent": USER_AGENT},
            log=logger,
        )
        self._memo: dict[str, Any] = {}
        self._lock = threading.Lock()

    def info(self, asset_id: str) -> dict[str, Any]:
        """The asset's metadata (`name`, `type`, `tags`, ...)."""
        data = self._api_get("info", asset_id)
        if not isinstance(data, dict) or "type" not in data:
            raise AssetFetchError(f"polyhaven:{asset_id}: unexpected /info answer from {redact_url(self._api)}")
        return data

    def files(self, asset_id: str) -> dict[str, Any]:
        """The asset's file tree: map -> resolution -> format -> {url, md5, size}."""
        data = self._api_get("files", asset_id)
        if not isinstance(data, dict):
            raise AssetFetchError(f"polyhaven:{asset_id}: unexpected /files answer from {redact_url(self._api)}")
        return data

    def fetch_hdri(self, asset_id: str, resolution: str = "1k") -> Path:
        """Local path of the HDRI at `resolution`, .hdr preferred, .exr otherwise."""
        _check_resolution(resolution)
        self._require_type(asset_id, HDRI)
        by_resolution = self.files(asset_id).get("hdri")
        if not isinstance(by_resolution, dict):
            raise AssetFetchError(f"polyhaven:{asset_id}: /files lists no 'hdri' entry")
        fmt, entry = _pick(asset_id, "hdri", by_resolution, resolution, HDRI_FORMATS)
        dest = self._root / "hdris" / asset_id / f"{asset_id}_{resolution}.{fmt}"
        return self._download(asset_id, entry, dest)

    def fetch_texture(self, asset_id: str, resolution: str = "1k") -> dict[str, Path]:
        """Local paths of the texture's maps at `resolution`, keyed by Poly Haven map name.

        Always has "Diffuse"; adds "nor_gl", "Rough", "AO", "arm" when the asset has them. jpg is preferred
        over png (a fraction of the size, and what Poly Haven's own blend files use).
        """
        _check_resolution(resolution)
        self._require_type(asset_id, TEXTURE)
        files = self.files(asset_id)
        if not isinstance(files.get("Diffuse"), dict):
            raise AssetNotFoundError(f"polyhaven:{asset_id} has no Diffuse map; it cannot be used as a floor")
        maps: dict[str, Path] = {}
        for name in TEXTURE_MAPS:
            by_resolution = files.get(name)
            if not isinstance(by_resolution, dict):
                continue
            fmt, entry = _pick(asset_id, name, by_resolution, resolution, TEXTURE_FORMATS)
            dest = self._root / "textures" / asset_id / resolution / f"{name}.{fmt}"
            maps[name] = self._download(asset_id, entry, dest)
        return maps

    # -- internals -------------------------------------------------------------------------------

    def _require_type(self, asset_id: str, wanted: int) -> None:
        kind = self.info(asset_id).get("type")
        if kind != wanted:
            actual = TYPE_NAMES.get(kind, f"of unknown type {kind!r}") if isinstance(kind, int) else f"of type {kind!r}"
            raise AssetNotFoundError(
                f"polyhaven:{asset_id} is {actual}, not {TYPE_NAMES[wanted]} (wrong type for this slot); "
                f"pick {TYPE_NAMES[wanted]} id"
            )

    def _api_get(self, endpoint: str, asset_id: str) -> Any:
        _check_id(asset_id)
        key = f"{endpoint}/{asset_id}"
        with self._lock:
            if key in self._memo:
                return self._memo[key]
        url = f"{self._api}/{endpoint}/{quote(asset_id, safe='')}"
        try:
            data = self._fetcher.json(url)
        except AssetNotFoundError as exc:
            raise AssetNotFoundError(
                f"polyhaven:{asset_id} does not exist on Poly Haven ({exc}); check the id at https://polyhaven.com"
            ) from exc
        with self._lock:
            self._memo[key] = data
        return data

    def _download(self, asset_id: str, entry: dict[str, Any], dest: Path) -> Path:
        url = entry.get("url")
        if not isinstance(url, str):
            raise AssetFetchError(f"polyhaven:{asset_id}: /files gave no usable URL for {dest.name}")
        md5 = entry.get("md5") if isinstance(entry.get("md5"), str) else None
        size = entry.get("size")
        size = size if type(size) is int and size >= 0 else None
        if md5 is None:
            logger.warning("polyhaven:%s: no md5 for %s; downloading unverified", asset_id, dest.name)
        return self._fetcher.download(url, dest, md5=md5, size=size)


def _pick(
    asset_id: str, map_name: str, by_resolution: dict[str, Any], resolution: str, formats: tuple[str, ...]
) -> tuple[str, dict[str, Any]]:
    """The first available format of `map_name` at `resolution`, with its file entry."""
    by_format = by_resolution.get(resolution)
    if not isinstance(by_format, dict):
        available = sorted((r for r in by_resolution if _RESOLUTION.fullmatch(r)), key=lambda r: int(r[:-1]))
        listed = ", ".join(available) or "none"
        raise AssetNotFoundError(f"polyhaven:{asset_id} has no {resolution} {map_name}; available: {listed}")
    for fmt in formats:
        entry = by_format.get(fmt)
        if isinstance(entry, dict):
            return fmt, entry
    raise AssetNotFoundError(
        f"polyhaven:{asset_id} has {map_name} at {resolution} only as {', '.join(sorted(by_format))}; "
        f"Simian reads {' or '.join(formats)}"
    )


def _check_id(asset_id: str) -> None:
    if not _ID.fullmatch(asset_id):
        raise AssetNotFoundError(
            f"polyhaven:{asset_id!r} is not a Poly Haven id; ids look like 'studio_small_09' "
            "(letters, digits, '_' and '-')"
        )


def _check_resolution(resolution: str) -> None:
    if not _RESOLUTION.fullmatch(resolution):
        raise AssetNotFoundError(f"Poly Haven resolution {resolution!r} is not valid; use e.g. '1k', '2k', '4k'")
