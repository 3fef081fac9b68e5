"""Procedural built-in backgrounds (the `builtin:` background catalogue) and their lights.

Each sky is a world shader: a colour ramp over the view direction's height (ground below the
horizon, horizon colour, zenith colour), plus a glow around the sun or moon and, at night, stars.
The world both shows behind the objects and lights them; a SUN light with matching colour,
direction and softness adds the key light and shadows, since a procedural gradient alone gives
flat, shadowless lighting.

The photo studio is a set instead of a sky: a dim studio world, a seamless paper backdrop coved
into the floor behind the objects, and softboxes (large area lights) for key, fill and backdrop.
Where the backdrop stands depends on the shot, so the set is built once the camera is planned.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import bmesh
import bpy
from mathutils import Vector

from simian.scene.plan import Backdrop

RGB = tuple[float, float, float]

SUN_NAME = "simian_sky_sun"
STUDIO_ID = "studio"
STUDIO_REF = f"builtin:{STUDIO_ID}"
BACKDROP_NAME = "simian_studio_backdrop"
#: Light reaching the subject from each softbox, W/m^2 (a sun of the same irradiance looks alike).
KEY_IRRADIANCE = 3.2
FILL_IRRADIANCE = 1.1
BACKDROP_IRRADIANCE = 1.6
PAPER = (0.72, 0.72, 0.7)  # seamless backdrop paper, linear RGB


@dataclass(frozen=True)
class _Sky:
    """Parameters of one procedural sky and its key light (colours are linear RGB)."""

    zenith: RGB
    sky_mid: RGB  # colour a third of the way up
    horizon: RGB
    ground: RGB
    strength: float  # world background strength
    sun_color: RGB
    sun_strength: float  # irradiance of the SUN light, W/m^2
    sun_elevation: float  # degrees above the horizon
    sun_azimuth: float  # degrees; 0 = towards -Y (the side objects face), 90 = towards +X
    sun_angle: float  # angular diameter in degrees: larger = softer shadows
    glow: RGB = (0.0, 0.0, 0.0)  # halo around the sun/moon, added to the sky
    glow_power: float = 8.0  # sharpness of the halo
    disc: RGB = (0.0, 0.0, 0.0)  # the visible sun/moon disc
    disc_size: float = 2.0  # degrees
    stars: float = 0.0  # brightness of the star field (0 = none)


SKIES: dict[str, _Sky] = {
    "clear_sky": _Sky(
        zenith=(0.02, 0.1, 0.6),
        sky_mid=(0.1, 0.3, 0.85),
        horizon=(0.45, 0.65, 0.95),
        ground=(0.22, 0.2, 0.18),
        strength=1.0,
        sun_color=(1.0, 0.96, 0.9),
        sun_strength=4.0,
        sun_elevation=55.0,
        sun_azimuth=-35.0,
        sun_angle=0.6,
        glow=(0.5, 0.45, 0.35),
        glow_power=24.0,
    ),
    "sunset": _Sky(
        zenith=(0.1, 0.07, 0.22),
        sky_mid=(0.75, 0.25, 0.08),
        horizon=(1.0, 0.38, 0.04),
        ground=(0.12, 0.06, 0.04),
        strength=1.0,
        sun_color=(1.0, 0.45, 0.15),
        sun_strength=3.0,
        sun_elevation=6.0,
        sun_azimuth=125.0,
        sun_angle=1.0,
        glow=(1.6, 0.6, 0.1),
        glow_power=6.0,
        disc=(30.0, 12.0, 3.0),
        disc_size=2.5,
    ),
    "overcast": _Sky(
        zenith=(0.5, 0.52, 0.56),
        sky_mid=(0.62, 0.63, 0.66),
        horizon=(0.75, 0.75, 0.76),
        ground=(0.2, 0.2, 0.2),
        strength=1.2,
        sun_color=(0.9, 0.92, 0.95),
        sun_strength=0.8,
        sun_elevation=60.0,
        sun_azimuth=-20.0,
        sun_angle=40.0,
    ),
    "night": _Sky(
        zenith=(0.002, 0.004, 0.02),
        sky_mid=(0.006, 0.012, 0.05),
        horizon=(0.02, 0.04, 0.1),
        ground=(0.005, 0.006, 0.01),
        strength=1.0,
        sun_color=(0.6, 0.72, 1.0),
        sun_strength=0.6,
        sun_elevation=35.0,
        sun_azimuth=30.0,
        sun_angle=0.6,
        glow=(0.08, 0.1, 0.16),
        glow_power=40.0,
        disc=(4.0, 4.2, 4.5),
        disc_size=3.0,
        stars=3.0,
    ),
}


def _sun_direction(sky: _Sky) -> Vector:
    """Unit vector from the scene towards the sun."""
    el, az = math.radians(sky.sun_elevation), math.radians(sky.sun_azimuth)
    return Vector((math.cos(el) * math.sin(az), -math.cos(el) * math.cos(az), math.sin(el)))


def _build_world(name: str, sky: _Sky) -> bpy.types.World:
    """A world whose background colour depends on the view direction."""
    world = bpy.data.worlds.new(name)
    if world.node_tree is None:  # Blender < 5 creates node trees only on request
        world.use_nodes = True
    nt = world.node_tree
    nt.nodes.clear()
    new, link = nt.nodes.new, nt.links.new

    # In world shaders, Texture Coordinate > Generated is the view direction in world space.
    coords = new("ShaderNodeTexCoord")
    direction = new("ShaderNodeVectorMath")
    direction.operation = "NORMALIZE"
    link(coords.outputs["Generated"], direction.inputs[0])
    separate = new("ShaderNodeSeparateXYZ")
    link(direction.outputs["Vector"], separate.inputs["Vector"])
    height = new("ShaderNodeMapRange")  # z in [-1, 1] -> [0, 1], horizon at 0.5
    height.inputs["From Min"].default_value = -1.0
    link(separate.outputs["Z"], height.inputs["Value"])
    ramp = new("ShaderNodeValToRGB")
    elements = ramp.color_ramp.elements
    elements[0].position, elements[0].color = 0.0, (*(c * 0.6 for c in sky.ground), 1.0)
    elements[1].position, elements[1].color = 1.0, (*sky.zenith, 1.0)
    for position, color in ((0.49, sky.ground), (0.5, sky.horizon), (0.62, sky.sky_mid)):
        element = elements.new(position)
        element.color = (*color, 1.0)
    link(height.outputs["Result"], ramp.inputs["Factor"])
    color = ramp.outputs["Color"]

    sun = _sun_direction(sky)
    if any(sky.glow) or any(sky.disc):
        dot = new("ShaderNodeVectorMath")
        dot.operation = "DOT_PRODUCT"
        dot.inputs[1].default_value = sun
        link(direction.outputs["Vector"], dot.inputs[0])
        cosine = new("ShaderNodeMath")
        cosine.operation = "MAXIMUM"
        cosine.inputs[1].default_value = 0.0
        link(dot.outputs["Value"], cosine.inputs[0])
        if any(sky.glow):
            halo = new("ShaderNodeMath")
            halo.operation = "POWER"
            halo.inputs[1].default_value = sky.glow_power
            link(cosine.outputs["Value"], halo.inputs[0])
            color = _add_scaled(nt, color, halo.outputs["Value"], sky.glow)
        if any(sky.disc):
            inside = new("ShaderNodeMath")
            inside.operation = "GREATER_THAN"
            inside.inputs[1].default_value = math.cos(math.radians(sky.disc_size / 2))
            link(cosine.outputs["Value"], inside.inputs[0])
            color = _add_scaled(nt, color, _camera_only(nt, inside.outputs["Value"]), sky.disc)
    if sky.stars > 0.0:
        cells = new("ShaderNodeTexVoronoi")  # one star per cell, at the cell's feature point
        cells.inputs["Scale"].default_value = 120.0
        link(direction.outputs["Vector"], cells.inputs["Vector"])
        star = new("ShaderNodeMath")
        star.operation = "LESS_THAN"
        star.inputs[1].default_value = 0.035
        link(cells.outputs["Distance"], star.inputs[0])
        above = new("ShaderNodeMath")  # no stars below the horizon
        above.operation = "GREATER_THAN"
        above.inputs[1].default_value = 0.5
        link(height.outputs["Result"], above.inputs[0])
        visible = new("ShaderNodeMath")
        visible.operation = "MULTIPLY"
        link(star.outputs["Value"], visible.inputs[0])
        link(above.outputs["Value"], visible.inputs[1])
        color = _add_scaled(nt, color, _camera_only(nt, visible.outputs["Value"]), (sky.stars,) * 3)

    background = new("ShaderNodeBackground")
    background.inputs["Strength"].default_value = sky.strength
    link(color, background.inputs["Color"])
    output = new("ShaderNodeOutputWorld")
    link(background.outputs["Background"], output.inputs["Surface"])
    # The sky is smooth (the disc and stars are camera-only), so a coarse light-sampling map is
    # enough; the default 1024 map costs seconds per render on a CPU to evaluate this shader.
    world.cycles.sampling_method = "MANUAL"
    world.cycles.sample_map_resolution = 256
    # Workbench ignores node trees and shows world.color.
    world.color = tuple((h + m) / 2 for h, m in zip(sky.horizon, sky.sky_mid, strict=True))
    return world


def _camera_only(nt: bpy.types.NodeTree, value: bpy.types.NodeSocket) -> bpy.types.NodeSocket:
    """`value` for camera rays, 0 for lighting: tiny bright spots (stars, sun disc) would only
    add fireflies to the lighting, which the SUN light already provides."""
    path = nt.nodes.new("ShaderNodeLightPath")
    masked = nt.nodes.new("ShaderNodeMath")
    masked.operation = "MULTIPLY"
    nt.links.new(value, masked.inputs[0])
    nt.links.new(path.outputs["Is Camera Ray"], masked.inputs[1])
    return masked.outputs["Value"]


def _add_scaled(
    nt: bpy.types.NodeTree, color: bpy.types.NodeSocket, weight: bpy.types.NodeSocket, tint: RGB
) -> bpy.types.NodeSocket:
    """color + weight * tint, as vector maths (colours convert to vectors implicitly)."""
    scaled = nt.nodes.new("ShaderNodeVectorMath")
    scaled.operation = "MULTIPLY"
    scaled.inputs[1].default_value = tint
    nt.links.new(weight, scaled.inputs[0])
    total = nt.nodes.new("ShaderNodeVectorMath")
    total.operation = "ADD"
    nt.links.new(color, total.inputs[0])
    nt.links.new(scaled.outputs["Vector"], total.inputs[1])
    return total.outputs["Vector"]


def _place_sun(scene: bpy.types.Scene, sky: _Sky) -> bpy.types.Object:
    """Replace the scene's sky key light with one matching `sky`."""
    old = scene.objects.get(SUN_NAME)
    if old is not None:
        data = old.data
        bpy.data.objects.remove(old)
        if data is not None and data.users == 0:
            bpy.data.lights.remove(data)
    light = bpy.data.lights.new(SUN_NAME, type="SUN")
    light.color = sky.sun_color
    light.energy = sky.sun_strength
    light.angle = math.radians(sky.sun_angle)
    sun = bpy.data.objects.new(SUN_NAME, light)
    # A sun light shines along its local -Z axis: point that axis away from the sun.
    sun.rotation_euler = (-_sun_direction(sky)).to_track_quat("-Z", "Y").to_euler()
    sun.location = _sun_direction(sky) * 10.0  # irrelevant for a sun; keeps the viewport readable
    scene.collection.objects.link(sun)
    return sun


