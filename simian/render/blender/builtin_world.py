"""Procedural built-in skies (the `builtin:` background catalogue) and their key lights.

Each sky is a world shader: a colour ramp over the view direction's height (ground below the
horizon, horizon colour, zenith colour), plus a glow around the sun or moon and, at night, stars.
The world both shows behind the objects and lights them; a SUN light with matching colour,
direction and softness adds the key light and shadows, since a procedural gradient alone gives
flat, shadowless lighting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import bpy
from mathutils import Vector

RGB = tuple[float, float, float]

SUN_NAME = "simian_sky_sun"


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
    "studio": _Sky(
        zenith=(0.1, 0.1, 0.1),
        sky_mid=(0.16, 0.16, 0.16),
        horizon=(0.2, 0.2, 0.2),
        ground=(0.18, 0.18, 0.18),
        strength=1.0,
        sun_color=(1.0, 1.0, 1.0),
        sun_strength=3.5,
        sun_elevation=40.0,
        sun_azimuth=-45.0,
        sun_angle=6.0,
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
    """Give `scene` the built-in sky `asset_id` (e.g. "sunset") and its key light.

    Calling it again replaces the previous sky's light. Raises KeyError for unknown ids.
    """
    sky = SKIES.get(asset_id)
    if sky is None:
        raise KeyError(f"unknown built-in background {asset_id!r}; choose one of: {', '.join(sorted(SKIES))}")
    scene.world = _build_world(f"simian_sky_{asset_id}", sky)
    _place_sun(scene, sky)
