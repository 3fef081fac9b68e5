"""Check a combination's assets before rendering and turn remote references into local files."""

from __future__ import annotations

from collections.abc import Sequence

from simian.assets.licenses import AssetLicense, Refusal, refusals
from simian.assets.refs import AssetRef
from simian.assets.sources import SOURCES, AssetKind, Fetchers
from simian.errors import InvalidInputError
from simian.recipe.combination import Combination
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

    def licenses(self, combination: Combination) -> list[AssetLicense]:
        """The licence of every asset the scene uses, in `asset_fields` order."""
        return [SOURCES[ref.source].license(self.fetchers, ref.id, kind) for _f, kind, ref in asset_fields(combination)]

    def refusals(self, combination: Combination, allowed: Sequence[str], where: str) -> list[Refusal]:
        """The scene's assets whose licence is not in `allowed`, each with the field that names it."""
        fields = [field for field, _kind, _ref in asset_fields(combination)]
        return refusals(where, fields, self.licenses(combination), allowed)
