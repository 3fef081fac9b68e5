"""Captions against the Blender scene itself: what the caption says is where Blender put it."""

from __future__ import annotations

from pathlib import Path

import pytest

from simian.captions.long import distinct_names, relation
from simian.combine.combiner import CombinerOptions, combination_for
from simian.recipe.combination import CameraAnimation, ObjectMovement
from simian.render.render_settings import RenderSettings
from simian.scene.composition import plan_scene

pytestmark = pytest.mark.blender

SETTINGS = RenderSettings(width=160, height=96, frames=12, fps=24, samples=1, device="cpu")


def _build(combination, tmp_path: Path):  # type: ignore[no-untyped-def]
    import bpy

    from simian.render.blender.scene import build_scene

    build_scene(combination, SETTINGS, {}, tmp_path / "x.mp4", [])
    scene = bpy.context.scene
    scene.frame_set(1)
    roots = sorted(
        (o for o in scene.objects if o.name.startswith("object_") and o.parent is None),
        key=lambda o: int(o.name.split("_")[1]),
    )
    return scene, roots


def _box_centre(root):  # type: ignore[no-untyped-def]
    from mathutils import Vector

    corners = [m.matrix_world @ Vector(c) for m in root.children_recursive if m.type == "MESH" for c in m.bound_box]
    return Vector([(min(p[k] for p in corners) + max(p[k] for p in corners)) / 2 for k in range(3)])


@pytest.mark.parametrize("index", range(12))
def test_left_right_and_sizes_match_blender(index, tmp_path):
    import bpy  # noqa: F401  (makes bpy_extras importable)
    from bpy_extras.object_utils import world_to_camera_view
    from mathutils import Vector

    combination = combination_for(31, index, CombinerOptions(max_objects=4))
    scene, roots = _build(combination, tmp_path)
    assert len(roots) == len(combination.objects)
    plan = plan_scene(combination)
    names = distinct_names(combination)
    for i, obj in enumerate(combination.objects):
        meshes = [c for c in roots[i].children_recursive if c.type == "MESH"]
        corners = [m.matrix_world @ Vector(c) for m in meshes for c in m.bound_box]
        size = max(max(p[k] for p in corners) - min(p[k] for p in corners) for k in range(3))
        assert size == pytest.approx(obj.scale.factor, rel=1e-3), "rendered size must be the caption's size"
        assert min(p.z for p in corners) >= -1e-4, "objects stand on the floor"
        view = world_to_camera_view(scene, scene.camera, roots[i].matrix_world.translation)
        assert 0 <= view.x <= 1 and 0 <= view.y <= 1 and view.z > 0, f"{names[i]} is out of the frame"
    for i in range(len(roots)):
        for j in range(i + 1, len(roots)):
            side, _ = relation(plan, i, j)
            if side is None:
                continue
            xi = world_to_camera_view(scene, scene.camera, _box_centre(roots[i])).x
            xj = world_to_camera_view(scene, scene.camera, _box_centre(roots[j])).x
            assert (xi < xj) == (side == "left"), f"caption says {names[i]} is {side} of {names[j]}"
            assert f"the {names[i]} is to the {side} of".lower() in combination.caption.lower()


def test_movement_direction_matches_the_camera(tmp_path):
    import bpy  # noqa: F401  (makes bpy_extras importable)
    from bpy_extras.object_utils import world_to_camera_view

    combination = combination_for(4, 0, CombinerOptions(max_objects=1, movement=True))
    obj = combination.objects[0].model_copy(update={"movement": ObjectMovement(direction="left", speed=1.0)})
    combination = combination.model_copy(update={"objects": [obj], "animation": CameraAnimation(name="static")})
    scene, roots = _build(combination, tmp_path)
    scene.frame_set(1)
    start = world_to_camera_view(scene, scene.camera, roots[0].matrix_world.translation).x
    scene.frame_set(SETTINGS.frames)
    end = world_to_camera_view(scene, scene.camera, roots[0].matrix_world.translation).x
    assert end < start, "an object moving left goes left in the image"


@pytest.mark.parametrize(
    ("move", "check"),
    [
        ("pan_left", "x_up"),
        ("pan_right", "x_down"),
        ("tilt_up", "y_down"),
        ("tilt_down", "y_up"),
        ("crane_up", "y_down"),
        ("crane_down", "y_up"),
        ("dolly_in", "bigger"),
        ("dolly_out", "smaller"),
        ("zoom_in", "bigger"),
        ("zoom_out", "smaller"),
        ("orbit_left", "cam_left"),
        ("orbit_right", "cam_right"),
        ("orbit_up", "cam_higher"),
        ("orbit_down", "cam_lower"),
    ],
)
def test_camera_moves_do_what_captions_say(move, check, tmp_path):
    """Seen through the camera: pan left moves the scene right in the image, dolly in makes it bigger, ..."""
    import bpy  # noqa: F401
    from bpy_extras.object_utils import world_to_camera_view
    from mathutils import Vector

    base = combination_for(8, 1, CombinerOptions(max_objects=1))
    combination = base.model_copy(update={"animation": CameraAnimation(name=move, speed_factor=2.0)})
    scene, roots = _build(combination, tmp_path)
    target = roots[0].matrix_world.translation + Vector((0, 0, combination.objects[0].scale.factor * 0.3))
    edge = target + Vector((0.2, 0.2, 0.2))

    def look(frame: int):  # type: ignore[no-untyped-def]
        scene.frame_set(frame)
        a = world_to_camera_view(scene, scene.camera, target)
        b = world_to_camera_view(scene, scene.camera, edge)
        return a, (b - a).length, scene.camera.matrix_world.translation.copy()

    (a0, s0, c0), (a1, s1, c1) = look(1), look(SETTINGS.frames)
    scene.frame_set(1)
    right = scene.camera.matrix_world.to_3x3() @ Vector((1, 0, 0))
    expected = {
        "x_up": a1.x > a0.x,
        "x_down": a1.x < a0.x,
        "y_up": a1.y > a0.y,
        "y_down": a1.y < a0.y,
        "bigger": s1 > s0,
        "smaller": s1 < s0,
        "cam_left": (c1 - c0).dot(right) < 0,
        "cam_right": (c1 - c0).dot(right) > 0,
        "cam_higher": c1.z > c0.z,
        "cam_lower": c1.z < c0.z,
    }[check]
    assert expected, f"{move}: {check} does not hold ({a0} -> {a1}, size {s0:.4f} -> {s1:.4f}, cam {c0} -> {c1})"