def apply_background(scene: bpy.types.Scene, asset_id: str) -> None:
    """Give `scene` the built-in sky `asset_id` (e.g. "sunset") and its key light, or the studio's
    dim world (its backdrop and softboxes follow with `add_studio_set`).

    Calling it again replaces the previous sky's light. Raises KeyError for unknown ids.
    """
    if asset_id == STUDIO_ID:
        scene.world = _studio_world()
        old = scene.objects.get(SUN_NAME)
        if old is not None:
            bpy.data.objects.remove(old)
        return
    sky = SKIES.get(asset_id)
    if sky is None:
        known = ", ".join(sorted([*SKIES, STUDIO_ID]))
        raise KeyError(f"unknown built-in background {asset_id!r}; choose one of: {known}")
    scene.world = _build_world(f"simian_sky_{asset_id}", sky)
    _place_sun(scene, sky)


def _studio_world() -> bpy.types.World:
    """The dark room around the set: a little neutral bounce light, nothing to see."""
    world = bpy.data.worlds.new(f"simian_sky_{STUDIO_ID}")
    if world.node_tree is None:
        world.use_nodes = True
    nt = world.node_tree
    nt.nodes.clear()
    background = nt.nodes.new("ShaderNodeBackground")
    background.inputs["Color"].default_value = (0.03, 0.03, 0.032, 1.0)
    background.inputs["Strength"].default_value = 1.0
    output = nt.nodes.new("ShaderNodeOutputWorld")
    nt.links.new(background.outputs["Background"], output.inputs["Surface"])
    world.color = (0.03, 0.03, 0.032)
    return world


