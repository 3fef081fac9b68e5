"""Procedural built-in floor materials (the `builtin:` floor catalogue) and the floor plane.

Every material reads the plane's UV coordinates, where one UV unit is one metre, through a
Mapping node that applies the recipe's `uv_scale` and `uv_rotation_deg`; texture sizes are chosen
so that tiles, planks and bricks have real-world dimensions at uv_scale (1, 1).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeAlias

import bmesh
import bpy

RGB = tuple[float, float, float]
Socket: TypeAlias = bpy.types.NodeSocket

FLOOR_NAME = "simian_floor"


class _Graph:
    """Thin helper around a material's node tree, so each floor reads as a short recipe."""

    def __init__(self, mat: bpy.types.Material) -> None:
        if mat.node_tree is None:  # Blender < 5 creates node trees only on request
            mat.use_nodes = True
        self.nt = mat.node_tree
        self.nt.nodes.clear()
        self.bsdf = self.node("ShaderNodeBsdfPrincipled")
        output = self.node("ShaderNodeOutputMaterial")
        self.link(self.bsdf.outputs["BSDF"], output.inputs["Surface"])

    def node(self, kind: str, **inputs: object) -> bpy.types.Node:
        """A new node with the given input default values (keyword = socket name, spaces as _)."""
        node = self.nt.nodes.new(kind)
        for name, value in inputs.items():
            node.inputs[name.replace("_", " ")].default_value = value
        return node

    def link(self, source: Socket, target: Socket) -> None:
        self.nt.links.new(source, target)

    def ramp(self, factor: Socket, stops: list[tuple[float, RGB]]) -> Socket:
        """A colour ramp over `factor` with (position, colour) stops."""
        node = self.node("ShaderNodeValToRGB")
        elements = node.color_ramp.elements
        for _ in range(len(stops) - len(elements)):
            elements.new(0.5)
        for element, (position, color) in zip(elements, stops, strict=True):
            element.position = position
            element.color = (*color, 1.0)
        self.link(factor, node.inputs["Factor"])
        return node.outputs["Color"]

    def mix(self, a: Socket, b: Socket, factor: Socket | float, blend: str = "MIX") -> Socket:
        """Blend two colours (ShaderNodeMix in RGBA mode)."""
        node = self.node("ShaderNodeMix")
        node.data_type = "RGBA"
        node.blend_type = blend
        # Mix nodes carry one socket set per data type, all named alike: pick by identifier.
        inputs = {s.identifier: s for s in node.inputs}
        if isinstance(factor, float):
            inputs["Factor_Float"].default_value = factor
        else:
            self.link(factor, inputs["Factor_Float"])
        self.link(a, inputs["A_Color"])
        self.link(b, inputs["B_Color"])
        return next(s for s in node.outputs if s.identifier == "Result_Color")

    def bump(self, height: Socket, strength: float, distance: float = 0.02) -> None:
        node = self.node("ShaderNodeBump", Strength=strength, Distance=distance)
        self.link(height, node.inputs["Height"])
        self.link(node.outputs["Normal"], self.bsdf.inputs["Normal"])


def _mapping(g: _Graph, uv_scale: tuple[float, float], uv_rotation_deg: float) -> Socket:
    """UV coordinates (metres) scaled and rotated about Z as the recipe asks."""
    coords = g.node("ShaderNodeTexCoord")
    mapping = g.node("ShaderNodeMapping")
    mapping.inputs["Scale"].default_value = (uv_scale[0], uv_scale[1], 1.0)
    mapping.inputs["Rotation"].default_value = (0.0, 0.0, math.radians(uv_rotation_deg))
    g.link(coords.outputs["UV"], mapping.inputs["Vector"])
    return mapping.outputs["Vector"]


def _checker_tiles(g: _Graph, uv: Socket) -> RGB:
    """40 cm black and white tiles, glossy."""
    tiles = g.node(
        "ShaderNodeTexChecker", Scale=1 / 0.4, Color1=(0.8, 0.8, 0.78, 1.0), Color2=(0.015, 0.015, 0.015, 1.0)
    )
    g.link(uv, tiles.inputs["Vector"])
    grout = g.node("ShaderNodeTexBrick", Scale=1.0, Mortar_Size=0.004, Bias=0.0, Brick_Width=0.4, Row_Height=0.4)
    grout.offset = 0.0
    g.link(uv, grout.inputs["Vector"])
    g.link(
        g.mix(
            tiles.outputs["Color"],
            g.ramp(grout.outputs["Factor"], [(0.0, (1, 1, 1)), (1.0, (0.35, 0.35, 0.35))]),
            1.0,
            "MULTIPLY",
        ),
        g.bsdf.inputs["Base Color"],
    )
    g.bsdf.inputs["Roughness"].default_value = 0.25
    g.bsdf.inputs["Specular IOR Level"].default_value = 0.3  # glossy, yet black stays black
    g.bump(grout.outputs["Factor"], 0.3, 0.003)
    return (0.4, 0.4, 0.4)


