"""Objaverse and Poly Haven assets all the way into a rendered video, through the real clients.

The Hub and Poly Haven are test doubles here (local HTTP servers speaking their protocols); the
model, HDRI and textures are real files made with bpy, and `simian render` runs as a user runs it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simian.combine.combiner import combine

from .conftest import TINY, decode_frames, run_simian
from .doubles.hub import HubTestDouble
from .doubles.polyhaven import PolyHavenTestDouble

pytestmark = pytest.mark.blender

UID = "0123456789abcdef0123456789abcdef"


def _make_assets(folder: Path) -> dict[str, bytes]:
    """A glTF model, a small HDR sky and a JPEG texture, written by Blender itself."""
    import bpy

    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.mesh.primitive_monkey_add()
    glb = folder / "model.glb"
    bpy.ops.export_scene.gltf(filepath=str(glb), export_format="GLB")
    sky = bpy.data.images.new("sky", 32, 16, float_buffer=True)
    sky.pixels = [v for y in range(16) for _ in range(32) for v in (0.3, 0.5, 0.9 * (y + 1) / 16, 1.0)]
    sky.filepath_raw = str(folder / "sky.hdr")
    sky.file_format = "HDR"
    sky.save()
    tiles = bpy.data.images.new("tiles", 32, 32)
    tiles.pixels = [
        v
        for y in range(32)
        for x in range(32)
        for v in ((0.8, 0.2, 0.2, 1.0) if (x // 8 + y // 8) % 2 else (0.9, 0.9, 0.9, 1.0))
    ]
    tiles.filepath_raw = str(folder / "tiles.jpg")
    tiles.file_format = "JPEG"
    tiles.save()
    return {name: (folder / name).read_bytes() for name in ("model.glb", "sky.hdr", "tiles.jpg")}


def test_objaverse_object_on_a_polyhaven_floor_under_a_polyhaven_sky(tmp_path):
    assets = _make_assets(tmp_path)
    with HubTestDouble(tmp_path / "hub") as hub, PolyHavenTestDouble() as polyhaven:
        annotation = {
            "uid": UID,
            "name": "Suzanne",
            "license": "by",
            "user": {"displayName": "Blender Foundation"},
            "viewerUrl": f"https://sketchfab.com/3d-models/{UID}",
        }
        hub.add_objaverse_objects({UID: (assets["model.glb"], annotation)}, folder="000-001")
        polyhaven.add_hdri("test_sky", "Test Sky", assets["sky.hdr"])
        polyhaven.add_texture("test_tiles", "Test Tiles", {"Diffuse": assets["tiles.jpg"]})

        data = combine(3, 1)
        entry = data["combinations"][0]
        entry["objects"] = [
            {
                **entry["objects"][0],
                "asset": f"objaverse:{UID}",
                "name": "monkey head",
                "description": "a grey monkey head",
            }
        ]
        entry["background"] = {"asset": "polyhaven:test_sky", "name": "test sky"}
        entry["stage"] = {**entry["stage"], "floor": "polyhaven:test_tiles", "name": "test tiles"}
        for field in ("caption", "captions", "caption_short", "caption_camera", "captions_structured"):
            entry[field] = None  # they described the scene this entry was
        source = tmp_path / "combinations.json"
        source.write_text(json.dumps(data))
        env = {
            "HF_ENDPOINT": hub.url,
            "SIMIAN_POLYHAVEN_API": polyhaven.url,
            "SIMIAN_CACHE_DIR": str(tmp_path / "cache"),
            "HF_HUB_DISABLE_XET": "1",
        }
        out = tmp_path / "out"
        result = run_simian("render", "--index", "0", "--combinations", str(source), *TINY, "-o", str(out), env=env)
        assert result.returncode == 0, result.stderr
        frames = decode_frames(out / "00000000.mp4")
        assert len(frames) == 6 and frames[0].std() > 3
        row = json.loads((out / "00000000.json").read_text())
        caption = row["caption"]
        assert "monkey head" in caption and "test sky" in caption and "test tiles" in caption
        licences = {lic["asset"]: lic for lic in row["licenses"]}
        assert licences[f"objaverse:{UID}"]["license"] == "cc-by-4.0"
        assert licences[f"objaverse:{UID}"]["attribution"].startswith("“Suzanne” by Blender Foundation")
        assert licences["polyhaven:test_sky"]["license"] == licences["polyhaven:test_tiles"]["license"] == "cc0-1.0"
        assert "monkey head" in row["caption_short"] and json.loads(row["captions_structured"])["floor"]["name"] == (
            "test tiles"
        )
        assert list((tmp_path / "cache").rglob("*.hdr")) and list((tmp_path / "cache").rglob("Diffuse.jpg"))

        # A second render finds everything in the per-machine cache: no new downloads.
        downloads = len(polyhaven.requests)
        again = run_simian("render", "--index", "0", "--combinations", str(source), *TINY, "-o", str(out), env=env)
        assert again.returncode == 0, again.stderr
        assert len([r for r in polyhaven.requests[downloads:] if "/files/" not in r[1] and "/info/" not in r[1]]) == 0