def _backdrop_mesh(
    scene: bpy.types.Scene, backdrop: Backdrop, segments: int = 64, cove_steps: int = 10
) -> bpy.types.Object:
    """An arc of paper: flat on the floor at the cove's foot, curving up into a vertical wall."""
    profile = [(backdrop.radius - backdrop.cove_radius, 0.002)]
    for k in range(1, cove_steps + 1):
        a = math.radians(90.0 * k / cove_steps)
        foot = backdrop.radius - backdrop.cove_radius
        profile.append((foot + backdrop.cove_radius * math.sin(a), backdrop.cove_radius * (1 - math.cos(a))))
    profile.append((backdrop.radius, backdrop.height))
    bm = bmesh.new()
    rows = []
    for s in range(segments + 1):
        azimuth = math.radians(backdrop.facing_deg - backdrop.half_arc_deg + 2 * backdrop.half_arc_deg * s / segments)
        c, si = math.cos(azimuth), math.sin(azimuth)
        rows.append([bm.verts.new((backdrop.center[0] + r * c, backdrop.center[1] + r * si, z)) for r, z in profile])
    for s in range(segments):
        for k in range(len(profile) - 1):
            face = bm.faces.new([rows[s][k], rows[s + 1][k], rows[s + 1][k + 1], rows[s][k + 1]])
            face.smooth = True
    bmesh.ops.recalc_face_normals(bm, faces=bm.faces)
    mesh = bpy.data.meshes.new(BACKDROP_NAME)
    bm.to_mesh(mesh)
    bm.free()
    paper = bpy.data.materials.new("simian_studio_paper")
    if paper.node_tree is None:
        paper.use_nodes = True
    bsdf = next(n for n in paper.node_tree.nodes if n.type == "BSDF_PRINCIPLED")
    bsdf.inputs["Base Color"].default_value = (*PAPER, 1.0)
    bsdf.inputs["Roughness"].default_value = 0.95
    paper.diffuse_color = (*PAPER, 1.0)
    mesh.materials.append(paper)
    obj = bpy.data.objects.new(BACKDROP_NAME, mesh)
    scene.collection.objects.link(obj)
    return obj