def _wood_planks(g: _Graph, uv: Socket) -> RGB:
    """1.2 m x 15 cm warm brown planks with grain running along them."""
    planks = g.node(
        "ShaderNodeTexBrick",
        Scale=1.0,
        Mortar_Size=0.003,
        Bias=0.0,
        Brick_Width=1.2,
        Row_Height=0.15,
        Color1=(0.42, 0.2, 0.07, 1.0),
        Color2=(0.3, 0.13, 0.05, 1.0),
        Mortar=(0.06, 0.03, 0.015, 1.0),
    )
    planks.offset = 0.5
    g.link(uv, planks.inputs["Vector"])
    stretch = g.node("ShaderNodeVectorMath")  # grain is long along the plank (X) and fine across it
    stretch.operation = "MULTIPLY"
    stretch.inputs[1].default_value = (0.15, 1.0, 1.0)
    g.link(uv, stretch.inputs[0])
    grain = g.node("ShaderNodeTexWave", Scale=12.0, Distortion=6.0, Detail=3.0)
    grain.wave_type = "BANDS"
    grain.bands_direction = "Y"
    g.link(stretch.outputs["Vector"], grain.inputs["Vector"])
    shade = g.ramp(grain.outputs["Factor"], [(0.0, (0.65, 0.65, 0.65)), (1.0, (1.0, 1.0, 1.0))])
    g.link(g.mix(planks.outputs["Color"], shade, 1.0, "MULTIPLY"), g.bsdf.inputs["Base Color"])
    g.bsdf.inputs["Roughness"].default_value = 0.45
    g.bump(planks.outputs["Factor"], 0.4, 0.004)
    return (0.33, 0.15, 0.055)


def _marble(g: _Graph, uv: Socket) -> RGB:
    """Polished white marble: thin grey veins where a strongly distorted wave crosses zero."""
    veins = g.node("ShaderNodeTexWave", Scale=0.5, Distortion=7.0, Detail=8.0, Detail_Scale=2.0, Detail_Roughness=0.6)
    veins.wave_type = "BANDS"
    veins.bands_direction = "DIAGONAL"
    g.link(uv, veins.inputs["Vector"])
    cloud = g.node("ShaderNodeTexNoise", Scale=1.5, Detail=6.0)
    g.link(uv, cloud.inputs["Vector"])
    base = g.ramp(cloud.outputs["Factor"], [(0.3, (0.72, 0.72, 0.7)), (0.7, (0.9, 0.9, 0.88))])
    lines = g.ramp(
        veins.outputs["Factor"],
        [
            (0.0, (0.3, 0.3, 0.32)),
            (0.02, (0.55, 0.55, 0.57)),
            (0.06, (1.0, 1.0, 1.0)),
            (1.0, (1.0, 1.0, 1.0)),
        ],
    )
    g.link(g.mix(base, lines, 1.0, "MULTIPLY"), g.bsdf.inputs["Base Color"])
    g.bsdf.inputs["Roughness"].default_value = 0.06
    g.bsdf.inputs["Coat Weight"].default_value = 0.5
    return (0.75, 0.75, 0.74)


def _grass(g: _Graph, uv: Socket) -> RGB:
    """Green grass: patchy colour at metre scale, blade-sized speckle and a bumpy surface."""
    patches = g.node("ShaderNodeTexNoise", Scale=0.6, Detail=4.0)
    g.link(uv, patches.inputs["Vector"])
    blades = g.node("ShaderNodeTexVoronoi", Scale=120.0)
    g.link(uv, blades.inputs["Vector"])
    base = g.ramp(
        patches.outputs["Factor"],
        [(0.3, (0.03, 0.13, 0.01)), (0.5, (0.06, 0.22, 0.02)), (0.7, (0.14, 0.28, 0.03))],
    )
    tips = g.ramp(blades.outputs["Distance"], [(0.0, (1.3, 1.3, 1.1)), (0.6, (0.6, 0.6, 0.6))])
    g.link(g.mix(base, tips, 1.0, "MULTIPLY"), g.bsdf.inputs["Base Color"])
    g.bsdf.inputs["Roughness"].default_value = 0.85
    g.bump(blades.outputs["Distance"], 0.6, 0.02)
    return (0.06, 0.2, 0.02)


