"""Check a combination's assets before rendering and turn remote references into local files."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from simian.assets.catalog import AssetRef
from simian.assets.sources import SOURCES, AssetKind, Fetchers
from simian.combination import Combination
from simian.errors import InvalidInputError
from simian.licenses import AssetLicense, Refusal, refusals, refuse
from simian.settings import Settings

if TYPE_CHECKING:
    from simian.combination_source import CombinationSource


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


def refuse_unlicensed(
    source: CombinationSource, start: int, end: int, allowed: Sequence[str], resolver: AssetResolver
) -> None:
    """Before anything renders: every asset of scenes [start, end) has an allowed licence, or one error names each
    asset that has not. Scenes drawn from a seed use built-in assets only, so the first one stands for all."""
    from simian.combination_source import FileSource

    found: list[Refusal] = []
    if isinstance(source, FileSource):
        for index in range(start, end):
            found += resolver.refusals(source.scene(index), allowed, f"{source.describe()}: combinations[{index}]")
    else:
        first = source.get(start)
        where = f"{source.describe()} (its scenes use built-in assets only), combination {start}"
        found = resolver.refusals(first, allowed, where)
    refuse(found, allowed)
