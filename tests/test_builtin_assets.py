"""The built-in catalogue is implemented in Blender: every object, sky and floor builds, is
well-formed, and renders as something visible and distinct from its siblings.

Renders are tiny (64x48, 4 Cycles samples on the CPU) and cached per module, so the whole file
runs in well under a minute on two cores.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from simian.assets.catalog import BUILTIN_BACKGROUNDS, BUILTIN_FLOORS, BUILTIN_OBJECTS

bpy = pytest.importorskip("bpy")
import bmesh  # noqa: E402  (bmesh and mathutils come with bpy)
from mathutils import Vector  # noqa: E402

from simian.render.blender import builtin_floors, builtin_objects, builtin_world  # noqa: E402
from simian.scene.plan import Backdrop  # noqa: E402

pytestmark = pytest.mark.blender

WIDTH, HEIGHT = 64, 48
OBJECT_IDS = [ref.split(":", 1)[1] for ref in BUILTIN_OBJECTS]
BACKGROUND_IDS = [ref.split(":", 1)[1] for ref in BUILTIN_BACKGROUNDS]
FLOOR_IDS = [ref.split(":", 1)[1] for ref in BUILTIN_FLOORS]

# A part of each of these objects that must face the front (-Y), keyed by material name.
FRONT_FEATURES = {
    "robot": "simian_robot_eye_glow",
    "house": "simian_door_brown",
    "snowman": "simian_carrot",
    "car": "simian_headlight",
    "rocket": "simian_porthole_glass",
}


# ------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------


def fresh_scene() -> bpy.types.Scene:
    """An empty factory scene set up for a tiny, deterministic Cycles CPU render."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = 4
    scene.cycles.use_denoising = False
    scene.cycles.seed = 0
    scene.render.resolution_x, scene.render.resolution_y = WIDTH, HEIGHT
    scene.render.resolution_percentage = 100
    scene.view_settings.view_transform = "Standard"
    return scene


def neutral_lighting(scene: bpy.types.Scene) -> None:
    """A plain grey world plus a sun, for judging objects and floors on their own."""
    world = bpy.data.worlds.new("test_world")
    if world.node_tree is None:
        world.use_nodes = True
    background = next(n for n in world.node_tree.nodes if n.type == "BACKGROUND")
    background.inputs["Color"].default_value = (0.3, 0.3, 0.3, 1.0)
    scene.world = world
    sun = bpy.data.objects.new("test_sun", bpy.data.lights.new("test_sun", "SUN"))
    sun.data.energy = 3.0
    sun.rotation_euler = (math.radians(40), 0.0, math.radians(-30))
    scene.collection.objects.link(sun)


def add_camera(scene: bpy.types.Scene, target: tuple[float, float, float], offset: tuple[float, float, float]):
    """A 35 mm camera at target + offset, looking at target."""
    camera = bpy.data.objects.new("test_camera", bpy.data.cameras.new("test_camera"))
    camera.location = Vector(target) + Vector(offset)
    camera.rotation_euler = (-Vector(offset)).to_track_quat("-Z", "Y").to_euler()
    scene.collection.objects.link(camera)
    scene.camera = camera


def render(scene: bpy.types.Scene, path: Path) -> np.ndarray:
    """Render a still to `path` and return its RGB pixels as floats in [0, 1], shape (H, W, 3)."""
    scene.render.filepath = str(path)
    bpy.ops.render.render(write_still=True)
    image = bpy.data.images.load(str(path))
    try:
        pixels = np.empty(WIDTH * HEIGHT * 4, dtype=np.float32)
        image.pixels.foreach_get(pixels)
    finally:
        bpy.data.images.remove(image)
    return pixels.reshape(HEIGHT, WIDTH, 4)[..., :3]


def difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).mean())


def assert_all_distinct(images: dict[str, np.ndarray], threshold: float) -> None:
    too_close = [
        (x, y, round(difference(images[x], images[y]), 4))
        for x, y in itertools.combinations(images, 2)
        if difference(images[x], images[y]) < threshold
    ]
    assert not too_close, f"renders too similar (mean abs difference < {threshold}): {too_close}"


