"""Check a combination's assets before rendering and turn remote references into local files."""

from __future__ import annotations

import contextlib
from pathlib import Path

from simian.assets.catalog import AssetKind, AssetRef, builtin_entry
from simian.combination import Combination
from simian.errors import AssetNotFoundError, InvalidInputError
from simian.settings import Settings

MODEL_SUFFIXES = {".glb", ".gltf", ".obj", ".fbx", ".stl", ".ply"}
IMAGE_SUFFIXES = {".hdr", ".exr", ".png", ".jpg", ".jpeg"}


def asset_fields(combination: Combination) -> list[tuple[str, AssetKind, AssetRef]]:
    """Every asset the scene uses, with the field path that names it."""
    fields: list[tuple[str, AssetKind, AssetRef]] = [
        (f"objects[{i}].asset", "object", AssetRef.parse(o.asset)) for i, o in enumerate(combination.objects)
    ]
    fields.append(("background.asset", "background", AssetRef.parse(combination.background.asset)))
    fields.append(("stage.floor", "floor", AssetRef.parse(combination.stage.floor)))
    return fields


def check_assets(combination: Combination, where: str = "combination") -> None:
    """Offline checks: built-in names exist, local files exist with a supported type."""
    for field, kind, ref in asset_fields(combination):
        label = f"{where}: {field}"
        if ref.source == "builtin":
            builtin_entry(kind, str(ref), label)
        elif ref.source == "file":
            path = Path(ref.id)
            allowed = MODEL_SUFFIXES if kind == "object" else IMAGE_SUFFIXES
            if kind == "floor" and path.is_dir():
                continue
            if path.suffix.lower() not in allowed:
                raise InvalidInputError(
                    f"{label}: {path.name} has an unsupported type; use one of {', '.join(sorted(allowed))}"
                )
            if not path.exists():
                raise AssetNotFoundError(f"{label}: file {path} does not exist")
        elif ref.source == "objaverse" and kind != "object":
            raise InvalidInputError(f"{label}: objaverse provides objects only, not a {kind}")
        elif ref.source == "polyhaven" and kind == "object":
            raise InvalidInputError(f"{label}: use polyhaven for backgrounds (HDRIs) and floors (textures)")


class AssetResolver:
    """Fetches remote assets into the per-machine cache; built-in ones need no file."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._objaverse = None
        self._polyhaven = None

    def __call__(self, combination: Combination) -> dict[str, str]:
        paths: dict[str, str] = {}
        for _field, kind, ref in asset_fields(combination):
            if ref.source == "file":
                paths[str(ref)] = ref.id
            elif ref.source == "objaverse":
                paths[str(ref)] = str(self._objaverse_source().fetch(ref.id))
            elif ref.source == "polyhaven" and kind == "background":
                paths[str(ref)] = str(self._polyhaven_source().fetch_hdri(ref.id))
            elif ref.source == "polyhaven" and kind == "floor":
                maps = self._polyhaven_source().fetch_texture(ref.id)
                paths[str(ref)] = str(_texture_folder(maps))
        return paths

    def _objaverse_source(self):  # type: ignore[no-untyped-def]
        if self._objaverse is None:
            from simian.assets.objaverse import ObjaverseSource

            self._objaverse = ObjaverseSource(self.settings)
        return self._objaverse

    def _polyhaven_source(self):  # type: ignore[no-untyped-def]
        if self._polyhaven is None:
            from simian.assets.polyhaven import PolyHavenSource

            self._polyhaven = PolyHavenSource(self.settings)
        return self._polyhaven


def _texture_folder(maps: dict[str, Path]) -> Path:
    """A folder of links named after the map ({Diffuse,Rough,...}.ext), as the renderer expects."""
    first = next(iter(maps.values()))
    folder = first.parent / "_set"
    folder.mkdir(exist_ok=True)
    for name, path in maps.items():
        link = folder / f"{name}{path.suffix}"
        if not link.exists():
            with contextlib.suppress(FileExistsError):
                link.symlink_to(path)
    return folder
