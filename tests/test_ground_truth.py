"""Per-frame ground truth (computed in pure Python from the scene plan) against Blender's own scene: every
camera matrix, every object centre, position and box, on every frame."""

from __future__ import annotations

from pathlib import Path

import pytest

from simian.combine.combiner import CombinerOptions, combination_for
from simian.dataset.truth_columns import camera_file_text, columns
from simian.recipe.combination import CameraAnimation, Combination, ObjectMovement
from simian.render.render_settings import RenderSettings
from simian.scene import ground_truth
from simian.scene.composition import plan_scene

pytestmark = pytest.mark.blender

SETTINGS = RenderSettings(width=160, height=96, frames=12, fps=24, samples=1, device="cpu")
HALF_PIXEL = 0.5


def _moved(seed: int, index: int, move: str, options: CombinerOptions | None = None) -> Combination:
    base = combination_for(seed, index, options or CombinerOptions(max_objects=3))
    return base.model_copy(update={"animation": CameraAnimation(name=move, speed_factor=1.5)})  # type: ignore[arg-type]


def _walker() -> Combination:
    """An object walking left under a static camera."""
    base = combination_for(4, 0, CombinerOptions(max_objects=2))
    obj = base.objects[0].model_copy(update={"movement": ObjectMovement(direction="left", speed=1.0)})
    return base.model_copy(update={"objects": [obj, *base.objects[1:]], "animation": CameraAnimation()})


CASES = {
    "drawn-moving-stacked-followed": lambda: combination_for(
        5, 3, CombinerOptions(movement=True, ontop=True, camera_follow=True)
    ),
    "orbit": lambda: _moved(2, 1, "orbit_left"),
    "zoom": lambda: _moved(2, 2, "zoom_in"),
    "dolly": lambda: _moved(3, 4, "dolly_out"),
    "pan": lambda: _moved(3, 5, "pan_right"),
    "crane": lambda: _moved(6, 0, "crane_up"),
    "roll": lambda: _moved(6, 1, "tilt_left"),
    "walker": _walker,
}


def _roots(scene):  # type: ignore[no-untyped-def]
    return sorted(
        (o for o in scene.objects if o.name.startswith("object_") and o.parent is None),
        key=lambda o: int(o.name.split("_")[1]),
    )


def _world_box(root):  # type: ignore[no-untyped-def]
    from mathutils import Vector

    corners = [m.matrix_world @ Vector(c) for m in root.children_recursive if m.type == "MESH" for c in m.bound_box]
    lo = Vector([min(p[k] for p in corners) for k in range(3)])
    hi = Vector([max(p[k] for p in corners) for k in range(3)])
    return lo, hi


