"""The renderer's fingerprint: what decides the pixels besides the recipe and the render settings.

A digest of the code that turns a recipe into a Blender scene (the scene plan, the vocabulary,
the built-in assets, the Blender-side modules) plus the Blender version. Any change there changes
the cache key, so a stale cached result is never reused; nothing needs bumping by hand.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib import metadata
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]

#: The packages whose every module decides pixels: the scene's geometry and the Blender side.
PIXEL_PACKAGES = ("scene", "render/blender")
#: The modules outside them that decide pixels too, of the video or of its passes (relative to the simian package).
PIXEL_MODULES = (
    "recipe/vocabulary.py",  # what each word of a recipe means on screen
    "assets/catalog.py",
    "assets/sources.py",  # how Blender loads each source's assets
    "render/render_settings.py",
    "render/pass_arrays.py",  # how pass buffers become stored pass files
)


def blender_version() -> str:
    """The bpy release this process would render with (read from its package metadata: no bpy import)."""
    try:
        return metadata.version("bpy")
    except metadata.PackageNotFoundError:
        return "unknown"


def pixel_source_files() -> list[Path]:
    files = [_PACKAGE / name for name in PIXEL_MODULES]
    for package in PIXEL_PACKAGES:
        files += sorted((_PACKAGE / package).rglob("*.py"))
    return files


@lru_cache(maxsize=1)
def renderer_fingerprint() -> str:
    """`blender-5.0.1+<12 hex digits>`: the same on every machine running the same code and Blender."""
    digest = hashlib.sha256()
    for path in pixel_source_files():
        digest.update(path.relative_to(_PACKAGE).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return f"blender-{blender_version()}+{digest.hexdigest()[:12]}"
