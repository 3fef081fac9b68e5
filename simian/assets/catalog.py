"""The built-in offline catalogue: what captions need to know about each built-in asset (pure Python, no bpy)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from simian.errors import AssetNotFoundError

AssetKind = Literal["object", "background", "floor"]


@dataclass(frozen=True)
class CatalogEntry:
    """What captions need to know about an asset."""

    ref: str
    name: str
    description: str
    #: What the real thing measures along its dominant axis (metres), so a 1 m house is called a miniature
    #: house and a 1 m donut a giant one; None where it varies too much to say (robots).
    real_size_m: float | None = None


BUILTIN_OBJECTS: dict[str, CatalogEntry] = {
    e.ref: e
    for e in [
        CatalogEntry("builtin:chair", "chair", "a wooden chair with a slatted back", 0.9),
        CatalogEntry("builtin:table", "table", "a round wooden table on four legs", 1.0),
        CatalogEntry("builtin:mug", "mug", "a red ceramic mug with a handle", 0.11),
        CatalogEntry("builtin:lamp", "lamp", "a desk lamp with a white shade and a brass stand", 0.5),
        CatalogEntry("builtin:snowman", "snowman", "a snowman with a carrot nose and a black hat", 1.6),
        CatalogEntry("builtin:traffic_cone", "traffic cone", "an orange traffic cone with white stripes", 0.7),
        CatalogEntry("builtin:rocket", "rocket", "a white rocket with red fins", 30.0),
        CatalogEntry("builtin:mushroom", "mushroom", "a red mushroom with white spots", 0.12),
        CatalogEntry("builtin:tree", "tree", "a green pine tree", 8.0),  # its trunk hides under the lowest tier
        CatalogEntry("builtin:house", "house", "a house with a red roof and a door", 8.0),
        CatalogEntry("builtin:barrel", "barrel", "a wooden barrel with iron hoops", 0.9),
        CatalogEntry("builtin:car", "car", "a blue car with black wheels", 4.3),
        CatalogEntry("builtin:dumbbell", "dumbbell", "a dumbbell with black weights on a steel bar", 0.4),
        CatalogEntry("builtin:donut", "donut", "a donut with pink icing", 0.1),
        CatalogEntry("builtin:umbrella", "umbrella", "an open yellow umbrella on a thin pole", 1.0),
        CatalogEntry("builtin:robot", "robot", "a grey boxy robot with glowing eyes"),
    ]
}

BUILTIN_BACKGROUNDS: dict[str, CatalogEntry] = {
    e.ref: e
    for e in [
        CatalogEntry("builtin:clear_sky", "clear blue sky", "a clear blue sky in daylight"),
        CatalogEntry("builtin:sunset", "sunset sky", "a warm orange sunset sky"),
        CatalogEntry("builtin:overcast", "overcast sky", "a soft grey overcast sky"),
        CatalogEntry("builtin:night", "night sky", "a dark blue night sky with moonlight"),
        CatalogEntry("builtin:studio", "photo studio", "a neutral grey photo studio backdrop"),
    ]
}

BUILTIN_FLOORS: dict[str, CatalogEntry] = {
    e.ref: e
    for e in [
        CatalogEntry("builtin:checker_tiles", "checkered tiles", "black and white checkered tiles"),
        CatalogEntry("builtin:wood_planks", "wooden planks", "warm brown wooden planks"),
        CatalogEntry("builtin:marble", "marble", "polished white marble with grey veins"),
        CatalogEntry("builtin:grass", "grass", "green grass"),
        CatalogEntry("builtin:concrete", "concrete", "rough grey concrete"),
        CatalogEntry("builtin:bricks", "red bricks", "red brick paving"),
    ]
}

BUILTIN: dict[AssetKind, dict[str, CatalogEntry]] = {
    "object": BUILTIN_OBJECTS,
    "background": BUILTIN_BACKGROUNDS,
    "floor": BUILTIN_FLOORS,
}


def builtin_entry(kind: AssetKind, ref: str, field: str = "asset") -> CatalogEntry:
    """The catalogue entry of a built-in asset, or an error that lists what exists."""
    entries = BUILTIN[kind]
    if ref not in entries:
        raise AssetNotFoundError(
            f"{field}: unknown built-in {kind} {ref!r}; choose one of: {', '.join(sorted(entries))}"
        )
    return entries[ref]