@pytest.mark.parametrize("case", list(CASES))
def test_matrices_project_like_blender_on_every_frame(case, tmp_path: Path):
    import bpy
    from bpy_extras.object_utils import world_to_camera_view
    from mathutils import Matrix, Vector

    from simian.render.blender.scene import build_scene

    combination = CASES[case]()
    build_scene(combination, SETTINGS, {}, tmp_path / "x.mp4", [])
    scene = bpy.context.scene
    roots = _roots(scene)
    plan = plan_scene(combination, SETTINGS.clip())
    w, h = SETTINGS.width, SETTINGS.height
    cameras = ground_truth.camera_frames(plan, SETTINGS.frames, SETTINGS.fps, w, h)
    tracks = ground_truth.object_frames(plan, cameras)
    row = columns(combination, SETTINGS, "00000000.mp4")
    opencv_axes = Matrix(((1, 0, 0, 0), (0, -1, 0, 0), (0, 0, -1, 0), (0, 0, 0, 1)))
    worst = 0.0
    for camera in cameras:
        scene.frame_set(camera.frame)
        blender_pose = scene.camera.matrix_world @ opencv_axes
        ours = camera.camera_to_world()
        for r in range(4):
            for c in range(4):
                assert ours[r][c] == pytest.approx(blender_pose[r][c], abs=1e-5), (case, camera.frame, r, c)
        assert camera.focal_length_mm == pytest.approx(scene.camera.data.lens, rel=1e-5)
        assert camera.fx == pytest.approx(scene.camera.data.lens / scene.camera.data.sensor_width * w, rel=1e-5)
        for i, root in enumerate(roots):
            lo, hi = _world_box(root)
            for point in (root.matrix_world.translation, (lo + hi) / 2):  # the object's origin and its centre
                view = world_to_camera_view(scene, scene.camera, point)
                u, v, depth = camera.project(tuple(point))
                worst = max(worst, abs(u - view.x * w), abs(v - (1 - view.y) * h))
                assert abs(u - view.x * w) < HALF_PIXEL and abs(v - (1 - view.y) * h) < HALF_PIXEL, (case, i)
                assert depth == pytest.approx(view.z, rel=1e-5)
            track = tracks[i][camera.frame - 1]
            assert track.position == pytest.approx(tuple(root.matrix_world.translation), abs=1e-3)
            assert track.rotation == pytest.approx(tuple(root.matrix_world.to_quaternion()), abs=1e-6)
            # The box is Blender's bounding box of the object as seen through its camera, clipped to the frame.
            views = [
                world_to_camera_view(scene, scene.camera, Vector((x, y, z)))
                for x in (lo.x, hi.x)
                for y in (lo.y, hi.y)
                for z in (lo.z, hi.z)
            ]
            us, vs = [p.x * w for p in views], [(1 - p.y) * h for p in views]
            expected = (max(min(us), 0), max(min(vs), 0), min(max(us), w), min(max(vs), h))
            assert track.box == pytest.approx(expected, abs=HALF_PIXEL), (case, i, camera.frame)
            assert row["objects"][i]["box"][camera.frame - 1] == pytest.approx(track.box, abs=0.01)
    assert worst < 0.01, f"{case}: the matrices agree with Blender to {worst:.4f} px"
    assert len(row["camera"]["camera_to_world"]) == len(row["camera"]["intrinsics"]) == SETTINGS.frames
    assert [o["id"] for o in row["objects"]] == list(range(1, len(combination.objects) + 1))


def test_camera_file_is_realestate10k():
    combination = _moved(3, 5, "pan_right")
    text = camera_file_text(combination, SETTINGS, "data/0000/00000000.mp4")
    lines = text.splitlines()
    assert lines[0] == "00000000.mp4" and len(lines) == 1 + SETTINGS.frames
    plan = plan_scene(combination, SETTINGS.clip())
    cameras = ground_truth.camera_frames(plan, SETTINGS.frames, SETTINGS.fps, 160, 96)
    for line, camera in zip(lines[1:], cameras, strict=True):
        values = [float(v) for v in line.split()]
        assert len(values) == 19
        assert values[0] == round(camera.time_s * 1e6)
        assert values[1:5] == pytest.approx([camera.fx / 160, camera.fy / 96, 0.5, 0.5], abs=1e-8)
        assert values[5:7] == [0, 0]
        world_to_camera = [values[7:11], values[11:15], values[15:19]]
        pose = camera.camera_to_world()
        for r in range(3):  # [R^T | -R^T t] undoes the pose: w2c @ c2w = identity
            for c in range(4):
                product = sum(world_to_camera[r][k] * pose[k][c] for k in range(4))
                assert product == pytest.approx(1.0 if r == c else 0.0, abs=1e-6)


def test_box_behind_the_camera_is_cut_at_the_near_plane():
    camera = ground_truth.CameraFrame(
        1,
        0.0,
        100,
        100,
        50.0,
        50.0,
        50.0,
        50.0,
        36.0,
        ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)),
        (0.0, 0.0, 0.0),
    )
    box, share = ground_truth.image_box(camera, (-0.5, -0.5, 1.0), (0.5, 0.5, 2.0))
    assert box == pytest.approx((25.0, 25.0, 75.0, 75.0)) and share == 1.0
    box, share = ground_truth.image_box(camera, (-0.5, -0.5, -1.0), (0.5, 0.5, 2.0))  # reaches behind the camera
    assert box == (0.0, 0.0, 100.0, 100.0) and share == pytest.approx(0.01)  # 1000 px wide at the near plane
    assert ground_truth.image_box(camera, (-0.5, -0.5, -3.0), (0.5, 0.5, -1.0)) == (None, 0.0)
    box, share = ground_truth.image_box(camera, (0.5, -0.5, 1.0), (1.5, 0.5, 2.0))  # partly out on the right
    assert box == pytest.approx((62.5, 25.0, 100.0, 75.0)) and share == pytest.approx(37.5 / 62.5)
