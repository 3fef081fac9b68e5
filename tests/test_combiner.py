"""The combiner: random access, determinism, captions true to the recipe, file formats."""

from __future__ import annotations

import json
import math

import pytest

from simian.captions.long import distinct_names, relation
from simian.combine.combiner import CombinerOptions, combination_for, combine
from simian.combine.sources import load_file_source, open_source
from simian.errors import InvalidInputError
from simian.recipe.combination import parse_combination
from simian.recipe.vocabulary import CAMERA_MOVES, LIGHT_PHRASES
from simian.scene.composition import plan_scene
from simian.scene.projection import project
from simian.scene.recognition import FAR_FLOOR_NAMES

from .conftest import run_simian


def test_random_access_equals_the_file(tmp_path):
    out = tmp_path / "combinations.json"
    result = run_simian("combine", "--seed", "11", "--count", "25", "--random", "-o", str(out))
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    assert data["seed"] == 11 and data["count"] == 25 and len(data["combinations"]) == 25
    options = CombinerOptions(random=True)
    for i in (0, 7, 24):
        assert combination_for(11, i, options).model_dump(mode="json") == data["combinations"][i]
    source = load_file_source(str(out))
    assert source.get(13) == combination_for(11, 13, options)


def test_same_seed_same_output_other_seed_differs():
    a = combine(3, 5)
    assert a == combine(3, 5)
    assert a != combine(4, 5)
    # Entry i does not depend on how many came before it.
    assert combine(3, 5)["combinations"][4] == combine(3, 9)["combinations"][4]


@pytest.mark.parametrize("index", range(40))
def test_captions_name_every_object_and_the_scene(index):
    c = combination_for(5, index, CombinerOptions(random=True, max_objects=5))
    assert c.caption and c.captions
    for obj in c.objects:
        assert obj.name in c.caption
    # The sky by name where it shows, else the light it gives (a sky out of frame is not seen).
    assert c.background.name in c.caption or f"lit by {LIGHT_PHRASES[c.background.asset]}." in c.caption
    assert c.stage.name in c.caption or f"The floor is {FAR_FLOOR_NAMES[c.stage.floor]}." in c.caption
    move = CAMERA_MOVES[c.animation.name]
    following = any(o.camera_follow for o in c.objects)
    assert move.phrase in c.caption or (move.name == "static" and following)
    for obj in c.objects:
        if obj.movement is not None:
            assert f"{obj.movement.speed:.2f} meters per second" in c.caption
    for obj in c.objects:
        assert f"about {obj.scale.factor:g} meter" in c.caption


def test_relations_follow_the_camera():
    """Left/right and in front/behind in the caption agree with the projected first frame."""
    checked = 0
    for index in range(60):
        c = combination_for(9, index, CombinerOptions(max_objects=4))
        plan = plan_scene(c)
        names = distinct_names(c)
        pose = plan.camera_at(0.0)
        for i in range(len(c.objects)):
            for j in range(i + 1, len(c.objects)):
                side, depth = relation(plan, i, j)
                xi, _, zi = project(pose, plan.object_center(i, 0.0), plan.clip.aspect)
                xj, _, zj = project(pose, plan.object_center(j, 0.0), plan.clip.aspect)
                if side == "left":
                    assert xi < xj
                    assert f"the {names[i]} is to the left of".lower() in c.caption.lower()
                    checked += 1
                if depth == "in front of":
                    assert zi < zj
    assert checked > 10


def test_camera_rates_in_caption_match_plan():
    for index in range(60):
        c = combination_for(2, index)
        plan = plan_scene(c)
        if plan.move.quantity == "azimuth":
            start, end = plan.camera_at(0.0), plan.camera_at(1.0)
            assert math.isclose(abs(end.heading_deg - start.heading_deg), abs(plan.move_rate), rel_tol=1e-6)
            assert f"{abs(plan.move_rate):.2f} degrees per second" in c.caption


def test_scale_is_not_inverted():
    c = combination_for(1, 0)
    plan = plan_scene(c)
    for obj, track in zip(c.objects, plan.objects, strict=True):
        assert track.size == obj.scale.factor


def _valid() -> dict:
    return combination_for(1, 0).model_dump(mode="json")


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("framing", "fov"), 0, "framing.fov"),
        (("framing", "fov"), -3.5, "framing.fov"),
        (("objects", 0, "scale", "factor"), -1, "objects.0.scale.factor"),
        (("objects", 0, "scale", "factor"), float("nan"), "finite number"),
        (("objects", 0, "asset"), "nonsense", "objects.0.asset"),
        (("orientation", "pitch"), 120, "orientation.pitch"),
        (("animation", "name"), "barrel_roll", "animation.name"),
    ],
)
def test_invalid_fields_are_named(path, value, expected):
    data = _valid()
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(InvalidInputError) as err:
        parse_combination(data)
    assert expected in str(err.value)


