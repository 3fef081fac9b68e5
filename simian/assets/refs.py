"""Asset references and the built-in offline catalogue (pure Python, no bpy).

An asset reference is `source:id`:
- `builtin:<id>`   parametric objects, procedural skies and floors built in Blender (offline default)
- `objaverse:<uid>` an Objaverse object from the `allenai/objaverse` dataset repo
- `polyhaven:<id>`  a Poly Haven HDRI (background) or texture (floor)
- `file:<path>`    a local model file (.glb, .gltf, .obj, .fbx, .stl, .ply) or .hdr/.exr image
"""

from __future__ import annotations

from dataclasses import dataclass

from simian.assets.sources import SOURCES
from simian.errors import InvalidInputError


@dataclass(frozen=True)
class AssetRef:
    source: str
    id: str

    @classmethod
    def parse(cls, text: str, field: str = "asset") -> AssetRef:
        source, sep, ident = text.partition(":")
        shown = repr(text[:80] + ("..." if len(text) > 80 else ""))
        if not sep or not ident:
            raise InvalidInputError(
                f"{field}: {shown} is not an asset reference; write 'source:id', "
                f"e.g. 'builtin:chair' (sources: {', '.join(SOURCES)})"
            )
        if source not in SOURCES:
            raise InvalidInputError(
                f"{field}: unknown asset source {source[:40]!r} in {shown}; use one of {', '.join(SOURCES)}"
            )
        SOURCES[source].check_id(ident)
        return cls(source, ident)

    def __str__(self) -> str:
        return f"{self.source}:{self.id}"
