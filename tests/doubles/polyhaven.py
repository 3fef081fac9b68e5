"""A TEST DOUBLE for the Poly Haven API (api.polyhaven.com) and its file host. Not Poly Haven.

`PolyHavenTestDouble` is a local threaded HTTP server that answers the subset Simian uses:

    GET /info/{id}    {"name", "type" (0 HDRI, 1 texture), "categories", "tags", ...}
    GET /files/{id}   HDRI:    {"hdri": {"1k": {"hdr": {"url", "md5", "size"}, "exr": {...}}},
                               "tonemapped": {...}}
                      texture: {"Diffuse": {"1k": {"jpg": {...}}}, "nor_gl": ..., "blend": {...}, ...}
    GET /dl/...       the file URLs advertised above, served by the double itself

Unknown ids get 404 like the real API. `corrupt(id)` makes the file host serve bytes whose md5 no longer
matches the advertised one.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field

from tests.doubles import HttpTestDouble, Request, Response

logger = logging.getLogger(__name__)


@dataclass
class _Asset:
    asset_id: str
    name: str
    type: int
    # (map name, resolution, format) -> bytes
    files: dict[tuple[str, str, str], bytes] = field(default_factory=dict)
    corrupt: bool = False


class PolyHavenTestDouble(HttpTestDouble):
    """A test double for the Poly Haven API subset Simian uses. Not Poly Haven."""

    server_name = "polyhaven-test-double"

    def __init__(self) -> None:
        super().__init__()
        self._assets: dict[str, _Asset] = {}
        self.route("GET", r"/info/(?P<id>[^/]+)", self._info)
        self.route("GET", r"/files/(?P<id>[^/]+)", self._files)
        self.route(
            ("GET", "HEAD"),
            r"/dl/(?P<id>[^/]+)/(?P<map>[^/]+)/(?P<res>[^/]+)/(?P<file>[^/]+)",
            self._download,
        )

    # -- state -----------------------------------------------------------------------------------

    def add_hdri(
        self,
        asset_id: str,
        name: str,
        data: bytes,
        *,
        resolutions: tuple[str, ...] = ("1k", "2k"),
        formats: tuple[str, ...] = ("hdr", "exr"),
    ) -> None:
        """An HDRI offered at each resolution in each format (same bytes everywhere; tests only)."""
        asset = _Asset(asset_id, name, 0)
        for res in resolutions:
            for fmt in formats:
                asset.files[("hdri", res, fmt)] = data
        asset.files[("tonemapped", "", "jpg")] = b"\xff\xd8tonemapped preview"
        with self._lock:
            self._assets[asset_id] = asset

    def add_texture(
        self, asset_id: str, name: str, maps: dict[str, bytes], *, resolutions: tuple[str, ...] = ("1k", "2k")
    ) -> None:
        """A texture; `maps` keys are Poly Haven map names ("Diffuse", "nor_gl", ...), optionally with a
        format suffix ("Displacement.png"); the default format is jpg."""
        asset = _Asset(asset_id, name, 1)
        for key, data in maps.items():
            map_name, _, fmt = key.partition(".")
            for res in resolutions:
                asset.files[(map_name, res, fmt or "jpg")] = data
        asset.files[("blend", "1k", "blend")] = b"BLENDER-v300 not used by simian"
        with self._lock:
            self._assets[asset_id] = asset

    def corrupt(self, asset_id: str) -> None:
        """From now on serve this asset's files with one byte flipped (advertised md5 unchanged)."""
        with self._lock:
            self._assets[asset_id].corrupt = True

    # -- handlers --------------------------------------------------------------------------------

    def _asset(self, request: Request) -> _Asset | None:
        with self._lock:
            return self._assets.get(request.params["id"])

    def _info(self, request: Request) -> Response:
        asset = self._asset(request)
        if asset is None:
            return self.not_found(request)
        return Response.json(
            {
                "name": asset.name,
                "type": asset.type,
                "categories": ["test"],
                "tags": ["test-double"],
                "authors": {"Simian tests": "All"},
                "download_count": 0,
                "max_resolution": [1024, 512],
            }
        )

    def _files(self, request: Request) -> Response:
        asset = self._asset(request)
        if asset is None:
            return self.not_found(request)
        tree: dict = {}
        for (map_name, res, fmt), data in asset.files.items():
            entry = {
                "url": f"{self.url}/dl/{asset.asset_id}/{map_name}/{res or 'any'}/"
                f"{asset.asset_id}_{map_name}_{res or 'any'}.{fmt}",
                "md5": hashlib.md5(data, usedforsecurity=False).hexdigest(),
                "size": len(data),
            }
            if map_name == "tonemapped":  # the real API puts this one flat, without resolutions
                tree[map_name] = entry
            elif map_name == "blend":
                tree.setdefault(map_name, {}).setdefault(res, {})[fmt] = {**entry, "include": {}}
            else:
                tree.setdefault(map_name, {}).setdefault(res, {})[fmt] = entry
        return Response.json(tree)

    def _download(self, request: Request) -> Response:
        asset = self._asset(request)
        fmt = request.params["file"].rsplit(".", 1)[-1]
        res = "" if request.params["res"] == "any" else request.params["res"]
        data = asset.files.get((request.params["map"], res, fmt)) if asset else None
        if asset is None or data is None:
            return Response(404, {"Content-Type": "text/plain"}, b"Not Found")
        if asset.corrupt:
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        return Response(200, {"Content-Type": "application/octet-stream"}, data)

    def not_found(self, request: Request) -> Response:
        return Response.json({"error": "Not found", "message": f"{request.path} does not exist"}, status=404)