def object_scene(asset_id: str | None) -> bpy.types.Scene:
    """Neutral lighting, the object (if any) scaled to 1 m, seen from the front-left and above."""
    scene = fresh_scene()
    neutral_lighting(scene)
    height = 0.5
    if asset_id is not None:
        obj = builtin_objects.build_object(asset_id)
        factor = 1.0 / max(obj.dimensions)
        obj.scale = (factor,) * 3
        height = obj.dimensions.z * factor
    add_camera(scene, (0.0, 0.0, height / 2), (-0.9, -1.9, 0.7))
    return scene


@pytest.fixture(scope="module")
def render_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("builtin_renders")


def render_all(ids: list[str], make_scene: Callable[[str], bpy.types.Scene], folder: Path):
    return {asset_id: render(make_scene(asset_id), folder / f"{asset_id}.png") for asset_id in ids}


@pytest.fixture(scope="module")
def object_renders(render_dir: Path) -> dict[str, np.ndarray]:
    return render_all(OBJECT_IDS, object_scene, render_dir)


@pytest.fixture(scope="module")
def empty_render(render_dir: Path) -> np.ndarray:
    return render(object_scene(None), render_dir / "empty.png")


def background_scene(asset_id: str) -> bpy.types.Scene:
    """The sky with a white sphere on no floor, seen at eye level so the horizon is in view."""
    scene = fresh_scene()
    builtin_world.apply_background(scene, asset_id)
    mesh = bpy.data.meshes.new("probe")
    bm = bmesh.new()
    bmesh.ops.create_uvsphere(bm, u_segments=16, v_segments=8, radius=0.5)
    bm.to_mesh(mesh)
    bm.free()
    probe = bpy.data.objects.new("probe", mesh)
    scene.collection.objects.link(probe)
    add_camera(scene, (0.0, 0.0, 0.3), (0.0, -3.0, 0.0))
    if asset_id == builtin_world.STUDIO_ID:
        backdrop = Backdrop((0.0, 0.0, 0.0), 2.5, cove_radius=0.8, height=8.0, facing_deg=90.0, half_arc_deg=150.0)
        builtin_world.add_studio_set(scene, backdrop, (0.0, -3.0, 0.3))
    return scene


@pytest.fixture(scope="module")
def background_renders(render_dir: Path) -> dict[str, np.ndarray]:
    return render_all(BACKGROUND_IDS, background_scene, render_dir)


def floor_scene(asset_id: str, uv_scale=(1.0, 1.0), rotation: float = 0.0) -> bpy.types.Scene:
    """The floor under neutral lighting, looked down on at 45 degrees from 2 m away."""
    scene = fresh_scene()
    neutral_lighting(scene)
    builtin_floors.build_floor(builtin_floors.make_floor_material(asset_id, uv_scale, rotation), 20.0)
    add_camera(scene, (0.0, 0.0, 0.0), (0.0, -1.4, 1.4))
    return scene


@pytest.fixture(scope="module")
def floor_renders(render_dir: Path) -> dict[str, np.ndarray]:
    return render_all(FLOOR_IDS, floor_scene, render_dir)


# ------------------------------------------------------------------------------------------
# Catalogue coverage and errors
# ------------------------------------------------------------------------------------------


def test_every_catalogue_entry_has_a_builder_and_vice_versa() -> None:
    assert set(builtin_objects.OBJECT_BUILDERS) == set(OBJECT_IDS)
    assert set(builtin_world.SKIES) | {builtin_world.STUDIO_ID} == set(BACKGROUND_IDS)
    assert set(builtin_floors.FLOORS) == set(FLOOR_IDS)


def test_unknown_ids_raise_key_error_listing_valid_ones() -> None:
    fresh_scene()
    with pytest.raises(KeyError, match="unicorn.*chair"):
        builtin_objects.build_object("unicorn")
    with pytest.raises(KeyError, match="mars.*sunset"):
        builtin_world.apply_background(bpy.context.scene, "mars")
    with pytest.raises(KeyError, match="lava.*marble"):
        builtin_floors.make_floor_material("lava", (1.0, 1.0), 0.0)