def _softbox(
    scene: bpy.types.Scene, name: str, at: Vector, aim: Vector, size: float, irradiance: float
) -> bpy.types.Object:
    """A square area light of side `size` at `at`, facing `aim`, giving about `irradiance` there."""
    light = bpy.data.lights.new(name, type="AREA")
    light.shape = "SQUARE"
    light.size = size
    distance = (aim - at).length
    light.energy = irradiance * math.pi * distance**2  # a small Lambertian panel: E = P / (pi r^2)
    light.color = (1.0, 0.98, 0.95)
    obj = bpy.data.objects.new(name, light)
    obj.location = at
    obj.rotation_euler = (aim - at).to_track_quat("-Z", "Y").to_euler()
    scene.collection.objects.link(obj)
    return obj


def add_studio_set(scene: bpy.types.Scene, backdrop: Backdrop, camera: tuple[float, float, float]) -> None:
    """Build the backdrop where the plan put it and light the set from the camera's side."""
    _backdrop_mesh(scene, backdrop)
    center = Vector(backdrop.center)
    subject = center + Vector((0.0, 0.0, max(0.3, backdrop.cove_radius)))
    toward_camera = Vector((camera[0] - center.x, camera[1] - center.y, 0.0))
    if toward_camera.length < 1e-6:
        toward_camera = Vector((0.0, -1.0, 0.0))
    toward_camera.normalize()
    side = toward_camera.cross(Vector((0.0, 0.0, 1.0)))  # the camera's right, seen from the set
    reach = backdrop.radius
    size = max(0.5, 0.8 * reach)
    key = subject + (toward_camera * 0.7 + side * 0.7).normalized() * reach * 1.2 + Vector((0, 0, reach * 0.9))
    fill = subject + (toward_camera * 0.8 - side * 0.6).normalized() * reach * 1.4 + Vector((0, 0, reach * 0.4))
    wall = center - toward_camera * backdrop.radius + Vector((0.0, 0.0, reach * 0.5))
    top = subject + toward_camera * reach * 0.3 + Vector((0.0, 0.0, reach * 1.6))
    _softbox(scene, "simian_softbox_key", key, subject, size, KEY_IRRADIANCE)
    _softbox(scene, "simian_softbox_fill", fill, subject, size * 1.3, FILL_IRRADIANCE)
    _softbox(scene, "simian_softbox_backdrop", top, wall, size * 1.5, BACKDROP_IRRADIANCE)
