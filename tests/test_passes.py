"""Ground-truth passes rendered with real bpy, checked against Blender's own scene: depth against rays cast
from the camera, instance ids against the objects' boxes, flow against the camera's rotation under a pan,
normals against the floor; every file decodes with the video's frame count, and the video is the same
with or without passes."""

from __future__ import annotations

import json
import math
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from simian.combine.combiner import CombinerOptions, combination_for
from simian.recipe.combination import Combination, ObjectMovement, PostProcessing
from simian.render import Renderer, RenderResult, RenderSettings
from simian.render.pass_arrays import FLOW_NONE, FLOW_SCALE, load
from simian.scene import ground_truth
from simian.scene.composition import plan_scene

from .conftest import REPO, decode_frames, run_simian

pytestmark = pytest.mark.blender

ALL = ("depth", "normal", "segmentation", "flow")
SETTINGS = RenderSettings(width=128, height=72, frames=8, samples=2, device="cpu", passes=ALL)


def _panning_walker() -> Combination:
    """Two objects under an overcast sky, the camera panning left, the first object walking left; no motion
    blur (it would spread every pass over the shutter)."""
    base = combination_for(1, 5, CombinerOptions(max_objects=3))
    assert base.animation.name == "pan_left" and base.background.asset == "builtin:overcast"
    walker = base.objects[0].model_copy(update={"movement": ObjectMovement(direction="left", speed=2.0)})
    return base.model_copy(update={"objects": [walker, *base.objects[1:]], "postprocessing": PostProcessing()})


@dataclass
class Rendered:
    combination: Combination
    result: RenderResult
    plain: RenderResult
    arrays: dict[str, np.ndarray]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    scratch = tmp_path_factory.mktemp("passes")
    combination = _panning_walker()
    with Renderer(cache_dir=scratch / "cache") as renderer:
        result = renderer.render(combination, SETTINGS, scratch)
        plain = renderer.render(combination, SETTINGS.model_copy(update={"passes": ()}), scratch)
    arrays = {name: load(path, name) for name, path in result.passes.items()}
    return Rendered(combination, result, plain, arrays)