# ------------------------------------------------------------------------------------------
# Objects
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("asset_id", OBJECT_IDS)
def test_object_is_well_formed(asset_id: str) -> None:
    scene = fresh_scene()
    obj = builtin_objects.build_object(asset_id)
    mesh = obj.data
    assert obj.type == "MESH" and obj.name in scene.collection.objects
    corners = [Vector(c) for c in obj.bound_box]
    lo = Vector(min(c[i] for c in corners) for i in range(3))
    hi = Vector(max(c[i] for c in corners) for i in range(3))
    size = max(hi - lo)
    assert abs(lo.z) < 1e-5 * size, "origin must be at the bottom"
    assert abs(lo.x + hi.x) < 1e-5 * size and abs(lo.y + hi.y) < 1e-5 * size, "must be centred on x/y"
    assert min(hi - lo) > 0.05 * size, "should have volume in every direction"
    assert len(mesh.materials) >= 2 and len(mesh.vertices) >= 80, "should be more than a primitive"
    indices = np.empty(len(mesh.polygons), dtype=np.int32)
    mesh.polygons.foreach_get("material_index", indices)
    assert set(indices.tolist()) == set(range(len(mesh.materials))), "every slot used, none missing"
    for mat in mesh.materials:
        bsdf = next(n for n in mat.node_tree.nodes if n.type == "BSDF_PRINCIPLED")
        base = bsdf.inputs["Base Color"].default_value
        assert tuple(mat.diffuse_color)[:3] == pytest.approx(tuple(base)[:3]), f"{mat.name}: Workbench colour"


@pytest.mark.parametrize("asset_id", sorted(FRONT_FEATURES))
def test_object_faces_minus_y(asset_id: str) -> None:
    fresh_scene()
    mesh = builtin_objects.build_object(asset_id).data
    slot = next(i for i, m in enumerate(mesh.materials) if m.name == FRONT_FEATURES[asset_id])
    ys = [p.center.y for p in mesh.polygons if p.material_index == slot]
    assert ys and sum(ys) / len(ys) < 0.0


def test_objects_stay_light_and_reuse_materials() -> None:
    """Built per scene, so each object is a few hundred faces without modifiers (a budget, not a stopwatch:
    timings belong in bench/)."""
    fresh_scene()
    heavy = {}
    for asset_id in OBJECT_IDS:
        obj = builtin_objects.build_object(asset_id)
        if len(obj.data.vertices) > 2000 or obj.modifiers:
            heavy[asset_id] = (len(obj.data.vertices), [m.type for m in obj.modifiers])
    assert heavy == {}, heavy
    count = len(bpy.data.materials)
    builtin_objects.build_object("chair")
    assert len(bpy.data.materials) == count, "materials are reused by name"


def test_robot_eyes_glow() -> None:
    fresh_scene()
    mesh = builtin_objects.build_object("robot").data
    strengths = [
        next(n for n in m.node_tree.nodes if n.type == "BSDF_PRINCIPLED").inputs["Emission Strength"].default_value
        for m in mesh.materials
    ]
    assert max(strengths) > 1.0


def test_objects_render_visible_and_distinct(object_renders: dict[str, np.ndarray], empty_render) -> None:
    for asset_id, image in object_renders.items():
        changed = (np.abs(image - empty_render).max(axis=-1) > 0.05).mean()
        assert changed > 0.05, f"{asset_id} is barely visible ({changed:.1%} of pixels changed)"
    assert_all_distinct(object_renders, threshold=0.02)


# ------------------------------------------------------------------------------------------
# Backgrounds
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("asset_id", sorted(builtin_world.SKIES))
def test_sky_sets_world_and_one_key_light(asset_id: str) -> None:
    scene = fresh_scene()
    builtin_world.apply_background(scene, asset_id)
    builtin_world.apply_background(scene, asset_id)  # again: replaces, does not add
    suns = [o for o in scene.objects if o.type == "LIGHT"]
    assert len(suns) == 1 and suns[0].data.type == "SUN" and suns[0].data.energy > 0
    assert scene.world is not None and scene.world.node_tree is not None
    assert any(n.type == "BACKGROUND" for n in scene.world.node_tree.nodes)
    assert max(scene.world.color) > 0.0


