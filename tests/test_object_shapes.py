"""Shapes the plan frames with are Blender's: committed proportions, projected boxes per frame."""

from __future__ import annotations

import pytest

from simian.assets.catalog import BUILTIN_OBJECTS
from simian.combine.combiner import CombinerOptions, combination_for
from simian.render.render_settings import RenderSettings
from simian.scene.composition import plan_scene
from simian.scene.plan import PLANNED_CLIP
from simian.scene.shapes import BUILTIN_SHAPES, UNKNOWN_SHAPE, shape_for

pytestmark = pytest.mark.blender


def test_committed_proportions_match_the_builders():
    import bpy
    from mathutils import Vector

    from simian.render.blender import builtin_objects

    assert set(BUILTIN_SHAPES) == set(BUILTIN_OBJECTS)
    for ref, shape in BUILTIN_SHAPES.items():
        bpy.ops.wm.read_factory_settings(use_empty=True)
        obj = builtin_objects.build_object(ref.split(":", 1)[1])
        bpy.context.view_layer.update()
        corners = [obj.matrix_world @ Vector(c) for c in obj.bound_box]
        sides = [max(c[k] for c in corners) - min(c[k] for c in corners) for k in range(3)]
        largest = max(sides)
        measured = [s / largest for s in sides]
        assert measured == pytest.approx([shape.width, shape.depth, shape.height], abs=5e-4), ref


def test_external_objects_get_a_bounding_cube():
    assert shape_for("objaverse:0123") == UNKNOWN_SHAPE
    assert UNKNOWN_SHAPE.dims(2.0) == (2.0, 2.0, 2.0)
    assert not UNKNOWN_SHAPE.known and UNKNOWN_SHAPE.long_axis is None


def test_planned_clip_is_the_default_render():
    default = RenderSettings()
    assert (PLANNED_CLIP.frames, PLANNED_CLIP.fps) == (default.frames, default.fps)
    assert (PLANNED_CLIP.width, PLANNED_CLIP.height) == (default.width, default.height)


@pytest.mark.parametrize("index", range(4))
def test_planned_boxes_are_blenders_boxes_on_every_frame(index, tmp_path):
    """The plan's per-frame boxes (published as ground truth) equal Blender's projection."""
    import bpy
    from bpy_extras.object_utils import world_to_camera_view
    from mathutils import Vector

    from simian.render.blender.scene import build_scene

    combination = combination_for(13, index, CombinerOptions(movement=True, ontop=True, camera_follow=index % 2 == 0))
    plan = plan_scene(combination)
    settings = RenderSettings(device="cpu")
    build_scene(combination, settings, {}, tmp_path / "x.mp4", [])
    scene = bpy.context.scene
    roots = sorted(
        (o for o in scene.objects if o.name.startswith("object_") and o.parent is None),
        key=lambda o: int(o.name.split("_")[1]),
    )
    assert len(plan.frame_boxes) == settings.frames
    for frame in range(1, settings.frames + 1):
        scene.frame_set(frame)
        for i, root in enumerate(roots):
            corners = [
                m.matrix_world @ Vector(c) for m in root.children_recursive if m.type == "MESH" for c in m.bound_box
            ]
            lo = [min(c[k] for c in corners) for k in range(3)]
            hi = [max(c[k] for c in corners) for k in range(3)]
            views = [
                world_to_camera_view(scene, scene.camera, Vector((x, y, z)))
                for x in (lo[0], hi[0])
                for y in (lo[1], hi[1])
                for z in (lo[2], hi[2])
            ]
            blender = [
                min(v.x for v in views),
                1 - max(v.y for v in views),
                max(v.x for v in views),
                1 - min(v.y for v in views),
            ]
            planned = plan.frame_boxes_json()[frame - 1][i]
            assert planned == pytest.approx(blender, abs=2e-3), f"object {i} at frame {frame}"