@pytest.fixture
def blender_scene(rendered: Rendered, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The same scene built in this process (not rendered), to ask Blender where things are."""
    import bpy

    from simian.render.blender.scene import build_scene

    build_scene(rendered.combination, SETTINGS, {}, tmp_path / "x.mp4", [])
    return bpy.context.scene


def test_files_decode_with_the_frame_count_of_the_video(rendered: Rendered):
    frames = len(decode_frames(rendered.result.media))
    assert frames == SETTINGS.frames
    expected = {
        "depth": (np.float16, (frames, 72, 128)),
        "normal": (np.int8, (frames, 72, 128, 3)),
        "segmentation": (np.uint8, (frames, 72, 128)),
        "flow": (np.int16, (frames, 72, 128, 2)),
    }
    assert set(rendered.arrays) == set(ALL)
    for name, (dtype, shape) in expected.items():
        assert rendered.arrays[name].dtype == dtype and rendered.arrays[name].shape == shape, name
    assert not list(rendered.result.media.parent.glob("*.pass-frames")), "the compositor's EXR frames are removed"


def test_the_video_is_the_same_with_or_without_passes(rendered: Rendered):
    with_passes, without = decode_frames(rendered.result.media), decode_frames(rendered.plain.media)
    assert len(with_passes) == len(without) == SETTINGS.frames
    for a, b in zip(with_passes, without, strict=True):
        assert np.array_equal(a, b), "passes come from the same render, which they leave as is"
    assert rendered.plain.passes == {}


def _ray(scene, u: float, v: float):  # type: ignore[no-untyped-def]
    """Blender's own ray through image point (u, v) (pixels, top-left origin): hit, planar depth, normal, object."""
    import bpy
    from mathutils import Vector

    camera = scene.camera
    matrix = camera.matrix_world
    focal = camera.data.lens / camera.data.sensor_width * SETTINGS.width
    local = Vector(((u - SETTINGS.width / 2) / focal, -(v - SETTINGS.height / 2) / focal, -1.0))
    direction = (matrix.to_3x3() @ local).normalized()
    hit, location, normal, _, obj, _ = scene.ray_cast(
        bpy.context.evaluated_depsgraph_get(), matrix.translation, direction
    )
    forward = matrix.to_3x3() @ Vector((0.0, 0.0, -1.0))
    return hit, ((location - matrix.translation).dot(forward) if hit else math.inf), normal, obj


def test_depth_is_the_distance_to_the_surface_blender_hits(rendered: Rendered, blender_scene):  # type: ignore[no-untyped-def]
    errors, objects_seen, sky = [], set(), 0
    for frame in (1, SETTINGS.frames):
        blender_scene.frame_set(frame)
        depth = rendered.arrays["depth"][frame - 1].astype(np.float64)
        ids = rendered.arrays["segmentation"][frame - 1]
        for row in range(1, SETTINGS.height - 1, 2):
            for col in range(1, SETTINGS.width - 1, 2):
                window = ids[row - 1 : row + 2, col - 1 : col + 2]
                if (window != window[0, 0]).any():
                    continue  # an edge: the pass samples one point of the pixel, the ray its centre
                near = depth[row - 1 : row + 2, col - 1 : col + 2]
                if np.isinf(near).any() and np.isfinite(near).any():
                    continue  # the same at the floor's far edge against the sky (one id, 0, on both sides)
                hit, distance, _, _ = _ray(blender_scene, col + 0.5, row + 0.5)
                if not hit:
                    assert math.isinf(depth[row, col]), "no surface: infinite depth"
                    sky += 1
                    continue
                errors.append(abs(depth[row, col] - distance) / distance)
                if ids[row, col]:
                    objects_seen.add(int(ids[row, col]))
    errors_array = np.array(errors)
    assert sky > 50, "the sky is in the shot"
    assert objects_seen == {1, 2}, "depth is checked on both objects"
    assert np.median(errors_array) < 0.001 and errors_array.max() < 0.005, (np.median(errors_array), errors_array.max())


def test_normals_are_unit_vectors_in_camera_axes(rendered: Rendered, blender_scene):  # type: ignore[no-untyped-def]
    from simian.render.blender.builtin_floors import FLOOR_NAME

    depth = rendered.arrays["depth"]
    normals = rendered.arrays["normal"].astype(np.float64) / 127
    lengths = np.linalg.norm(normals, axis=-1)
    assert np.all(lengths[np.isinf(depth)] == 0), "no surface, no normal"
    assert np.abs(lengths[np.isfinite(depth)] - 1).max() < 0.02
    # The floor faces up: seen from the camera, its normal is R^T (0, 0, 1).
    plan = plan_scene(rendered.combination, SETTINGS.clip())
    angles = []
    for frame in (1, SETTINGS.frames):
        blender_scene.frame_set(frame)
        camera = ground_truth.camera_frame(plan, frame, SETTINGS.fps, SETTINGS.width, SETTINGS.height)
        up = np.array(camera.rotation).T @ np.array([0.0, 0.0, 1.0])
        for row in range(SETTINGS.height - 20, SETTINGS.height, 3):
            for col in range(0, SETTINGS.width, 3):
                hit, _, normal, obj = _ray(blender_scene, col + 0.5, row + 0.5)
                if hit and obj.name == FLOOR_NAME and normal.z > 0.999:
                    cosine = float(np.clip(normals[frame - 1, row, col] @ up, -1.0, 1.0))
                    angles.append(math.degrees(math.acos(cosine)))
    assert len(angles) > 50
    assert np.median(angles) < 5.0, f"floor normals lean {np.median(angles):.1f} degrees (bump mapping leans a few)"


def test_segmentation_covers_the_objects_in_frame_inside_their_boxes(rendered: Rendered):
    plan = plan_scene(rendered.combination, SETTINGS.clip())
    cameras = ground_truth.camera_frames(plan, SETTINGS.frames, SETTINGS.fps, SETTINGS.width, SETTINGS.height)
    tracks = ground_truth.object_frames(plan, cameras)
    rows, cols = np.mgrid[0 : SETTINGS.height, 0 : SETTINGS.width]
    visible = rendered.result.visible
    assert [v["id"] for v in visible] == [1, 2]
    for frame, ids in enumerate(rendered.arrays["segmentation"]):
        in_frame = {i + 1 for i, track in enumerate(tracks) if track[frame].box is not None}
        assert set(np.unique(ids)) - {0} == in_frame, f"frame {frame + 1}: ids are the objects in frame"
        for object_id in in_frame:
            box = tracks[object_id - 1][frame].box
            assert box is not None
            mask = ids == object_id
            # The pixel filter spreads a pass sample up to a pixel past the pixel itself.
            assert np.all(cols[mask] + 0.5 >= box[0] - 1) and np.all(cols[mask] + 0.5 <= box[2] + 1)
            assert np.all(rows[mask] + 0.5 >= box[1] - 1) and np.all(rows[mask] + 0.5 <= box[3] + 1)
            silhouette = visible[object_id - 1]["box"][frame]
            assert silhouette == [
                float(cols[mask].min()),
                float(rows[mask].min()),
                float(cols[mask].max() + 1),
                float(rows[mask].max() + 1),
            ]
            assert visible[object_id - 1]["pixels"][frame] == int(mask.sum())


def test_flow_of_the_still_scene_under_a_pan_is_the_cameras_rotation(rendered: Rendered, blender_scene):  # type: ignore[no-untyped-def]
    """Floor and sky stand still while the camera pans: each pixel moves as the rotation between the two
    cameras (Blender's own matrices) moves its ray, whatever its depth. The walker adds its own motion."""
    from bpy_extras.object_utils import world_to_camera_view

    w, h = SETTINGS.width, SETTINGS.height
    v, u = np.mgrid[0:h, 0:w] + 0.5
    stored = rendered.arrays["flow"]
    flows = np.where(stored == FLOW_NONE, np.nan, stored / FLOW_SCALE)
    camera = blender_scene.camera
    walker = next(o for o in blender_scene.objects if o.name.startswith("object_0_"))
    for frame in range(1, SETTINGS.frames):
        blender_scene.frame_set(frame)
        before, focal = camera.matrix_world.to_3x3().copy(), camera.data.lens / camera.data.sensor_width * w
        start = world_to_camera_view(blender_scene, camera, walker.matrix_world.translation)
        blender_scene.frame_set(frame + 1)
        after, focal_after = camera.matrix_world.to_3x3().copy(), camera.data.lens / camera.data.sensor_width * w
        end = world_to_camera_view(blender_scene, camera, walker.matrix_world.translation)
        assert before != after, "the camera pans"
        rays = np.stack([(u - w / 2) / focal, -(v - h / 2) / focal, -np.ones_like(u)], axis=-1)
        seen = rays @ np.array(before).T @ np.array(after)
        expected = np.stack(
            [
                w / 2 + focal_after * seen[..., 0] / -seen[..., 2] - u,
                h / 2 - focal_after * seen[..., 1] / -seen[..., 2] - v,
            ],
            axis=-1,
        )
        ids = rendered.arrays["segmentation"][frame - 1]
        still = ids == 0
        assert still.sum() > 0.5 * still.size
        error = np.abs(flows[frame - 1][still] - expected[still])
        assert error.max() < 0.01, f"frame {frame}: {error.max():.4f} px off the rotation (steps of 1/64 px)"
        assert np.abs(expected[..., 0]).mean() > 0.5, "the pan moves the image"
        walked = ((end.x - start.x) * w, (start.y - end.y) * h)
        median = np.median(flows[frame - 1][ids == 1], axis=0)
        assert median == pytest.approx(walked, abs=0.15), f"frame {frame}: the walker's flow is its own motion"
        assert abs(walked[0] - expected[ids == 1][:, 0].mean()) > 0.5, "the walker moves unlike the still scene"
    assert np.isnan(flows[-1]).all(), "the last frame has no next frame"


def _readme_loaders() -> list[str]:
    """The loader snippets of the README's ground-truth section, as users copy them."""
    section = (REPO / "README.md").read_text().split("### Ground truth", 1)[1].split("\n### ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_render_with_passes_acceptance(rendered: Rendered, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    out = tmp_path / "OUT"
    result = run_simian(
        "render",
        "--index",
        "0",
        "--seed",
        "7",
        "--width",
        "160",
        "--height",
        "96",
        "--frames",
        "12",
        "--samples",
        "4",
        "--passes",
        "depth,segmentation",
        "-o",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "00000000.camera.txt",
        "00000000.depth.npz",
        "00000000.json",
        "00000000.mp4",
        "00000000.segmentation.npz",
    ]
    sidecar = json.loads((out / "00000000.json").read_text())
    recipe = combination_for(7, 0)
    assert len(sidecar["camera"]["intrinsics"]) == len(sidecar["camera"]["camera_to_world"]) == 12
    assert sidecar["camera"]["convention"] == "opencv" and sidecar["camera"]["width"] == 160
    assert [o["name"] for o in sidecar["objects"]] == [o.name for o in recipe.objects]
    for obj in sidecar["objects"]:
        assert len(obj["box"]) == len(obj["in_frame"]) == len(obj["position"]) == 12
        assert all(box is not None and 0 <= box[0] < box[2] <= 160 and 0 <= box[1] < box[3] <= 96 for box in obj["box"])
    assert len(sidecar["visible_objects"]) == len(recipe.objects)
    assert sidecar["camera_file"] == "00000000.camera.txt"
    assert sidecar["passes"] == {
        "depth": "00000000.depth.npz",
        "normal": None,
        "segmentation": "00000000.segmentation.npz",
        "flow": None,
    }
    assert len((out / "00000000.camera.txt").read_text().splitlines()) == 1 + 12

    monkeypatch.chdir(tmp_path)
    loaders = _readme_loaders()
    assert len(loaders) == 2
    names: dict[str, object] = {}
    exec(loaders[0], names)  # noqa: S102 (the README's own snippet, run as a user would)
    assert len(names["video"]) == 12  # type: ignore[arg-type]
    assert names["depth"].shape == names["ids"].shape == (12, 96, 160)  # type: ignore[attr-defined]
    assert names["depth"].dtype == np.float32 and len(names["K"]) == 12  # type: ignore[attr-defined,arg-type]
    assert names["camera_to_world"].shape == (12, 4, 4)  # type: ignore[attr-defined]
    assert names["first"].any()  # type: ignore[attr-defined]
    for name in ("normal", "flow"):  # the other passes, from the render above
        shutil.copyfile(rendered.result.passes[name], out / f"00000000.{name}.npz")
    exec(loaders[1], names)  # noqa: S102
    assert names["normal"].shape == (SETTINGS.frames, 72, 128, 3)  # type: ignore[attr-defined]
    assert names["flow"].shape == (SETTINGS.frames, 72, 128, 2)  # type: ignore[attr-defined]
    assert names["cameras"].shape == (12, 19)  # type: ignore[attr-defined]


def test_a_pass_the_engine_cannot_render_is_refused_before_rendering(tmp_path: Path):
    out = tmp_path / "OUT"
    result = run_simian(
        "render", "--index", "0", "--seed", "7", "--engine", "eevee", "--passes", "segmentation", "-o", str(out)
    )
    assert result.returncode == 2
    assert "passes: the eevee engine does not render segmentation" in result.stderr
    assert "use engine cycles" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists(), "refused before anything was written"
    result = run_simian("render", "--index", "0", "--seed", "7", "--passes", "depth,albedo", "-o", str(out))
    assert result.returncode == 2 and "'albedo' is not one of depth, normal, segmentation, flow" in result.stderr


@pytest.mark.parametrize(
    ("engine", "passes"),
    # EEVEE on software OpenGL takes over a minute on 2 cores: it runs with `make test-slow`.
    [pytest.param("eevee", ("depth", "normal"), marks=pytest.mark.slow), ("workbench", ("depth",))],
)
def test_other_engines_render_their_passes_like_cycles(
    rendered: Rendered, engine: str, passes: tuple[str, ...], tmp_path: Path
):
    # The same clip as Cycles' (the shot is framed for the clip), so the same scene through the same camera.
    settings = SETTINGS.model_copy(update={"engine": engine, "samples": 1, "passes": passes})
    with Renderer(cache_dir=tmp_path / "cache") as renderer:
        result = renderer.render(rendered.combination, settings, tmp_path)
    assert sorted(result.passes) == sorted(passes)
    video = decode_frames(result.media)
    assert len(video) == SETTINGS.frames and video[0].std() > 3, f"{engine} renders a video that shows the scene"
    depth = load(result.passes["depth"], "depth").astype(np.float64)
    cycles = rendered.arrays["depth"].astype(np.float64)
    both = np.isfinite(depth) & np.isfinite(cycles)
    assert both.mean() > 0.5 and (np.isinf(depth) == np.isinf(cycles)).mean() > 0.97
    assert np.median(np.abs(depth[both] - cycles[both]) / cycles[both]) < 0.01, f"{engine} depth is Cycles' depth"
    if "normal" in passes:
        normal = load(result.passes["normal"], "normal").astype(np.float64) / 127
        cosine = np.sum(normal * rendered.arrays["normal"].astype(np.float64) / 127, axis=-1)[both]
        assert np.median(np.degrees(np.arccos(np.clip(cosine, -1, 1)))) < 5, f"{engine} normals are in camera axes"