def test_studio_is_a_set_of_backdrop_and_softboxes() -> None:
    scene = fresh_scene()
    builtin_world.apply_background(scene, "overcast")
    builtin_world.apply_background(scene, builtin_world.STUDIO_ID)  # replaces the sky and its sun
    assert not [o for o in scene.objects if o.type == "LIGHT"]
    backdrop = Backdrop((0.0, 0.0, 0.0), radius=4.0, cove_radius=1.0, height=12.0, facing_deg=90.0, half_arc_deg=110.0)
    builtin_world.add_studio_set(scene, backdrop, (0.0, -6.0, 2.0))
    lights = [o for o in scene.objects if o.type == "LIGHT"]
    assert len(lights) == 3 and all(o.data.type == "AREA" and o.data.energy > 0 for o in lights)
    paper = scene.objects[builtin_world.BACKDROP_NAME]
    bpy.context.view_layer.update()
    corners = [paper.matrix_world @ Vector(c) for c in paper.bound_box]
    assert min(c.z for c in corners) == pytest.approx(0.0, abs=0.01)  # coved into the floor
    assert max(c.z for c in corners) == pytest.approx(12.0)
    assert max(c.y for c in corners) == pytest.approx(4.0, abs=0.01)  # behind the objects, away from the camera
    assert min(c.y for c in corners) < 0, "the arc wraps around the sides"


def test_backgrounds_render_visible_and_distinct(background_renders: dict[str, np.ndarray]) -> None:
    for asset_id, image in background_renders.items():
        assert image.max() > 0.05, f"{asset_id} renders black"
        sky, ground = image[-8:].mean(), image[:8].mean()  # row 0 is the bottom of the image
        assert abs(sky - ground) > 0.005, f"{asset_id}: sky and ground look the same"
    assert_all_distinct(background_renders, threshold=0.06)
    assert background_renders["night"].mean() < background_renders["clear_sky"].mean() / 3
    sunset = background_renders["sunset"][-12:].reshape(-1, 3).mean(axis=0)
    assert sunset[0] > sunset[2], "the sunset sky should be warm"
    clear = background_renders["clear_sky"][-12:].reshape(-1, 3).mean(axis=0)
    assert clear[2] > clear[0], "the clear sky should be blue"
    paper = background_renders[builtin_world.STUDIO_ID][-16:].reshape(-1, 3).mean(axis=0)
    assert paper.min() > 0.2 and paper.max() - paper.min() < 0.05, f"the studio backdrop is lit grey paper: {paper}"


# ------------------------------------------------------------------------------------------
# Floors
# ------------------------------------------------------------------------------------------


def test_floor_plane_is_metric() -> None:
    fresh_scene()
    floor = builtin_floors.build_floor(builtin_floors.make_floor_material("grass", (1.0, 1.0), 0.0), 12.0)
    assert tuple(floor.dimensions) == pytest.approx((12.0, 12.0, 0.0))
    uv = floor.data.uv_layers.active.data
    span = max(d.uv[0] for d in uv) - min(d.uv[0] for d in uv)
    assert span == pytest.approx(12.0), "one UV unit per metre"
    assert floor.data.materials[0].name.startswith("simian_floor_grass")


def test_floors_render_distinct(floor_renders: dict[str, np.ndarray]) -> None:
    for asset_id, image in floor_renders.items():
        assert image.mean() > 0.02, f"{asset_id} renders black"
    assert_all_distinct(floor_renders, threshold=0.04)


def test_floor_uv_scale_and_rotation_change_the_pattern(floor_renders: dict[str, np.ndarray], render_dir: Path) -> None:
    base = floor_renders["checker_tiles"]
    scaled = render(floor_scene("checker_tiles", (2.0, 2.0)), render_dir / "checker_scaled.png")
    rotated = render(floor_scene("checker_tiles", rotation=45.0), render_dir / "checker_rotated.png")
    assert difference(base, scaled) > 0.05
    assert difference(base, rotated) > 0.05