def test_reference_format_loads(tmp_path):
    reference = {
        "seed": 42,
        "count": 1,
        "combinations": [
            {
                "index": 0,
                "objects": [
                    {
                        "name": "a wooden chair",
                        "uid": "5e2f0000000000000000000000000c1a",
                        "description": "a wooden chair",
                        "placement": 4,
                        "from": "cap3d",
                        "scale": {"factor": 1.0, "name": "medium", "name_synonym": "standard"},
                        "transformed_position": [0, 0],
                        "relationships": "",
                        "movement": {"direction": "forward", "speed": 0.01},
                    }
                ],
                "background_caption": "Scene background: x",
                "background": {
                    "name": "Brown Photostudio 07",
                    "url": "https://x",
                    "id": "brown_photostudio_07",
                    "from": "hdri_data",
                },
                "orientation_caption": "x",
                "orientation": {"yaw": 212, "pitch": 23},
                "framing": {"fov": 38, "coverage_factor": 1.21, "name": "medium"},
                "animation": {"name": "orbit_left", "speed_factor": 1.37, "keyframes": []},
                "stage": {
                    "material": {"name": "Medieval Blocks 02", "maps": {}},
                    "uv_scale": [0.93, 1.12],
                    "uv_rotation": 141.7,
                },
                "postprocessing": {
                    "bloom": {"threshold": 0.82, "intensity": 0.31, "radius": 6.4, "type": "medium"},
                    "ssao": {"distance": 0.41, "factor": 0.7, "type": "high"},
                    "ssrr": {"max_roughness": 0.05, "thickness": 1.3, "type": "low"},
                    "motionblur": {"shutter_speed": 0.12, "type": "low"},
                },
                "caption": "old caption",
            }
        ],
    }
    path = tmp_path / "ref.json"
    path.write_text(json.dumps(reference))
    c = load_file_source(str(path)).get(0)
    assert c.objects[0].asset == "objaverse:5e2f0000000000000000000000000c1a"
    assert c.objects[0].movement and c.objects[0].movement.direction == "away"
    assert c.background.asset == "polyhaven:brown_photostudio_07"
    assert c.stage.floor == "polyhaven:medieval_blocks_02"
    assert c.postprocessing.ambient_occlusion.level == "high"
    assert c.caption and "old caption" not in c.caption and "wooden chair" in c.caption


def test_file_errors_are_clear(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"combinations": [ {"index": 0,,] }')
    with pytest.raises(InvalidInputError, match="not valid JSON"):
        load_file_source(str(bad))
    with pytest.raises(InvalidInputError, match="does not exist"):
        load_file_source(str(tmp_path / "missing.json"))
    good = tmp_path / "good.json"
    good.write_text(json.dumps(combine(1, 3)))
    with pytest.raises(InvalidInputError, match="out of range.*holds 3"):
        load_file_source(str(good)).get(3)
    with pytest.raises(InvalidInputError, match="exactly one"):
        open_source(None, None)


def test_schema_command_prints_the_json_schema():
    result = run_simian("schema")
    assert result.returncode == 0, result.stderr
    schema = json.loads(result.stdout)
    assert "framing" in schema["properties"] and "Framing" in schema["$defs"]


def test_thin_objects_are_kept_off_busy_floors():
    """A white lamp shade on checkered tiles vanishes into the squares (bench/CAPTION_TRUTH.md, p32-08)."""
    from simian.scene.recognition import BUSY_FLOORS, THIN_PARTS

    thin_scenes = 0
    for index in range(120):
        c = combination_for(41, index)
        if any(o.asset in THIN_PARTS for o in c.objects):
            thin_scenes += 1
            assert c.stage.floor not in BUSY_FLOORS, f"#{index}: {[o.asset for o in c.objects]} on {c.stage.name}"
    assert thin_scenes > 10


def test_camera_moves_move_the_picture_and_followed_objects_cross_a_floor_that_shows_it():
    """A move that shifts the picture by less than 2 % of the frame over the clip looked still on the labelled frames,
    and 20 cm bricks far off are red paving that shows no sliding: neither is drawn."""
    from simian.captions.long import CENTRING_MOVES, MIN_VISIBLE_SLIDE, floor_slide_motion
    from simian.combine.combiner import MIN_VISIBLE_MOTION
    from simian.scene.composition import screen_speed
    from simian.scene.plan import follow_index
    from simian.scene.recognition import FLOOR_UNITS_M

    moving, slides = 0, []
    for index in range(60):
        c = combination_for(43, index, CombinerOptions(movement=True, camera_follow=True))
        plan = plan_scene(c)
        if c.animation.name != "static":
            moving += 1
            assert screen_speed(plan.frame_boxes, plan.clip) * plan.clip.duration_s >= MIN_VISIBLE_MOTION, index
        if any(o.camera_follow for o in c.objects):
            assert c.stage.floor not in FLOOR_UNITS_M, index
            followed = follow_index(c)
            if followed is not None and plan.moves(followed) and c.animation.name in CENTRING_MOVES:
                slides.append(floor_slide_motion(plan, followed)[1] >= MIN_VISIBLE_SLIDE)
    assert moving > 20
    assert len(slides) > 10 and sum(slides) >= 0.9 * len(slides), "a followed mover's floor visibly slides"
