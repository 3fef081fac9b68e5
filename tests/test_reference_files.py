"""Files written by the reference combiner load whole, for every combination of its flags, and render.

The files come from tests/reference_files.py, which draws them from the reference's documented format.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from simian.combine.sources import load_file_source
from simian.errors import InvalidInputError
from simian.recipe.combination import Combination

from .conftest import REPO, TINY, decode_frames, run_simian
from .reference_files import ALL_FLAGS, OUR_DIRECTIONS, TEXTURES, Flags, has_moving_stack, reference_file

ENTRIES = 40


def _load_every_entry(tmp_path: Path, flags: Flags) -> tuple[dict, list[Combination]]:
    data = reference_file(seed=len(str(flags)) * 7 + 1, count=ENTRIES, flags=flags)
    path = tmp_path / f"reference {flags}.json"
    path.write_text(json.dumps(data, indent=4))
    source = load_file_source(str(path))
    assert len(source) == ENTRIES
    source.validate(0, ENTRIES)  # what `simian render --range 0:N` checks before Blender starts
    return data, [source.get(i) for i in range(ENTRIES)]


def _assert_mapped(entry: dict, combination: Combination) -> None:
    """Each documented mapping, checked against the entry it came from."""
    assert combination.index == entry["index"]
    assert len(combination.objects) == len(entry["objects"])
    base_of: dict[int, int] = {}
    for i, (ref, ours) in enumerate(zip(entry["objects"], combination.objects, strict=True)):
        assert ours.asset == f"objaverse:{ref['uid']}"
        assert (ours.name, ours.description) == (ref["name"], ref["description"])
        assert ours.placement == ref["placement"]
        assert (ours.scale.factor, ours.scale.name) == (ref["scale"]["factor"], ref["scale"]["name"])
        assert ours.camera_follow == ("camera_follow" in ref)
        base = base_of.setdefault(ref["placement"], i)
        if base != i:
            assert ours.movement is None, "an object on top rides on its base"
        elif "movement" in ref:
            assert ours.movement is not None
            assert ours.movement.direction == OUR_DIRECTIONS[ref["movement"]["direction"]]
            assert ours.movement.speed == pytest.approx(min(20.0, ref["movement"]["speed"] * 30))
        else:
            assert ours.movement is None
    assert combination.background.asset == f"polyhaven:{entry['background']['id']}"
    assert combination.background.name == entry["background"]["name"]
    assert (combination.orientation.yaw, combination.orientation.pitch) == tuple(entry["orientation"].values())
    assert combination.framing.fov == entry["framing"]["fov"]
    assert combination.framing.name == entry["framing"]["name"]
    assert combination.animation.name == entry["animation"]["name"]
    assert combination.stage.floor == "polyhaven:" + dict(TEXTURES)[entry["stage"]["material"]["name"]]
    assert list(combination.stage.uv_scale) == entry["stage"]["uv_scale"]
    pp = entry["postprocessing"]
    assert combination.postprocessing.bloom.intensity == pp["bloom"]["intensity"]
    assert combination.postprocessing.ambient_occlusion.factor == pp["ssao"]["factor"]
    assert combination.postprocessing.motion_blur.shutter == pp["motionblur"]["shutter_speed"]
    level = {"extreme": "high"}.get(pp["ssao"]["type"], pp["ssao"]["type"])
    assert combination.postprocessing.ambient_occlusion.level == level
    assert combination.caption and "(reference caption)" not in combination.caption, "captions are rewritten"


@pytest.mark.parametrize("flags", [f for f in ALL_FLAGS if not f.stacks_may_move], ids=str)
def test_reference_files_load_whole(tmp_path, flags):
    data, combinations = _load_every_entry(tmp_path, flags)
    for entry, combination in zip(data["combinations"], combinations, strict=True):
        _assert_mapped(entry, combination)
    entries = data["combinations"]
    if flags.movement and not flags.random:  # --random flips its own coins
        assert all("movement" in o for e in entries for o in e["objects"])
    if flags.ontop:
        assert any(len({o["placement"] for o in e["objects"]}) < len(e["objects"]) for e in entries), "no stack"
    if flags.camera_follow and not flags.random:
        assert all(sum("camera_follow" in o for o in e["objects"]) == 1 for e in entries)


def test_stacks_move_with_their_base(tmp_path):
    """--ontop with --movement (or --random): every object moves, stacks included; ours ride on their base."""
    for flags in [f for f in ALL_FLAGS if f.stacks_may_move]:
        data = reference_file(seed=5, count=ENTRIES, flags=flags)
        assert any(has_moving_stack(e) for e in data["combinations"]), f"{flags}: the file holds no moving stack"
        data, combinations = _load_every_entry(tmp_path, flags)
        for entry, combination in zip(data["combinations"], combinations, strict=True):
            _assert_mapped(entry, combination)


def test_unknown_keys_are_ignored_and_known_ones_typed(tmp_path):
    data = reference_file(seed=3, count=2, flags=Flags(movement=True))
    data["combinations"][0]["something_new"] = {"nested": [1, 2]}
    data["combinations"][0]["objects"][0]["movement"]["speed"] = "0.2"  # numbers in strings read as numbers
    data["combinations"][1]["objects"][0]["movement"]["speed"] = "fast"
    path = tmp_path / "reference.json"
    path.write_text(json.dumps(data))
    source = load_file_source(str(path))
    assert source.get(0).objects[0].movement.speed == pytest.approx(6.0)
    with pytest.raises(InvalidInputError) as caught:
        source.get(1)
    message = str(caught.value)
    assert f"{path}: combinations[1]: field 'objects.0.movement.speed'" in message and "'fast'" in message


def _assets_made_by_blender(folder: Path) -> dict[str, bytes]:
    """The asset doubles' files (a glTF model, an HDR sky, a JPEG texture), made by Blender in a process of its
    own: bpy imported here would put its script folders on this process's sys.path, which spawned renderers
    inherit."""
    code = "import sys, pathlib; from tests.test_remote_assets_render import _make_assets; "
    code += "_make_assets(pathlib.Path(sys.argv[1]))"
    subprocess.run([sys.executable, "-c", code, str(folder)], cwd=REPO, check=True, capture_output=True, timeout=300)
    return {name: (folder / name).read_bytes() for name in ("model.glb", "sky.hdr", "tiles.jpg")}


@pytest.mark.blender
def test_reference_entry_renders(tmp_path):
    """An entry of a `--movement --ontop --camera_follow` file, its Objaverse object and Poly Haven sky and floor
    served by test doubles, rendered by `simian render` as a user runs it (a moving object, the camera following)."""
    from .doubles.hub import HubTestDouble
    from .doubles.polyhaven import PolyHavenTestDouble
    from .test_remote_assets_render import UID

    data = reference_file(seed=11, count=ENTRIES, flags=Flags(movement=True, ontop=True, camera_follow=True))
    entry = next(e for e in data["combinations"] if len(e["objects"]) == 2 and not has_moving_stack(e))
    for obj in entry["objects"]:
        obj["uid"] = UID
    entry["background"]["id"], entry["background"]["name"] = "test_sky", "Test Sky"
    entry["stage"]["material"]["name"] = "Test Tiles"
    assets = _assets_made_by_blender(tmp_path)
    with HubTestDouble(tmp_path / "hub") as hub, PolyHavenTestDouble() as polyhaven:
        paths = {UID: f"glbs/000-001/{UID}.glb"}
        hub.add_file("allenai/objaverse", "object-paths.json.gz", gzip.compress(json.dumps(paths).encode()))
        hub.add_file("allenai/objaverse", paths[UID], assets["model.glb"])
        polyhaven.add_hdri("test_sky", "Test Sky", assets["sky.hdr"])
        polyhaven.add_texture("test_tiles", "Test Tiles", {"Diffuse": assets["tiles.jpg"]})
        source = tmp_path / "combinations.json"
        source.write_text(json.dumps({**data, "combinations": [entry]}))
        env = {
            "HF_ENDPOINT": hub.url,
            "SIMIAN_POLYHAVEN_API": polyhaven.url,
            "SIMIAN_CACHE_DIR": str(tmp_path / "cache"),
            "HF_HUB_DISABLE_XET": "1",
        }
        out = tmp_path / "out"
        result = run_simian("render", "--index", "0", "--combinations", str(source), *TINY, "-o", str(out), env=env)
    assert result.returncode == 0, result.stderr
    name = f"{entry['index']:08d}"
    frames = decode_frames(out / f"{name}.mp4")
    assert len(frames) == 6 and frames[0].std() > 3
    sidecar = json.loads((out / f"{name}.json").read_text())
    objects = sidecar["combination"]["objects"]
    assert [o["movement"]["direction"] for o in objects] == [
        OUR_DIRECTIONS[o["movement"]["direction"]] for o in entry["objects"]
    ]
    assert [o["camera_follow"] for o in objects] == ["camera_follow" in o for o in entry["objects"]]
    assert "Test Sky" in sidecar["caption"] and "Test Tiles" in sidecar["caption"]
    assert not list((tmp_path / "cache" / "logs").iterdir()), "the render's Blender log is removed on success"


def test_generator_covers_each_flag():
    """The generator itself: each flag changes the files the way the reference's does."""
    rng_entries = {flags: reference_file(seed=9, count=ENTRIES, flags=flags)["combinations"] for flags in ALL_FLAGS}
    plain = rng_entries[Flags()]
    assert all(e.get("no_movement") for e in plain)
    assert not any("camera_follow" in o for e in plain for o in e["objects"])
    assert all(len({o["placement"] for o in e["objects"]}) == len(e["objects"]) for e in plain)
    randomised = rng_entries[Flags(random=True)]
    moving = [any("movement" in o for o in e["objects"]) for e in randomised]
    assert any(moving) and not all(moving)
    assert all(e["objects"][0]["placement"] == 4 for entries in rng_entries.values() for e in entries)