def _concrete(g: _Graph, uv: Socket) -> RGB:
    """Rough grey concrete in 2 m slabs, with stains, pits and a grainy bump."""
    slabs = g.node(
        "ShaderNodeTexBrick",
        Scale=1.0,
        Mortar_Size=0.006,
        Bias=0.0,
        Brick_Width=2.0,
        Row_Height=2.0,
        Color1=(1.0, 1.0, 1.0, 1.0),
        Color2=(0.9, 0.9, 0.9, 1.0),
        Mortar=(0.35, 0.35, 0.35, 1.0),
    )
    slabs.offset = 0.0
    g.link(uv, slabs.inputs["Vector"])
    stains = g.node("ShaderNodeTexNoise", Scale=1.2, Detail=8.0, Roughness=0.6)
    g.link(uv, stains.inputs["Vector"])
    pits = g.node("ShaderNodeTexVoronoi", Scale=60.0)
    g.link(uv, pits.inputs["Vector"])
    grain = g.node("ShaderNodeTexNoise", Scale=80.0, Detail=4.0)
    g.link(uv, grain.inputs["Vector"])
    base = g.ramp(stains.outputs["Factor"], [(0.3, (0.2, 0.2, 0.19)), (0.7, (0.38, 0.38, 0.36))])
    pitted = g.ramp(pits.outputs["Distance"], [(0.0, (0.5, 0.5, 0.5)), (0.08, (1.0, 1.0, 1.0))])
    color = g.mix(g.mix(base, pitted, 1.0, "MULTIPLY"), slabs.outputs["Color"], 1.0, "MULTIPLY")
    g.link(color, g.bsdf.inputs["Base Color"])
    g.bsdf.inputs["Roughness"].default_value = 0.92
    g.bump(grain.outputs["Factor"], 0.35, 0.01)
    return (0.28, 0.28, 0.27)


def _bricks(g: _Graph, uv: Socket) -> RGB:
    """Red brick paving: 20 x 10 cm bricks in a running bond with light mortar joints."""
    bricks = g.node(
        "ShaderNodeTexBrick",
        Scale=1.0,
        Mortar_Size=0.008,
        Mortar_Smooth=0.2,
        Bias=0.0,
        Brick_Width=0.2,
        Row_Height=0.1,
        Color1=(0.42, 0.08, 0.035, 1.0),
        Color2=(0.26, 0.05, 0.025, 1.0),
        Mortar=(0.42, 0.4, 0.36, 1.0),
    )
    bricks.offset = 0.5
    g.link(uv, bricks.inputs["Vector"])
    wear = g.node("ShaderNodeTexNoise", Scale=25.0, Detail=6.0)
    g.link(uv, wear.inputs["Vector"])
    shade = g.ramp(wear.outputs["Factor"], [(0.3, (0.75, 0.75, 0.75)), (0.7, (1.05, 1.05, 1.05))])
    g.link(g.mix(bricks.outputs["Color"], shade, 1.0, "MULTIPLY"), g.bsdf.inputs["Base Color"])
    g.bsdf.inputs["Roughness"].default_value = 0.8
    g.bump(bricks.outputs["Factor"], 0.6, 0.01)
    return (0.34, 0.07, 0.035)


FLOORS: dict[str, Callable[[_Graph, Socket], RGB]] = {
    "checker_tiles": _checker_tiles,
    "wood_planks": _wood_planks,
    "marble": _marble,
    "grass": _grass,
    "concrete": _concrete,
    "bricks": _bricks,
}


def make_floor_material(
    asset_id: str, uv_scale: tuple[float, float] = (1.0, 1.0), uv_rotation_deg: float = 0.0
) -> bpy.types.Material:
    """A new procedural material for the built-in floor `asset_id` (e.g. "bricks").

    A new material is made on every call because the mapping differs per recipe.
    Raises KeyError for unknown ids.
    """
    recipe = FLOORS.get(asset_id)
    if recipe is None:
        raise KeyError(f"unknown built-in floor {asset_id!r}; choose one of: {', '.join(sorted(FLOORS))}")
    mat = bpy.data.materials.new(f"simian_floor_{asset_id}")
    g = _Graph(mat)
    average = recipe(g, _mapping(g, uv_scale, uv_rotation_deg))
    mat.diffuse_color = (*average, 1.0)  # what Workbench shows
    mat.roughness = float(g.bsdf.inputs["Roughness"].default_value)
    return mat


def build_floor(material: bpy.types.Material, size: float = 100.0) -> bpy.types.Object:
    """A `size` x `size` plane at z = 0 whose UVs are in metres, linked to the current scene."""
    bm = bmesh.new()
    half = size / 2
    corners = [(-half, -half), (half, -half), (half, half), (-half, half)]
    face = bm.faces.new([bm.verts.new((x, y, 0.0)) for x, y in corners])
    uv_layer = bm.loops.layers.uv.new("UVMap")
    for loop in face.loops:
        loop[uv_layer].uv = (loop.vert.co.x, loop.vert.co.y)
    mesh = bpy.data.meshes.new(FLOOR_NAME)
    bm.to_mesh(mesh)
    bm.free()
    mesh.materials.append(material)
    obj = bpy.data.objects.new(FLOOR_NAME, mesh)
    bpy.context.scene.collection.objects.link(obj)
    return obj
