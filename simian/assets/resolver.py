"""Check a combination's assets before rendering and turn remote references into local files."""

from __future__ import annotations

from simian.assets.catalog import AssetRef
from simian.assets.sources import SOURCES, AssetKind, Fetchers
from simian.combination import Combination
from simian.errors import InvalidInputError
from simian.settings import Settings


def asset_fields(combination: Combination) -> list[tuple[str, AssetKind, AssetRef]]:
    """Every asset the scene uses, with the field path that names it."""
    fields: list[tuple[str, AssetKind, AssetRef]] = [
        (f"objects[{i}].asset", "object", AssetRef.parse(o.asset)) for i, o in enumerate(combination.objects)
    ]
    fields.append(("background.asset", "background", AssetRef.parse(combination.background.asset)))
    fields.append(("stage.floor", "floor", AssetRef.parse(combination.stage.floor)))
    return fields


def check_assets(combination: Combination, where: str = "combination") -> None:
    """Offline checks: each source provides that kind of asset, built-in names exist, local files exist."""
    for field, kind, ref in asset_fields(combination):
        label = f"{where}: {field}"
        source = SOURCES[ref.source]
        if kind not in source.kinds:
            provides = " and ".join(sorted(f"{k}s" for k in source.kinds))
            raise InvalidInputError(f"{label}: {ref.source} provides {provides}, not a {kind}")
        source.check_offline(ref.id, kind, label)


class AssetResolver:
    """Fetches the assets Blender loads from files into the per-machine cache; procedural ones need none."""

    def __init__(self, settings: Settings) -> None:
        self.fetchers = Fetchers(settings)

    def __call__(self, combination: Combination) -> dict[str, str]:
        paths: dict[str, str] = {}
        for _field, kind, ref in asset_fields(combination):
            path = SOURCES[ref.source].fetch(self.fetchers, ref.id, kind)
            if path is not None:
                paths[str(ref)] = str(path)
        return paths
